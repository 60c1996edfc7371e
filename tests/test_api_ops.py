"""Labels, health, readiness, metrics, the OpenAPI description, and the last-resort 500."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = httpx.Timeout(60.0)


def metric_samples(url: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, from the gateway's /metrics."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- labels -------------------------------------------------------------------------------


def test_labels_come_from_the_model(gateway_url):
    response = httpx.get(f"{gateway_url}/v1/labels", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    labels = response.json()["labels"]
    assert len(labels) == 80 and len(set(labels)) == 80
    assert labels[0] == "person" and labels[-1] == "toothbrush"
    assert {"cat", "dog", "cup", "dining table"} <= set(labels)


def test_labels_are_cached(gateway_url):
    httpx.get(f"{gateway_url}/v1/labels", timeout=TIMEOUT)
    before = metric_samples(gateway_url)
    for _ in range(5):
        assert httpx.get(f"{gateway_url}/v1/labels").status_code == 200
    after = metric_samples(gateway_url)
    name = "gateway_upstream_duration_seconds_count"
    assert value(after, name, api="/labels", outcome="ok") == value(
        before, name, api="/labels", outcome="ok"
    )


# --- health and readiness ---------------------------------------------------------------------


def test_healthz(gateway_url):
    response = httpx.get(f"{gateway_url}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_with_the_space_up(gateway_url):
    response = httpx.get(f"{gateway_url}/readyz", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "labels": 80}


def test_readyz_503_and_labels_502_while_the_space_is_down(start_gateway, free_tcp_port):
    gw_without_space = start_gateway(
        f"http://127.0.0.1:{free_tcp_port}/", name="gateway-ops-no-space"
    )
    assert httpx.get(f"{gw_without_space}/healthz").status_code == 200
    response = httpx.get(f"{gw_without_space}/readyz", timeout=TIMEOUT)
    assert response.status_code == 503
    assert "not reachable" in response.json()["detail"]
    assert response.headers["retry-after"]

    response = httpx.get(f"{gw_without_space}/v1/labels", timeout=TIMEOUT)
    assert response.status_code == 502
    assert "not reachable" in response.json()["detail"]
    samples = metric_samples(gw_without_space)
    assert value(samples, "gateway_upstream_errors_total", kind="unreachable") >= 1


# --- metrics ------------------------------------------------------------------------------


def test_metrics_count_requests_latency_and_errors(gateway_url, sample_images):
    before = metric_samples(gateway_url)
    ok = httpx.post(
        f"{gateway_url}/v1/detect",
        files={"image": ("a.jpg", sample_images["jpeg"])},
        data={"annotate": "false"},
        timeout=TIMEOUT,
    )
    assert ok.status_code == 200
    assert httpx.post(f"{gateway_url}/v1/detect", files={"image": ("a", b"txt")}).status_code == 415
    broken = sample_images["png"][:3000]
    assert (
        httpx.post(
            f"{gateway_url}/v1/detect", files={"image": ("a", broken)}, timeout=TIMEOUT
        ).status_code
        == 422
    )
    after = metric_samples(gateway_url)

    def grew(name: str, by: float = 1, **labels: str) -> None:
        assert value(after, name, **labels) - value(before, name, **labels) == by, (name, labels)

    requests = "gateway_requests_total"
    grew(requests, endpoint="/v1/detect", method="POST", status="200")
    grew(requests, endpoint="/v1/detect", method="POST", status="415")
    grew(requests, endpoint="/v1/detect", method="POST", status="422")
    grew("gateway_request_duration_seconds_count", by=3, endpoint="/v1/detect")
    grew("gateway_upstream_duration_seconds_count", api="/predict_base64", outcome="ok")
    grew("gateway_upstream_duration_seconds_count", api="/predict_base64", outcome="rejected")
    grew("gateway_upstream_errors_total", kind="rejected")
    assert (
        value(after, "gateway_upstream_duration_seconds_sum", api="/predict_base64", outcome="ok")
        > 0
    )
    # The /metrics request itself is in flight while it renders.
    assert value(after, "gateway_requests_in_flight") >= 1
    assert value(after, "gateway_upstream_in_flight") == 0
    for kind in ("unreachable", "timeout", "rejected", "bad_answer", "overloaded"):
        assert ("gateway_upstream_errors_total", (("kind", kind),)) in after


def test_unknown_paths_do_not_create_new_series(gateway_url):
    for n in range(5):
        httpx.get(f"{gateway_url}/random/{n}")
    endpoints = {
        dict(labels).get("endpoint")
        for (name, labels) in metric_samples(gateway_url)
        if name == "gateway_requests_total"
    }
    assert not any(e and e.startswith("/random") for e in endpoints)
    assert "other" in endpoints


# --- OpenAPI ------------------------------------------------------------------------------


def test_openapi_describes_every_endpoint_option_and_error(gateway_url):
    spec = httpx.get(f"{gateway_url}/openapi.json").json()
    paths = spec["paths"]
    for path in ("/detect_objects", "/v1/detect", "/v1/vision/detection"):
        operation = paths[path]["post"]
        assert operation["description"]
        for status in ("401", "413", "415", "422", "502", "503", "504"):
            assert operation["responses"][status]["description"], (path, status)
        ref = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        form = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
        for field in ("image", "min_confidence", "classes", "max_detections", "nms_iou"):
            assert form[field].get("description"), (path, field)
    detect_form = paths["/v1/detect"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = spec["components"]["schemas"][detect_form["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"annotate", "image_format"} <= set(form["properties"])
    deepstack = paths["/v1/vision/detection"]["post"]
    assert deepstack["responses"]["415"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "DeepStackError"
    )
    for path in ("/v1/labels", "/healthz", "/readyz", "/metrics"):
        assert paths[path]["get"]["description"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    docs = httpx.get(f"{gateway_url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# --- an unexpected failure ----------------------------------------------------------------


def test_unexpected_error_is_json_500_with_request_id_and_cors():
    from api_gateway import Settings, create_app

    app = create_app(
        Settings(space_url="http://127.0.0.1:9/", web_dir="", cors_origins=["http://a.test"])
    )

    @app.get("/boom")
    async def boom():
        raise RuntimeError("kaboom")

    @app.post("/v1/vision/detection/boom")
    async def deepstack_boom():
        raise RuntimeError("kaboom")

    async def call() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            plain = await client.get("/boom", headers={"Origin": "http://a.test"})
            other = await client.post("/v1/vision/detection/boom")
            return plain, other

    plain, other = asyncio.run(call())
    assert plain.status_code == 500
    assert plain.json() == {"detail": "Internal error in the gateway; see its log for details."}
    assert "kaboom" not in plain.text
    assert plain.headers["x-request-id"]
    assert plain.headers["access-control-allow-origin"] == "http://a.test"
    assert other.status_code == 500 and "detail" in other.json()


def test_each_app_has_its_own_metrics_registry():
    from api_gateway import Settings, create_app

    async def scrape(app) -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            await client.get("/healthz")
            return (await client.get("/metrics")).text

    settings = Settings(space_url="http://127.0.0.1:9/", web_dir="")
    first, second = create_app(settings), create_app(settings)
    assert first.state.metrics.registry is not second.state.metrics.registry
    for app in (first, second):
        text = asyncio.run(scrape(app))
        line = 'gateway_requests_total{endpoint="/healthz",method="GET",status="200"} 1.0'
        assert line in text
