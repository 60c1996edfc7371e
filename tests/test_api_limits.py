"""Limits and staying healthy: the in-flight bound, recovery, bursts of bad input, memory."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

TIMEOUT = httpx.Timeout(60.0)
FAKE_DELAY_S = 1.5


def in_flight(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("gateway_upstream_in_flight "):
            return float(line.split()[1])
    raise AssertionError("no gateway_upstream_in_flight metric")


def overloaded(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith('gateway_upstream_errors_total{kind="overloaded"}'):
            return float(line.split()[1])
    raise AssertionError("no overloaded counter")


def post(url: str, data: bytes, path: str = "/v1/detect", **fields) -> httpx.Response:
    return httpx.post(f"{url}{path}", files={"image": ("p", data)}, data=fields, timeout=TIMEOUT)


# --- the bound on calls in flight to the Space ------------------------------------------------


def test_requests_beyond_the_in_flight_bound_get_503_with_retry_after(
    start_fake_space, start_gateway, sample_images
):
    slow = start_fake_space("fake_space-busy", delay_s=FAKE_DELAY_S)
    gw = start_gateway(
        slow, name="gateway-busy", max_in_flight=2, upstream_timeout_s=20, retry_after_s=3
    )
    image = sample_images["png"]
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(post, gw, image) for _ in range(2)]
        deadline = time.monotonic() + 10
        while in_flight(gw) < 2:
            assert time.monotonic() < deadline, "the two slow calls never started"
            time.sleep(0.05)
        refused = []
        for path in ("/v1/detect", "/detect_objects", "/v1/vision/detection"):
            started = time.monotonic()
            refused.append(post(gw, image, path))
            assert time.monotonic() - started < FAKE_DELAY_S / 2  # answered at once, not queued
        results = [f.result() for f in running]
    assert [r.status_code for r in results] == [200, 200]
    for response in refused:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "3"
        assert response.headers["x-request-id"]
    assert "busy" in refused[0].json()["detail"]
    assert refused[2].json()["success"] is False and "busy" in refused[2].json()["error"]
    assert overloaded(gw) == 3
    # The slots are free again.
    assert in_flight(gw) == 0
    assert post(gw, image).status_code == 200


def test_a_space_that_comes_up_later_is_picked_up(
    start_gateway, start_fake_space, free_tcp_port, sample_images
):
    gw = start_gateway(f"http://127.0.0.1:{free_tcp_port}/", name="gateway-space-later")
    assert httpx.get(f"{gw}/readyz").status_code == 503
    assert post(gw, sample_images["png"]).status_code == 502
    start_fake_space("fake_space-later", port=free_tcp_port)
    deadline = time.monotonic() + 20
    while httpx.get(f"{gw}/readyz", timeout=TIMEOUT).status_code != 200:
        assert time.monotonic() < deadline, "the gateway never became ready"
        time.sleep(0.25)
    assert post(gw, sample_images["png"]).status_code == 200


# --- bad input does no lasting harm -----------------------------------------------------------


def _bad_uploads(sample_images) -> list[tuple[str, bytes, dict]]:
    png = sample_images["png"]
    return [
        ("/v1/detect", b"", {}),
        ("/v1/detect", b"not an image", {}),
        ("/v1/detect", png[: len(png) // 3], {}),  # reaches the Space, which refuses it
        ("/v1/detect", sample_images["jpeg"][:2000], {}),
        ("/v1/detect", png, {"min_confidence": "7"}),
        ("/v1/detect", png, {"classes": "unicorn"}),
        ("/v1/detect", png, {"image_format": "bmp"}),
        ("/detect_objects", b"<svg xmlns='http://www.w3.org/2000/svg'/>", {}),
        ("/v1/vision/detection", b"\x89PNG\r\n\x1a\n", {}),
        ("/v1/vision/detection", png[:20], {}),  # cut inside the header
        ("/v1/vision/detection", png, {"max_detections": "0"}),
    ]


def test_a_burst_of_bad_uploads_leaves_the_service_working(gateway_url, sample_images):
    bad = _bad_uploads(sample_images) * 6

    def send(item):
        path, data, fields = item
        return post(gateway_url, data, path, **fields).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, bad))
    assert all(400 <= s < 500 for s in statuses), statuses

    good = post(gateway_url, sample_images["jpeg"])
    assert good.status_code == 200, good.text
    body = good.json()
    cats = [d for d in body["detections"] if d["label"] == "cat"]
    assert len(cats) == 1 and cats[0]["confidence"] > 0.85
    assert cats[0]["box"]["x_max"] == pytest.approx(403.8, abs=8)
    assert httpx.get(f"{gateway_url}/readyz", timeout=TIMEOUT).status_code == 200


# --- memory -----------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_memory_stays_flat_over_hundreds_of_requests(gateway_url, processes, sample_images):
    small = io.BytesIO()
    sample_images["_upright"].resize((226, 150)).save(small, format="JPEG", quality=85)
    jpeg = small.getvalue()
    mix = [  # (path, upload, form fields, expected status)
        ("/v1/detect", jpeg, {"annotate": "false"}, 200),
        ("/v1/detect", jpeg, {"image_format": "jpeg"}, 200),
        ("/v1/vision/detection", jpeg, {}, 200),
        ("/detect_objects", jpeg, {"classes": "cat"}, 200),
        ("/v1/detect", jpeg[: len(jpeg) // 2], {}, 422),
        ("/v1/detect", b"text, not an image", {}, 415),
    ]
    pids = {name: processes.by_name[name].pid for name in ("gateway", "model_space")}

    def run(count: int) -> list[str]:
        """Send ``count`` requests, 4 at a time; returns the unexpected answers."""
        with httpx.Client(timeout=TIMEOUT) as client, ThreadPoolExecutor(4) as pool:

            def one(i: int) -> str | None:
                path, data, fields, expected = mix[i % len(mix)]
                response = client.post(
                    f"{gateway_url}{path}", files={"image": ("p", data)}, data=fields
                )
                if response.status_code != expected:
                    return f"{path} {fields}: {response.status_code} {response.text[:200]}"
                return None

            return [problem for problem in pool.map(one, range(count)) if problem]

    assert run(48) == []  # warm-up: caches, thread pools and allocator arenas reach their size
    before = {name: rss_mb(pid) for name, pid in pids.items()}
    started = time.monotonic()
    problems = run(300)
    elapsed = time.monotonic() - started
    after = {name: rss_mb(pid) for name, pid in pids.items()}

    assert problems == []
    assert elapsed < 60
    for name in pids:
        assert after[name] - before[name] < 30, (name, before[name], after[name])
