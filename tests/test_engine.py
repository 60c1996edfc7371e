"""Both forward engines, the backend setting, and the fast TF1 resize against the plain formula.

The fidelity checks against the TF.js reference run on both engines in test_fidelity.py
(``conftest.engine_detector``)."""

from __future__ import annotations

import numpy as np
import pytest

from model_package import Detector, PackageSettings, decode_image
from model_package.detector import _axis_taps, resize_tf1, resize_tf1_chw
from model_package.engine import DEFAULT_BACKEND, create_engine
from model_package.settings import BACKENDS


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
