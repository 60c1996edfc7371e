"""Inputs are decided by their content: every accepted format works, everything else is refused.

Runs against the real gateway and the real model Space. The images are chelsea (a cat) saved
by Pillow in each format, so every accepted upload must come back with the cat in it.
"""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image, ImageOps

TIMEOUT = httpx.Timeout(60.0)
ACCEPTED_TEXT = "JPEG, PNG, WebP, BMP, TIFF, GIF"
CHELSEA_SIZE = (451, 300)
# Where the cat is in the upright chelsea photo (see test_e2e), and how far a re-encoded copy
# may move it.
CAT_BOX = {"x_min": 0.7, "y_min": 2.9, "x_max": 403.8, "y_max": 297.6}
BOX_TOLERANCE_PX = 8.0

FORMATS = [
    "jpeg",
    "jpeg_progressive",
    "jpeg_cmyk",
    "jpeg_grayscale",
    "png",
    "png_palette",
    "png_grayscale",
    "png_16bit",
    "png_alpha",
    "webp",
    "webp_lossless",
    "bmp",
    "tiff",
    "tiff_deflate",
    "gif",
]


def upload(url: str, data: bytes, filename: str = "upload.bin", content_type: str | None = None):
    part = (filename, data) if content_type is None else (filename, data, content_type)
    return httpx.post(f"{url}/v1/detect", files={"image": part}, timeout=TIMEOUT)


def best(body: dict, label: str) -> dict:
    found = [d for d in body["detections"] if d["label"] == label]
    assert found, body["detections"]
    return max(found, key=lambda d: d["confidence"])


