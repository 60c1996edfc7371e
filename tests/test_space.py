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
