"""End to end: the real model Space behind the real gateway, called over HTTP."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

# The first call may include the gateway connecting to the Space.
TIMEOUT = httpx.Timeout(60.0)
BOX_TOLERANCE_PX = 3.0


def detect(gateway_url: str, path, min_confidence: float | None = None) -> httpx.Response:
    data = {} if min_confidence is None else {"min_confidence": str(min_confidence)}
    with open(path, "rb") as f:
        return httpx.post(
            f"{gateway_url}/v1/detect",
            files={"image": (path.name, f, "image/png")},
            data=data,
            timeout=TIMEOUT,
        )


def labels(body: dict) -> set[str]:
    return {d["label"] for d in body["detections"]}


def test_chelsea_is_a_cat(gateway_url, photos):
    response = detect(gateway_url, photos["chelsea"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "ssdlite_mobilenet_v2_coco"
    assert (body["width"], body["height"]) == (451, 300)
    cats = [d for d in body["detections"] if d["label"] == "cat"]
    assert cats, body["detections"]
    cat = max(cats, key=lambda d: d["confidence"])
    assert cat["confidence"] == pytest.approx(0.93, abs=0.02)
    box = cat["box"]
    expected = {"x_min": 0.7, "y_min": 2.9, "x_max": 403.8, "y_max": 297.6}
    for key, value in expected.items():
        assert box[key] == pytest.approx(value, abs=BOX_TOLERANCE_PX), (key, box)

    timings = body["timings_ms"]
    assert {"total", "upstream", "decode", "inference", "draw", "encode"} <= set(timings)
    assert timings["total"] >= timings["upstream"] >= timings["inference"] > 0

    assert body["image_format"] == "png"
    png = base64.b64decode(body["image_base64"])
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (451, 300))


def test_coffee_has_a_cup_on_a_table(gateway_url, photos):
    response = detect(gateway_url, photos["coffee"])
    assert response.status_code == 200, response.text
    assert {"cup", "dining table"} <= labels(response.json())


def test_min_confidence_filters(gateway_url, photos):
    everything = detect(gateway_url, photos["coffee"], min_confidence=0.05).json()
    strict = detect(gateway_url, photos["coffee"], min_confidence=0.99).json()
    assert len(everything["detections"]) >= len(strict["detections"])
    assert all(d["confidence"] >= 0.05 for d in everything["detections"])
    assert all(d["confidence"] >= 0.99 for d in strict["detections"])


@pytest.mark.parametrize("name", ["astronaut", "motorcycle_left"])
def test_other_photos_find_something(gateway_url, photos, name):
    response = detect(gateway_url, photos[name])
    assert response.status_code == 200, response.text
    assert response.json()["detections"]


def test_detect_objects_returns_the_annotated_png(gateway_url, photos):
    path = photos["coffee"]
    with open(path, "rb") as f:
        response = httpx.post(
            f"{gateway_url}/detect_objects",
            files={"image": (path.name, f, "image/png")},
            timeout=TIMEOUT,
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(response.content)) as annotated, Image.open(path) as original:
        assert annotated.size == original.size


def test_a_bad_upload_does_not_break_the_next_one(gateway_url, photos):
    bad = httpx.post(
        f"{gateway_url}/v1/detect",
        files={"image": ("notes.txt", b"not an image at all", "text/plain")},
        timeout=TIMEOUT,
    )
    assert bad.status_code == 415
    assert "PNG" in bad.json()["detail"]

    # Passes the gateway's header sniff, so the Space itself must refuse it.
    data = photos["chelsea"].read_bytes()
    cut = data[: len(data) // 2]
    refused = httpx.post(
        f"{gateway_url}/v1/detect",
        files={"image": ("cut.png", cut, "image/png")},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]

    good = detect(gateway_url, photos["chelsea"])
    assert good.status_code == 200, good.text
    assert "cat" in labels(good.json())


def test_both_wire_formats_give_the_same_answer(space_url, start_gateway, gateway_url, photos):
    """The documented byte-list /predict and the compact /predict_base64 (the default)."""
    bytelist_url = start_gateway(space_url, name="gateway-bytelist", space_wire="bytelist")
    compact = detect(gateway_url, photos["coffee"]).json()
    listed = detect(bytelist_url, photos["coffee"]).json()
    assert listed["detections"] == compact["detections"]
    assert listed["image_base64"] == compact["image_base64"]
    log = (Path(__file__).resolve().parent.parent / "test-output" / "model_space.log").read_text()
    assert "wire=bytelist" in log and "wire=base64" in log