def png_header(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG that declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# --- accepted formats -------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_every_accepted_format_finds_the_cat(gateway_url, sample_images, name):
    # A misleading name and content type on purpose: only the bytes count.
    response = upload(gateway_url, sample_images[name], "photo.txt", "text/plain")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"]) == CHELSEA_SIZE
    cat = best(body, "cat")
    assert cat["confidence"] > 0.6
    # Grayscale and palette versions move the box a little; the colour ones hardly at all.
    assert iou(cat["box"], CAT_BOX) > 0.85, cat


def iou(a: dict, b: dict) -> float:
    width = min(a["x_max"], b["x_max"]) - max(a["x_min"], b["x_min"])
    height = min(a["y_max"], b["y_max"]) - max(a["y_min"], b["y_min"])
    inter = max(width, 0) * max(height, 0)

    def area(box: dict) -> float:
        return (box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"])

    return inter / (area(a) + area(b) - inter)


def test_exif_rotated_jpeg_boxes_come_back_upright(gateway_url, sample_images):
    upright = sample_images["_upright"]
    # Store the pixels turned a quarter left, with EXIF orientation 6 ("turn right to view").
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, format="JPEG", quality=92, exif=exif)
    rotated = out.getvalue()
    with Image.open(io.BytesIO(rotated)) as check:
        assert check.size == (300, 451)
        viewed = ImageOps.exif_transpose(check)
        assert viewed.size == CHELSEA_SIZE
        difference = np.abs(np.asarray(viewed, np.int16) - np.asarray(upright, np.int16))
        assert difference.mean() < 4  # a viewer really shows the upright photo

    plain = upload(gateway_url, sample_images["jpeg"], "cat.jpg", "image/jpeg")
    turned = upload(gateway_url, rotated, "cat.jpg", "image/jpeg")
    assert plain.status_code == turned.status_code == 200, turned.text
    body = turned.json()
    assert (body["width"], body["height"]) == CHELSEA_SIZE
    expected, got = best(plain.json(), "cat")["box"], best(body, "cat")["box"]
    for key in CAT_BOX:
        assert got[key] == pytest.approx(expected[key], abs=BOX_TOLERANCE_PX), (key, got)

    deepstack = httpx.post(
        f"{gateway_url}/v1/vision/detection", files={"image": ("image", rotated)}, timeout=TIMEOUT
    )
    assert deepstack.status_code == 200, deepstack.text
    cats = [p for p in deepstack.json()["predictions"] if p["label"] == "cat"]
    assert cats and abs(cats[0]["x_max"] - expected["x_max"]) <= BOX_TOLERANCE_PX


def test_animated_gif_uses_its_first_frame(gateway_url, sample_images):
    first = sample_images["_upright"]
    second = Image.new("RGB", first.size, (0, 0, 0))
    out = io.BytesIO()
    first.save(out, format="GIF", save_all=True, append_images=[second], duration=100, loop=0)
    response = upload(gateway_url, out.getvalue(), "anim.gif", "image/gif")
    assert response.status_code == 200, response.text
    assert best(response.json(), "cat")["confidence"] > 0.6


# --- refused inputs ---------------------------------------------------------------------------


def _other_format(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(out, format=fmt)
    return out.getvalue()


NOT_ACCEPTED = {
    "zero bytes": b"",
    "text": b"just some text, not a photo\n" * 10,
    "png signature alone": b"\x89PNG\r\n\x1a\n",
    "jpeg marker alone": b"\xff\xd8\xff",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
    b'height="10"><rect width="10" height="10" fill="red"/></svg>',
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "zip": b"PK\x03\x04" + b"\x00" * 100,
    "html": b"<!doctype html><html><body>hi</body></html>",
    "json": b'{"image": "cat.jpg"}',
    "random bytes": bytes((i * 7919) % 256 for i in range(4096)),
    "ppm": _other_format("PPM"),
    "ico": _other_format("ICO"),
    "pcx": _other_format("PCX"),
}


# Nothing but the magic bytes of an accepted format: a damaged file of that format (422).
DAMAGED = {"png signature alone", "jpeg marker alone"}


@pytest.mark.parametrize("name", list(NOT_ACCEPTED))
def test_non_images_are_refused_naming_the_accepted_formats(gateway_url, name):
    # Named and typed as a JPEG photo: the content decides.
    response = upload(gateway_url, NOT_ACCEPTED[name], "photo.jpg", "image/jpeg")
    assert response.status_code == (422 if name in DAMAGED else 415), response.text
    detail = response.json()["detail"]
    assert ACCEPTED_TEXT in detail
    if name in DAMAGED:
        assert "damaged or incomplete" in detail


@pytest.mark.parametrize("name", ["jpeg", "jpeg_progressive", "png", "webp", "tiff", "gif"])
@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_files_decode_or_are_refused_never_500(
    gateway_url, sample_images, name, fraction
):
    data = sample_images[name]
    response = upload(gateway_url, data[: max(8, int(len(data) * fraction))], "cut", None)
    # The gateway refuses a header it cannot read (422, "damaged"); past the header, the Space
    # either decodes what is there or refuses it (422).
    assert response.status_code in {200, 422}, response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code == 422:
        assert response.json()["detail"]


@pytest.mark.parametrize(
    "size",
    [(8000, 6000), (10_000, 10_000), (40_000, 40_000), (65_535, 65_535)],
    ids=["48MP", "100MP-pillow-warns", "1600MP-pillow-refuses", "4GP"],
)
def test_huge_declared_size_is_413_without_calling_the_space(gateway_url, size):
    data = png_header(*size)
    assert len(data) < 200
    before = _predict_calls(gateway_url)
    response = upload(gateway_url, data, "huge.png", "image/png")
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert "40,000,000 pixels" in detail
    if size[0] * size[1] < 178_956_970:  # below Pillow's own refusal the size is named
        assert f"{size[0]} x {size[1]}" in detail
    assert response.elapsed.total_seconds() < 2
    assert _predict_calls(gateway_url) == before


def test_the_largest_accepted_size_passes_the_header_check(gateway_url):
    from api_gateway.imaging import sniff_image

    info = sniff_image(png_header(8000, 5000), max_pixels=40_000_000)
    assert (info.width, info.height) == (8000, 5000)


def _predict_calls(gateway_url: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{gateway_url}/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "gateway_upstream_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels.get("api") == "/predict_base64":
                    total += sample.value
    return total
