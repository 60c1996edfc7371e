"""API keys, request ids, the JSON access log and CORS."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

TIMEOUT = httpx.Timeout(60.0)


def detect(url: str, data: bytes, headers: dict | None = None, path: str = "/v1/detect"):
    return httpx.post(
        f"{url}{path}",
        files={"image": ("photo.jpg", data, "image/jpeg")},
        data={"annotate": "false"} if path == "/v1/detect" else {},
        headers=headers,
        timeout=TIMEOUT,
    )


# --- API keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/detect", "/detect_objects"])
def test_missing_key_is_401(auth_gateway_url, sample_images, path):
    response = detect(auth_gateway_url, sample_images["jpeg"], path=path)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-the-key"},
        {"X-API-Key": "not-the-key"},
        {"X-API-Key": "test-key-one-5f2c9"},  # a prefix of a real key
        {"Authorization": "Basic dGVzdDp0ZXN0"},
    ],
    ids=["bearer", "x-api-key", "prefix", "basic"],
)
def test_wrong_key_is_401(auth_gateway_url, sample_images, headers):
    response = detect(auth_gateway_url, sample_images["jpeg"], headers=headers)
    assert response.status_code == 401, response.text
    assert set(response.json()) == {"detail"}


def test_refused_before_the_upload_is_read(auth_gateway_url):
    # 8 MB that are never looked at: the 401 comes from the headers alone.
    started = time.monotonic()
    response = httpx.post(
        f"{auth_gateway_url}/v1/detect",
        files={"image": ("big.jpg", b"\xff\xd8\xff" + b"\0" * 8_000_000, "image/jpeg")},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("style", ["bearer", "x-api-key"])
def test_every_configured_key_works_in_both_headers(
    auth_gateway_url, api_keys, sample_images, which, style
):
    key = api_keys[which]
    headers = {"Authorization": f"Bearer {key}"} if style == "bearer" else {"X-API-Key": key}
    response = detect(auth_gateway_url, sample_images["jpeg"], headers=headers)
    assert response.status_code == 200, response.text
    assert "cat" in {d["label"] for d in response.json()["detections"]}


def test_labels_need_a_key(auth_gateway_url, api_keys):
    assert httpx.get(f"{auth_gateway_url}/v1/labels").status_code == 401
    ok = httpx.get(f"{auth_gateway_url}/v1/labels", headers={"X-API-Key": api_keys[0]})
    assert ok.status_code == 200 and len(ok.json()["labels"]) == 80


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/", "/app.js", "/docs"])
def test_operations_and_the_page_stay_open(auth_gateway_url, path):
    assert httpx.get(f"{auth_gateway_url}{path}", timeout=TIMEOUT).status_code == 200


def test_keys_never_reach_the_log(
    auth_gateway_url, api_keys, sample_images, gateway_log, process_log
):
    detect(auth_gateway_url, sample_images["jpeg"], headers={"X-API-Key": api_keys[0]})
    detect(auth_gateway_url, sample_images["jpeg"], headers={"X-API-Key": "wrong-key-abc123"})
    assert gateway_log("gateway-auth")  # the log is there and has request lines
    text = process_log("gateway-auth")
    for key in (*api_keys, "wrong-key-abc123"):
        assert key not in text


# --- request id ---------------------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_passed_to_the_space(
    fake_gateway_url, fake_space_calls, sample_images
):
    request_id = f"frigate-{uuid.uuid4().hex[:12]}"
    response = detect(fake_gateway_url, sample_images["png"], headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id
    assert len(fake_space_calls(request_id)) == 1


@pytest.mark.parametrize("bad", ["", "has space", "x" * 200, "semi;colon", "<script>", "é"])
def test_an_insane_request_id_is_replaced(fake_gateway_url, sample_images, bad):
    headers = {"X-Request-ID": bad.encode("utf-8")} if bad else {}
    response = detect(fake_gateway_url, sample_images["png"], headers=headers)
    assert response.status_code == 200
    generated = response.headers["x-request-id"]
    assert generated and generated != bad and len(generated) == 32


def test_generated_request_id_reaches_the_space(fake_gateway_url, fake_space_calls, sample_images):
    response = detect(fake_gateway_url, sample_images["png"])
    assert len(fake_space_calls(response.headers["x-request-id"])) == 1


@pytest.mark.parametrize(
    "method,path,kwargs,status",
    [
        ("POST", "/v1/detect", {"files": {"image": ("a.txt", b"text")}}, 415),
        ("POST", "/v1/detect", {"data": {"x": "1"}}, 422),
        ("POST", "/v1/vision/detection", {"files": {"image": ("a", b"text")}}, 415),
        ("GET", "/no/such/thing", {}, 404),
        ("POST", "/v1/detect", {"files": {"image": ("a", b"\0" * 11_000_000)}}, 413),
        ("POST", "/v1/detect", {"headers": {"X-API-Key": "wrong"}}, 401),
        ("GET", "/healthz", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/", {}, 200),
    ],
)
def test_every_response_carries_the_request_id(auth_gateway_url, method, path, kwargs, status):
    headers = {"X-API-Key": "test-key-one-5f2c9a", **kwargs.pop("headers", {})}
    headers["X-Request-ID"] = "rid-123"
    response = httpx.request(
        method, f"{auth_gateway_url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
    )
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"] == "rid-123"


def test_cors_preflight_carries_the_request_id_and_exposes_it(gateway_url):
    response = httpx.options(
        f"{gateway_url}/v1/detect",
        headers={
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Method": "POST",
            "X-Request-ID": "pre-1",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "pre-1"
    answer = httpx.get(f"{gateway_url}/healthz", headers={"Origin": "http://localhost:8000"})
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "retry-after" in exposed


# --- access log ---------------------------------------------------------------------------


def test_one_json_log_line_per_request(fake_gateway_url, gateway_log, sample_images):
    request_id = f"log-{uuid.uuid4().hex[:10]}"
    data = sample_images["png"]
    response = detect(fake_gateway_url, data, headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    bad = detect(fake_gateway_url, b"text", headers={"X-Request-ID": request_id + "-bad"})
    assert bad.status_code == 415
    deadline = time.monotonic() + 5
    while True:
        records = {r["request_id"]: r for r in gateway_log("gateway-on-fake")}
        if {request_id, request_id + "-bad"} <= set(records) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    good = records[request_id]
    assert {
        "request_id",
        "method",
        "path",
        "endpoint",
        "status",
        "request_bytes",
        "response_bytes",
        "total_ms",
        "upstream_ms",
    } <= set(good)
    assert (good["method"], good["path"], good["endpoint"], good["status"]) == (
        "POST",
        "/v1/detect",
        "/v1/detect",
        200,
    )
    assert good["request_bytes"] > len(data)
    assert good["response_bytes"] == len(response.content)
    assert good["total_ms"] >= good["upstream_ms"] > 0
    refused = records[request_id + "-bad"]
    assert (refused["status"], refused["upstream_ms"]) == (415, None)
    assert sum(1 for r in gateway_log("gateway-on-fake") if r["request_id"] == request_id) == 1
