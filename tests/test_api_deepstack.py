"""``POST /v1/vision/detection``: the DeepStack / CodeProject.AI call, as its clients make it.

Frigate, Blue Iris and Home Assistant send what python ``requests`` makes of
``requests.post(url, files={"image": jpeg_bytes}, data={"api_key": ..., "min_confidence": ...})``:
form fields first, then a file part named ``image`` with the filename ``image`` and no
Content-Type. ``requests_style_body`` builds exactly that, byte for byte.
"""

from __future__ import annotations

import httpx
import pytest

TIMEOUT = httpx.Timeout(60.0)
PATH = "/v1/vision/detection"


def requests_style_body(image: bytes, **fields: str) -> tuple[bytes, str]:
    boundary = "9a1c0d4e8b7f6a5c3d2e1f0a9b8c7d6e"
    parts = []
    for name, value in fields.items():
        head = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{head}\r\n\r\n{value}\r\n".encode())
    head = 'Content-Disposition: form-data; name="image"; filename="image"'
    parts.append(f"--{boundary}\r\n{head}\r\n\r\n".encode() + image + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def deepstack_post(url: str, image: bytes, headers: dict | None = None, **fields: str):
    body, content_type = requests_style_body(image, **fields)
    return httpx.post(
        f"{url}{PATH}",
        content=body,
        headers={"Content-Type": content_type, **(headers or {})},
        timeout=TIMEOUT,
    )


def assert_deepstack_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["code"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert "detail" not in body
    return body["error"]


def assert_predictions(body: dict) -> None:
    assert body["success"] is True
    assert body["count"] == len(body["predictions"])
    assert isinstance(body["inferenceMs"], int) and isinstance(body["processMs"], int)
    assert body["processMs"] >= body["inferenceMs"] >= 0
    for p in body["predictions"]:
        assert set(p) == {"label", "confidence", "x_min", "y_min", "x_max", "y_max"}
        for key in ("x_min", "y_min", "x_max", "y_max"):
            assert type(p[key]) is int
        assert 0 <= p["x_min"] <= p["x_max"] and 0 <= p["y_min"] <= p["y_max"]


def test_frigate_style_request_with_key_finds_the_cat(auth_gateway_url, api_keys, sample_images):
    response = deepstack_post(
        auth_gateway_url, sample_images["jpeg"], api_key=api_keys[0], min_confidence="0.6"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_predictions(body)
    labels = [p["label"] for p in body["predictions"]]
    assert labels == ["cat"]
    cat = body["predictions"][0]
    assert cat["confidence"] == pytest.approx(0.93, abs=0.03)
    assert (cat["x_min"], cat["y_min"]) == (pytest.approx(1, abs=4), pytest.approx(3, abs=4))
    assert (cat["x_max"], cat["y_max"]) == (pytest.approx(404, abs=6), pytest.approx(298, abs=4))
    assert body["message"] == "Found cat"


def test_open_gateway_needs_no_key(gateway_url, photos):
    response = deepstack_post(gateway_url, photos["coffee"].read_bytes())
    assert response.status_code == 200, response.text
    body = response.json()
    assert_predictions(body)
    assert {"cup", "dining table"} <= {p["label"] for p in body["predictions"]}
    # The default min_confidence is 0.45.
    assert all(p["confidence"] >= 0.45 for p in body["predictions"])


def test_an_httpx_upload_works_too(gateway_url, sample_images):
    response = httpx.post(
        f"{gateway_url}{PATH}",
        files={"image": ("image", sample_images["jpeg"])},
        data={"min_confidence": "0.5"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert [p["label"] for p in response.json()["predictions"]] == ["cat"]


def test_nothing_found_is_a_success_with_no_predictions(gateway_url, sample_images):
    response = deepstack_post(gateway_url, sample_images["jpeg"], min_confidence="1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["success"], body["predictions"], body["count"]) == (True, [], 0)


@pytest.mark.parametrize(
    "fields,key_header,fragment",
    [
        ({}, None, "API key is required"),
        ({"api_key": "wrong"}, None, "not valid"),
        ({"api_key": ""}, None, "API key is required"),
        ({}, "wrong", "not valid"),
    ],
    ids=["missing", "wrong-field", "empty-field", "wrong-header"],
)
def test_key_errors_are_401_in_the_deepstack_shape(
    auth_gateway_url, sample_images, fields, key_header, fragment
):
    headers = {"X-API-Key": key_header} if key_header else None
    response = deepstack_post(auth_gateway_url, sample_images["jpeg"], headers=headers, **fields)
    assert fragment in assert_deepstack_error(response, 401)


def test_header_key_works_on_the_deepstack_endpoint(auth_gateway_url, api_keys, sample_images):
    response = deepstack_post(
        auth_gateway_url,
        sample_images["jpeg"],
        headers={"Authorization": f"Bearer {api_keys[1]}"},
    )
    assert response.status_code == 200, response.text


def test_errors_use_the_deepstack_shape(gateway_url, photos):
    assert "not an image" in assert_deepstack_error(deepstack_post(gateway_url, b"text"), 415)
    no_image = httpx.post(f"{gateway_url}{PATH}", data={"min_confidence": "0.5"})
    assert "image" in assert_deepstack_error(no_image, 422)
    bad_option = deepstack_post(gateway_url, photos["chelsea"].read_bytes(), min_confidence="2")
    assert "min_confidence" in assert_deepstack_error(bad_option, 422)
    cut = photos["chelsea"].read_bytes()[:5000]
    assert_deepstack_error(deepstack_post(gateway_url, cut), 422)


def test_early_size_refusal_uses_the_deepstack_shape(gw_small_limit):
    response = deepstack_post(gw_small_limit, b"\0" * 300_000)
    assert "upload limit" in assert_deepstack_error(response, 413)


@pytest.fixture(scope="module")
def gw_small_limit(fake_space_url, start_gateway):
    return start_gateway(fake_space_url, name="gateway-deepstack-limit", max_upload_bytes=100_000)
