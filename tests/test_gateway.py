"""The gateway's own behaviour: wire codec, input checks, and upstream failure mapping.

Nothing here needs the detection model: the process tests run the gateway against
tests/fake_space.py (the Space contract without a model), a closed port, or a slow fake.
"""

from __future__ import annotations

import base64
import io
import json
import time

import httpx
import pytest
from PIL import Image

from api_gateway import codec
from api_gateway.errors import SpaceUnavailable
from api_gateway.imaging import NotAnImage, sniff_image
from api_gateway.space import parse_space_result

UPLOAD_LIMIT = 100_000


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def assert_json_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"]
    return body["detail"]


# --- wire codec --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00", bytes(range(256)), png_bytes()])
def test_codec_round_trip(data):
    wire = codec.encode_bytes(data)
    assert isinstance(wire, str)
    assert json.loads(wire) == list(data)
    assert codec.decode_bytes(wire) == data


def test_codec_text_is_the_plain_json_list_across_slices():
    data = bytes((i * 7 + i // 300) % 256 for i in range(200_003))  # several encoding slices
    wire = codec.encode_bytes(data)
    assert wire == json.dumps(list(data), separators=(",", ":"))
    assert codec.decode_bytes(wire) == data
    assert codec.encode_bytes(memoryview(data)) == wire


def test_codec_accepts_a_parsed_list_and_spaced_json():
    assert codec.decode_bytes([1, 2, 255]) == b"\x01\x02\xff"
    assert codec.decode_bytes("[ 1, 2 ,3 ]") == b"\x01\x02\x03"


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "not json",
        "[1, 2",
        '{"a": 1}',
        "42",
        '"abc"',
        "null",
        "[256]",
        "[-1]",
        "[1.5]",
        "[1.0]",
        "[true]",
        '["1"]',
        "[[1]]",
        "[null]",
    ],
)
def test_codec_rejects_what_is_not_a_byte_list(wire):
    with pytest.raises(codec.WireFormatError):
        codec.decode_bytes(wire)


def test_codec_error_names_the_bad_item():
    with pytest.raises(codec.WireFormatError, match="item 2 is 300"):
        codec.decode_bytes("[0, 1, 300]")


def test_codec_encode_refuses_text():
    with pytest.raises(TypeError):
        codec.encode_bytes("abc")  # type: ignore[arg-type]


# --- image sniffing and the Space's answer ---------------------------------------------


def test_sniff_reads_format_and_size_from_the_header():
    info = sniff_image(png_bytes(30, 20))
    assert (info.format, info.width, info.height) == ("PNG", 30, 20)


@pytest.mark.parametrize("data", [b"hello, this is text\n", b"\x89PNG\r\n\x1a\n garbage"])
def test_sniff_rejects_non_images_naming_accepted_formats(data):
    with pytest.raises(NotAnImage, match="JPEG, PNG"):
        sniff_image(data)


def test_sniff_rejects_image_formats_the_detector_cannot_read():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PPM")
    with pytest.raises(NotAnImage, match="PPM images are not supported"):
        sniff_image(out.getvalue())


def _space_answer(**changes) -> str:
    answer = {
        "model": "m",
        "width": 64,
        "height": 48,
        "detections": [
            {
                "label": "cat",
                "confidence": 0.9,
                "box": {"x_min": 1, "y_min": 2, "x_max": 3, "y_max": 4},
            }
        ],
        "image": codec.encode_bytes(png_bytes()),
        "timings_ms": {"decode": 1.0, "inference": 2.0, "draw": 0.5, "encode": 0.5},
    }
    answer.update(changes)
    return json.dumps(answer)


def test_parse_space_result_accepts_the_contract():
    result, png = parse_space_result(_space_answer(image_format="png"))
    assert result.detections[0].label == "cat"
    assert result.timings_ms["inference"] == 2.0
    assert result.image_format == "png"
    assert png == png_bytes()


def test_parse_space_result_accepts_jpeg_and_no_image():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    result, jpeg = parse_space_result(
        _space_answer(image=codec.encode_bytes(out.getvalue()), image_format="jpeg")
    )
    assert (result.image_format, jpeg) == ("jpeg", out.getvalue())
    result, nothing = parse_space_result(
        _space_answer(image=None, image_format=None), expect_image=False
    )
    assert nothing is None and result.detections


