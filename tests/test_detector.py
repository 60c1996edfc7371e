"""The detector's parameters and pre-/post-processing pieces, on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model_package import LABELS, DetectOptions, decode_image, parse_classes
from model_package.detector import decode_boxes, resize_tf1


@pytest.fixture(scope="module")
def coffee(skimage_dir):
    return decode_image((skimage_dir / "coffee.png").read_bytes())


def test_min_confidence_filters(detector, coffee):
    labels = {d.label for d in detector.detect(coffee, DetectOptions(min_confidence=0.9))}
    assert labels == {"cup"}
    low = detector.detect(coffee, DetectOptions(min_confidence=0.1))
    assert len(low) > 2
    assert all(d.confidence >= 0.1 for d in low)
    assert [d.confidence for d in low] == sorted((d.confidence for d in low), reverse=True)


def test_max_detections_and_classes(detector, coffee):
    assert len(detector.detect(coffee, DetectOptions(min_confidence=0.05, max_detections=3))) == 3
    only = detector.detect(
        coffee, DetectOptions(min_confidence=0.3, classes=frozenset({"dining table"}))
    )
    assert [d.label for d in only] == ["dining table"]


def test_nms_iou_controls_overlap(detector, coffee):
    strict = detector.detect(coffee, DetectOptions(min_confidence=0.05, nms_iou=0.1))
    loose = detector.detect(coffee, DetectOptions(min_confidence=0.05, nms_iou=0.9))
    assert len(loose) > len(strict)


def test_boxes_are_inside_the_image(detector, skimage_dir):
    image = decode_image((skimage_dir / "camera.png").read_bytes())  # person touches the edge
    for d in detector.detect(image, DetectOptions(min_confidence=0.3)):
        assert 0 <= d.box.x_min < d.box.x_max <= image.shape[1]
        assert 0 <= d.box.y_min < d.box.y_max <= image.shape[0]


def test_blank_image_has_no_detections(detector):
    assert detector.detect(np.full((480, 640, 3), 127, np.uint8)) == []


def test_rejects_wrong_array(detector):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((10, 10), np.uint8))


def test_resize_matches_tf1_formula():
    """Output pixel (i, j) samples source (i * h / 300, j * w / 300), clamped at the edge."""
    image = np.arange(7 * 5 * 3, dtype=np.uint8).reshape(7, 5, 3)
    out = resize_tf1(image, size=4)
    assert out.shape == (4, 4, 3) and out.dtype == np.float32
    # row 1 -> src y = 1 * 7 / 4 = 1.75, col 2 -> src x = 2 * 5 / 4 = 2.5
    top = image[1, 2] + (image[1, 3].astype(float) - image[1, 2]) * 0.5
    bottom = image[2, 2] + (image[2, 3].astype(float) - image[2, 2]) * 0.5
    np.testing.assert_allclose(out[1, 2], top + (bottom - top) * 0.75, rtol=1e-6)
    np.testing.assert_allclose(out[0, 0], image[0, 0])

    # upscaling 2 -> 4 samples at 0, 0.5, 1, 1.5: the last source row/column is repeated
    tiny = np.array([[[0] * 3, [100] * 3], [[200] * 3, [40] * 3]], np.uint8)
    up = resize_tf1(tiny, size=4)[:, :, 0]
    np.testing.assert_allclose(up[0], [0, 50, 100, 100])
    np.testing.assert_allclose(up[:, 0], [0, 100, 200, 200])
    np.testing.assert_allclose(up[3], [200, 120, 40, 40])


def test_decode_boxes_identity_at_zero():
    anchors = np.array([[0.1, 0.2, 0.5, 0.6]], np.float32)
    np.testing.assert_allclose(decode_boxes(np.zeros((1, 4), np.float32), anchors), anchors)
    # ty = 10 -> the centre moves down by one anchor height
    moved = decode_boxes(np.array([[10.0, 0, 0, 0]], np.float32), anchors)
    np.testing.assert_allclose(moved, [[0.5, 0.2, 0.9, 0.6]], atol=1e-6)


def test_labels_are_the_coco_names():
    assert len(LABELS) == 80
    assert LABELS[0] == "person" and LABELS[-1] == "toothbrush"
    assert "dining table" in LABELS and "tv" in LABELS


def test_grayscale_photo_detects_person(detector, skimage_dir):
    gray = Image.open(skimage_dir / "camera.png")
    assert gray.mode == "L"
    image = decode_image((skimage_dir / "camera.png").read_bytes())
    assert image.shape == (512, 512, 3)
    assert [d.label for d in detector.detect(image)] == ["person"]


def test_options_are_validated():
    for bad in (
        dict(min_confidence=1.5),
        dict(nms_iou=-0.1),
        dict(max_detections=0),
        dict(max_detections=101),
    ):
        with pytest.raises(ValueError):
            DetectOptions(**bad)
    with pytest.raises(ValueError, match="unicorn.*Valid labels: person, bicycle"):
        DetectOptions(classes=parse_classes("person, unicorn"))
    assert parse_classes(" cat ,dog,, ") == {"cat", "dog"}
    assert parse_classes("") is None


def test_zero_threshold_stays_bounded(detector, coffee):
    """min_confidence 0 makes every (anchor, class) a candidate; NMS still sees a bounded set."""
    detections = detector.detect(coffee, DetectOptions(min_confidence=0.0))
    assert len(detections) == 100
    assert detections[0].label == "cup"
