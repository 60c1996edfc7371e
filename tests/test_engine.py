"""Both forward engines, the backend setting, and the fast TF1 resize against the plain formula.

``conftest.detector`` loads the default engine; here every engine is loaded explicitly, so the
fidelity checks against the TF.js reference run with the non-default one too."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_fidelity import (
    DERIVED_REFERENCE,
    MORE_REFERENCE,
    SKIMAGE_REFERENCE,
    assert_matches_reference,
)

from model_package import DetectOptions, Detector, PackageSettings, decode_image
from model_package.detector import _axis_taps, resize_tf1, resize_tf1_chw
from model_package.engine import DEFAULT_BACKEND, create_engine
from model_package.settings import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def engine_detector(request):
    return Detector.load(PackageSettings(backend=request.param))


def test_default_backend_is_onnxruntime():
    assert DEFAULT_BACKEND == BACKENDS[0] == "onnxruntime"
    assert PackageSettings().backend == "onnxruntime"


def test_backend_from_environment(monkeypatch):
    monkeypatch.setenv("MODEL_BACKEND", "OpenCV")
    assert PackageSettings.from_env().backend == "opencv"
    monkeypatch.setenv("MODEL_BACKEND", "")
    assert PackageSettings.from_env().backend == "onnxruntime"
    monkeypatch.setenv("MODEL_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="onnxruntime, opencv"):
        PackageSettings.from_env()


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown backend"):
        create_engine("tvm", tmp_path / "model.onnx")


def test_engine_detector_names_its_backend(engine_detector):
    assert engine_detector.backend == engine_detector.engine.name


@pytest.mark.parametrize("name", sorted(SKIMAGE_REFERENCE) + sorted(MORE_REFERENCE))
def test_every_engine_matches_reference(engine_detector, skimage_dir, name):
    reference = {**SKIMAGE_REFERENCE, **MORE_REFERENCE}[name]
    image = decode_image((skimage_dir / name).read_bytes())
    assert_matches_reference(engine_detector.detect(image, DetectOptions(0.3)), reference)


@pytest.mark.parametrize("source,size", sorted(DERIVED_REFERENCE))
def test_every_engine_matches_reference_resized(engine_detector, skimage_dir, source, size):
    image = Image.open(skimage_dir / source).convert("RGB").resize(size, Image.LANCZOS)
    detections = engine_detector.detect(np.asarray(image), DetectOptions(min_confidence=0.5))
    assert_matches_reference(detections, DERIVED_REFERENCE[(source, size)])


def test_every_engine_reproduces_reference_closely(engine_detector, skimage_dir):
    image = decode_image((skimage_dir / "chelsea.png").read_bytes())
    (cat,) = engine_detector.detect(image)
    assert cat.label == "cat" and cat.confidence == pytest.approx(0.9345, abs=2e-4)
    got = (cat.box.x_min, cat.box.y_min, cat.box.x_max, cat.box.y_max)
    assert got == pytest.approx((0.7, 2.9, 403.8, 297.6), abs=0.1)


def test_engines_agree(skimage_dir):
    image = decode_image((skimage_dir / "coffee.png").read_bytes())
    outputs = [Detector.load(PackageSettings(backend=b)).forward(image) for b in BACKENDS]
    (boxes_a, logits_a), (boxes_b, logits_b) = outputs
    np.testing.assert_allclose(boxes_a, boxes_b, atol=2e-3)
    np.testing.assert_allclose(logits_a, logits_b, atol=2e-3)


def _plain_resize_tf1(image: np.ndarray, size: int) -> np.ndarray:
    """The TF1 formula written the obvious way (the package's first implementation)."""
    h, w = image.shape[:2]
    y0, y1, fy = _axis_taps(h, size)
    x0, x1, fx = _axis_taps(w, size)
    top = image[y0].astype(np.float32)
    bottom = image[y1].astype(np.float32)
    fx = fx[None, :, None]
    top = top[:, x0] + (top[:, x1] - top[:, x0]) * fx
    bottom = bottom[:, x0] + (bottom[:, x1] - bottom[:, x0]) * fx
    return top + (bottom - top) * fy[:, None, None]


@pytest.mark.parametrize("shape", [(2, 3), (7, 5), (100, 150), (500, 741), (300, 300), (1999, 37)])
def test_fast_resize_is_bit_identical(shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    expected = _plain_resize_tf1(image, 300)
    assert np.array_equal(resize_tf1(image), expected)
    assert np.array_equal(resize_tf1_chw(image), expected.transpose(2, 0, 1))
    # The numpy fallback (non-uint8 input, or sides cv2.remap cannot take) gives the same.
    assert np.array_equal(resize_tf1(image.astype(np.float32)), expected)


def test_fast_resize_takes_non_contiguous_views():
    image = np.random.default_rng(1).integers(0, 256, (400, 600, 3), dtype=np.uint8)
    view = image[::2, 50:-50]
    assert np.array_equal(resize_tf1(view, 300), _plain_resize_tf1(view, 300))