@pytest.mark.parametrize(
    "raw",
    [
        _space_answer(image=codec.encode_bytes(b"GIF89a not a png")),
        _space_answer(image=codec.encode_bytes(png_bytes()), image_format="jpeg"),
        _space_answer(image=None, image_format=None),
        _space_answer(image_format="gif"),
        _space_answer(image="[1, 999]"),
        _space_answer(detections=[{"label": "cat"}]),
        _space_answer(width="wide"),
        "not json",
        ["a", "tuple", "of", "outputs"],
    ],
)
def test_parse_space_result_refuses_contract_breaks_as_502(raw):
    with pytest.raises(SpaceUnavailable) as info:
        parse_space_result(raw)
    assert info.value.status_code == 502


# --- a gateway in front of the fake Space ----------------------------------------------


@pytest.fixture(scope="module")
def gw(fake_space_url, start_gateway):
    """Base URL of a gateway with a small upload limit, in front of the fake Space."""
    return start_gateway(fake_space_url, name="gateway-fake", max_upload_bytes=UPLOAD_LIMIT)


def test_healthz(gw):
    response = httpx.get(f"{gw}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_detect_returns_the_documented_json(gw):
    response = httpx.post(
        f"{gw}/v1/detect", files={"image": ("red.png", png_bytes(64, 48), "image/png")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "fake_space"
    assert (body["width"], body["height"]) == (64, 48)
    assert body["detections"] == [
        {
            "label": "cat",
            "confidence": 0.75,
            "box": {"x_min": 1.0, "y_min": 2.0, "x_max": 3.0, "y_max": 4.0},
        },
        {
            "label": "dog",
            "confidence": 0.6,
            "box": {"x_min": 5.0, "y_min": 6.0, "x_max": 7.5, "y_max": 8.5},
        },
    ]
    timings = body["timings_ms"]
    assert {"total", "upstream", "decode", "inference", "draw", "encode"} <= set(timings)
    assert timings["total"] >= timings["upstream"] > 0
    assert body["image_format"] == "png"
    png = base64.b64decode(body["image_base64"])
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (64, 48))


def test_detect_passes_min_confidence_to_the_space(gw):
    response = httpx.post(
        f"{gw}/v1/detect",
        files={"image": ("red.png", png_bytes(), "image/png")},
        data={"min_confidence": "0.9"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["detections"] == []


def test_detect_objects_returns_png(gw):
    response = httpx.post(
        f"{gw}/detect_objects", files={"image": ("red.png", png_bytes(40, 30), "image/png")}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (40, 30)


@pytest.mark.parametrize("path", ["/v1/detect", "/detect_objects"])
def test_no_file_is_422(gw, path):
    detail = assert_json_error(httpx.post(f"{gw}{path}", data={"min_confidence": "0.5"}), 422)
    assert "image" in detail


def test_no_body_at_all_is_422(gw):
    assert "image" in assert_json_error(httpx.post(f"{gw}/v1/detect"), 422)


def test_image_sent_as_text_field_is_422(gw):
    detail = assert_json_error(httpx.post(f"{gw}/v1/detect", data={"image": "abc"}), 422)
    assert "image" in detail


def test_empty_file_is_415_naming_accepted_formats(gw):
    response = httpx.post(f"{gw}/v1/detect", files={"image": ("empty.png", b"", "image/png")})
    detail = assert_json_error(response, 415)
    assert "empty" in detail and "JPEG, PNG, WebP, BMP, TIFF, GIF" in detail


@pytest.mark.parametrize("value", ["1.5", "-0.1", "abc"])
def test_min_confidence_outside_0_1_is_422(gw, value):
    response = httpx.post(
        f"{gw}/v1/detect",
        files={"image": ("red.png", png_bytes(), "image/png")},
        data={"min_confidence": value},
    )
    assert "min_confidence" in assert_json_error(response, 422)


@pytest.mark.parametrize("path", ["/v1/detect", "/detect_objects"])
def test_text_file_is_415_naming_accepted_formats(gw, path):
    response = httpx.post(
        f"{gw}{path}", files={"image": ("notes.txt", b"just some text\n" * 20, "text/plain")}
    )
    detail = assert_json_error(response, 415)
    assert "JPEG" in detail and "PNG" in detail


def test_image_the_space_cannot_decode_is_422_with_its_message(gw):
    # A PNG cut in the middle of its pixel data: the header sniff passes, decoding fails.
    out = io.BytesIO()
    Image.effect_noise((200, 200), 64).save(out, format="PNG")
    truncated = out.getvalue()[: len(out.getvalue()) // 2]
    response = httpx.post(f"{gw}/v1/detect", files={"image": ("cut.png", truncated, "image/png")})
    detail = assert_json_error(response, 422)
    assert "Could not decode the image" in detail


def test_file_just_over_the_limit_is_413(gw):
    # Small enough that the whole request is read, so the route's own check answers.
    data = png_bytes() + b"\0" * (UPLOAD_LIMIT + 1 - len(png_bytes()))
    response = httpx.post(f"{gw}/v1/detect", files={"image": ("big.png", data, "image/png")})
    assert "upload limit" in assert_json_error(response, 413)


def test_large_declared_body_is_413_without_reading_it(gw):
    data = b"\0" * (UPLOAD_LIMIT * 3)
    response = httpx.post(f"{gw}/v1/detect", files={"image": ("big.png", data, "image/png")})
    assert "upload limit" in assert_json_error(response, 413)


def test_large_streamed_body_without_length_is_413(gw):
    boundary = "testboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def chunks():
        yield head
        for _ in range(30):
            yield b"\0" * 16_384
        yield f"\r\n--{boundary}--\r\n".encode()

    response = httpx.post(
        f"{gw}/v1/detect",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "upload limit" in assert_json_error(response, 413)


def test_gateway_still_works_after_errors(gw):
    httpx.post(f"{gw}/v1/detect", files={"image": ("notes.txt", b"text", "text/plain")})
    response = httpx.post(f"{gw}/v1/detect", files={"image": ("red.png", png_bytes(), "image/png")})
    assert response.status_code == 200


def test_unknown_path_is_json_404(gw):
    assert_json_error(httpx.get(f"{gw}/no/such/page"), 404)


def test_wrong_method_on_an_endpoint_is_405_not_404(gw):
    """The page is mounted at "/", yet GET /v1/detect must not look like a missing endpoint."""
    for path in ("/v1/detect", "/detect_objects"):
        response = httpx.get(f"{gw}{path}")
        assert_json_error(response, 405)
        assert response.headers["allow"] == "POST"
        assert "use POST" in response.json()["detail"]
    deepstack = httpx.get(f"{gw}/v1/vision/detection")
    assert deepstack.status_code == 405 and deepstack.json()["success"] is False


def test_web_page_is_served(gw):
    page = httpx.get(f"{gw}/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert 'id="photo"' in page.text
    config = httpx.get(f"{gw}/config.js")
    assert config.status_code == 200
    assert "GATEWAY_URL" in config.text


def test_cors_allows_the_configured_origins_only(gw):
    preflight = {"access-control-request-method": "POST"}
    allowed = httpx.options(
        f"{gw}/v1/detect", headers={"origin": "http://localhost:8000", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:8000"
    other = httpx.options(
        f"{gw}/v1/detect", headers={"origin": "http://elsewhere.invalid", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


def test_errors_carry_cors_headers_so_the_page_can_read_them(gw):
    response = httpx.post(
        f"{gw}/v1/detect",
        files={"image": ("big.png", b"\0" * (UPLOAD_LIMIT * 3), "image/png")},
        headers={"origin": "http://127.0.0.1:8000"},
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"


# --- upstream failures -----------------------------------------------------------------


def test_space_unreachable_is_502(start_gateway, free_tcp_port):
    closed = f"http://127.0.0.1:{free_tcp_port}/"
    gateway = start_gateway(closed, name="gateway-no-space")
    # The gateway starts and stays healthy with no Space behind it.
    assert httpx.get(f"{gateway}/healthz").status_code == 200
    for path in ("/v1/detect", "/detect_objects"):
        response = httpx.post(
            f"{gateway}{path}", files={"image": ("red.png", png_bytes(), "image/png")}
        )
        assert "not reachable" in assert_json_error(response, 502)


def test_slow_space_is_504(start_fake_space, start_gateway):
    slow = start_fake_space("fake_space-slow", delay_s=6.0)
    gateway = start_gateway(slow, name="gateway-slow", upstream_timeout_s=1.5)
    started = time.monotonic()
    response = httpx.post(
        f"{gateway}/v1/detect",
        files={"image": ("red.png", png_bytes(), "image/png")},
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert "did not answer within 1.5 s" in assert_json_error(response, 504)
    assert elapsed < 5.0
