"""The Space on its own, as the gateway and other clients call it: `/predict` over gradio_client."""

from __future__ import annotations

import io
import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image


@pytest.fixture(scope="module")
def client(space_url):
    return Client(space_url, verbose=False)


def _wire(data: bytes) -> str:
    return json.dumps(list(data))


def test_predict_returns_detections_and_annotated_png(client, photos):
    data = photos["coffee"].read_bytes()
    reply = json.loads(client.predict(_wire(data), 0.5, api_name="/predict"))
    assert reply["model"] == "ssdlite_mobilenet_v2_coco"
    assert (reply["width"], reply["height"]) == (600, 400)
    found = {d["label"]: d for d in reply["detections"]}
    assert set(found) == {"cup", "dining table"}
    assert found["cup"]["confidence"] == pytest.approx(0.9613, abs=0.005)
    assert found["cup"]["box"]["x_min"] == pytest.approx(173.6, abs=1.0)
    png = bytes(json.loads(reply["image"]))
    assert png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (600, 400)
    assert set(reply["timings_ms"]) == {"decode", "inference", "draw", "encode"}


def test_min_confidence_is_applied(client, photos):
    data = photos["coffee"].read_bytes()
    reply = json.loads(client.predict(_wire(data), 0.9, api_name="/predict"))
    assert [d["label"] for d in reply["detections"]] == ["cup"]


@pytest.mark.parametrize(
    "payload,message",
    [
        (_wire(b"plain text, not a photo"), "Accepted formats"),
        (_wire(b""), "empty"),
        ("this is not JSON", "list of integers"),
        ("[1, 2, 999]", "list of integers"),
    ],
)
def test_bad_input_gives_a_clear_error(client, payload, message):
    with pytest.raises(AppError, match=message):
        client.predict(payload, 0.5, api_name="/predict")


def test_out_of_range_confidence_is_refused(client, photos):
    with pytest.raises(AppError, match="min_confidence"):
        client.predict(_wire(photos["chelsea"].read_bytes()), 1.5, api_name="/predict")


def test_still_serves_after_errors(client, photos):
    with pytest.raises(AppError):
        client.predict(_wire(b"GIF89a broken"), 0.5, api_name="/predict")
    reply = json.loads(
        client.predict(_wire(photos["chelsea"].read_bytes()), 0.5, api_name="/predict")
    )
    assert [d["label"] for d in reply["detections"]] == ["cat"]


def _predict(client, data: bytes, *args):
    return json.loads(client.predict(_wire(data), *args, api_name="/predict"))


def test_options_classes_max_detections_and_nms(client, photos):
    data = photos["coffee"].read_bytes()
    only_table = _predict(client, data, 0.3, "dining table")
    assert [d["label"] for d in only_table["detections"]] == ["dining table"]
    many = _predict(client, data, 0.05, "", 3)
    assert len(many["detections"]) == 3
    loose = _predict(client, data, 0.05, "", 100, 0.9)
    strict = _predict(client, data, 0.05, "", 100, 0.1)
    assert len(loose["detections"]) > len(strict["detections"])


def test_annotate_false_and_jpeg_output(client, photos):
    data = photos["chelsea"].read_bytes()
    bare = _predict(client, data, 0.5, "", 100, 0.5, False)
    assert bare["image"] is None and bare["image_format"] is None
    assert [d["label"] for d in bare["detections"]] == ["cat"]
    jpeg = _predict(client, data, 0.5, "", 100, 0.5, True, "jpeg", "req-123")
    assert jpeg["image_format"] == "jpeg"
    image = Image.open(io.BytesIO(bytes(json.loads(jpeg["image"]))))
    assert image.format == "JPEG" and image.size == (451, 300)


@pytest.mark.parametrize(
    "args,message",
    [
        ((0.5, "cat,unicorn"), "unicorn.*Valid labels"),
        ((0.5, "", 0), "max_detections"),
        ((0.5, "", 100, 1.5), "nms_iou"),
        ((0.5, "", 100, 0.5, True, "gif"), "image_format"),
    ],
)
def test_invalid_options_are_refused(client, photos, args, message):
    with pytest.raises(AppError, match=message):
        _predict(client, photos["chelsea"].read_bytes(), *args)


def test_labels_endpoint(client):
    labels = json.loads(client.predict(api_name="/labels"))
    assert len(labels) == 80 and labels[0] == "person" and "toothbrush" in labels


def test_base64_endpoint_gives_the_same_answer(client, photos):
    import base64

    data = photos["coffee"].read_bytes()
    compact = json.loads(
        client.predict(base64.b64encode(data).decode(), 0.5, api_name="/predict_base64")
    )
    listed = _predict(client, data, 0.5)
    assert compact["detections"] == listed["detections"]
    png = base64.b64decode(compact["image"])
    assert png == bytes(json.loads(listed["image"]))
    with pytest.raises(AppError, match="base64"):
        client.predict("not base64 !!", 0.5, api_name="/predict_base64")


def test_oversized_file_is_refused(client):
    huge = "[" + ",".join(["0"] * (10 * 1024 * 1024 + 1)) + "]"
    with pytest.raises(AppError, match="larger than"):
        client.predict(huge, 0.5, api_name="/predict")
