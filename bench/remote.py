"""Stages 3 to 5 and the tiers' memory: the Space over gradio_client, the gateway over HTTP."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time

import httpx

from model_package.wire import WIRES

from .procinfo import memory_mb
from .stats import summarise

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

SPACE_APIS = {"bytelist": "/predict", "base64": "/predict_base64"}
MIME = {"jpeg": "image/jpeg", "png": "image/png"}


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def space_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def space_predict(client, wire: str, data: bytes) -> dict:
    """One call as the gateway makes it: encode the file, call, parse, decode the image."""
    codec = WIRES[wire]
    raw = client.predict(
        codec.encode(data), 0.5, "", 100, 0.5, True, "png", "", api_name=SPACE_APIS[wire]
    )
    result = json.loads(raw)
    result["image"] = codec.decode(result["image"])
    return result


class SpaceHTTP:
    """The same API called without gradio_client: Gradio's documented HTTP route
    (POST /gradio_api/call/<api> for an event id, then GET the finished event stream) on one
    keep-alive connection. Measures what gradio_client itself adds per call."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)

    def predict(self, *args, api_name: str) -> object:
        name = api_name.strip("/")
        response = self.http.post(f"gradio_api/call/{name}", json={"data": list(args)})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        response = self.http.get(f"gradio_api/call/{name}/{event_id}")
        response.raise_for_status()
        event = None
        for line in response.text.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "complete":
                return json.loads(line[5:])[0]
            elif line.startswith("data:") and event == "error":
                raise RuntimeError(f"Space error: {line[5:].strip()[:200]}")
        raise RuntimeError("the event stream ended without a result")


def space_wires(client, photos_by_size: dict[str, list], repeats: dict[str, int]) -> dict:
    """Byte-list against base64, alternating call by call on the same photos."""
    results = {}
    for size, photos in photos_by_size.items():
        datas = [p.data for p in photos]
        samples = {wire: [] for wire in SPACE_APIS}
        server = {wire: [] for wire in SPACE_APIS}
        for wire in SPACE_APIS:  # warm-up per size
            space_predict(client, wire, datas[0])
        for data in itertools.islice(itertools.cycle(datas), repeats[size]):
            for wire in SPACE_APIS:
                start = time.perf_counter()
                result = space_predict(client, wire, data)
                samples[wire].append(_ms(start))
                server[wire].append(sum(result["timings_ms"].values()))
        results[size] = {
            "bytes": int(sum(map(len, datas)) / len(datas)),
            "wires": {
                wire: {
                    "summary": summarise(samples[wire]),
                    "space_work_median_ms": summarise(server[wire])["median_ms"],
                    "samples_ms": [round(x, 2) for x in samples[wire]],
                }
                for wire in SPACE_APIS
            },
        }
        results[size]["bytelist_over_base64"] = round(
            results[size]["wires"]["bytelist"]["summary"]["median_ms"]
            / results[size]["wires"]["base64"]["summary"]["median_ms"],
            3,
        )
    return results


def gateway_detect(http: httpx.Client, url: str, photo, data: bytes) -> None:
    response = http.post(
        url + "/v1/detect", files={"image": (photo.path.name, data, MIME[photo.fmt])}
    )
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    response.json()


def gateway_wires(urls: dict[str, str], photos_by_size: dict[str, list], repeats: dict) -> dict:
    """POST /v1/detect on one gateway per Space wire format, alternating request by request."""
    results = {}
    with httpx.Client(timeout=120) as http:
        for size, photos in photos_by_size.items():
            items = [(p, p.data) for p in photos]
            samples = {wire: [] for wire in urls}
            for wire, url in urls.items():
                gateway_detect(http, url, *items[0])
            for photo, data in itertools.islice(itertools.cycle(items), repeats[size]):
                for wire, url in urls.items():
                    start = time.perf_counter()
                    gateway_detect(http, url, photo, data)
                    samples[wire].append(_ms(start))
            results[size] = {
                "wires": {
                    wire: {
                        "summary": summarise(v),
                        "samples_ms": [round(x, 2) for x in v],
                    }
                    for wire, v in samples.items()
                }
            }
            if len(urls) == 2:
                a, b = (results[size]["wires"][w]["summary"]["median_ms"] for w in urls)
                results[size]["bytelist_over_base64"] = round(a / b, 3)
    return results


def load(url: str, photos: list, clients: int, *, seconds: float = 0, requests: int = 0) -> dict:
    """``clients`` threads, each with its own keep-alive connection, posting photos in turn
    until ``seconds`` have passed or ``requests`` are done in all; latency and images/s."""
    items = [(p, p.data) for p in photos]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = itertools.count()
    clock = {"started": 0.0, "deadline": 0.0}

    def begin() -> None:  # runs once, before any thread passes the barrier
        clock["started"] = time.perf_counter()
        clock["deadline"] = clock["started"] + seconds

    go = threading.Barrier(clients + 1, action=begin)

    def worker(index: int) -> None:
        with httpx.Client(timeout=120) as http:
            try:
                gateway_detect(http, url, *items[index % len(items)])  # connect, warm up
            except Exception as exc:
                errors.append(f"warm-up: {exc}")
            go.wait()
            while True:
                n = next(counter)
                if (requests and n >= requests) or (
                    seconds and time.perf_counter() > clock["deadline"]
                ):
                    return
                photo, data = items[n % len(items)]
                start = time.perf_counter()
                try:
                    gateway_detect(http, url, photo, data)
                except Exception as exc:
                    with lock:
                        errors.append(str(exc)[:200])
                    continue
                with lock:
                    latencies.append(_ms(start))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    go.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - clock["started"]
    return {
        "clients": clients,
        "wall_s": round(wall, 2),
        "errors": len(errors),
        "error_examples": errors[:3],
        "summary": summarise(latencies, wall_s=wall),
        "samples_ms": [round(x, 2) for x in latencies],
    }


def concurrency(url: str, photos: list, levels: tuple[int, ...], seconds: float) -> dict:
    return {str(n): load(url, photos, n, seconds=seconds) for n in levels}


def memory_growth(url: str, photos: list, pids: dict[str, int], requests: int) -> dict:
    """RSS of each tier before and after ``requests`` requests (4 clients), after a warm-up."""
    load(url, photos, 4, requests=40)
    before = {name: memory_mb(pid) for name, pid in pids.items()}
    run = load(url, photos, 4, requests=requests)
    after = {name: memory_mb(pid) for name, pid in pids.items()}
    return {
        "requests": requests,
        "errors": run["errors"],
        "per_s": run["summary"].get("per_s"),
        "tiers": {
            name: {
                "rss_before_mb": before[name].get("rss_mb"),
                "rss_after_mb": after[name].get("rss_mb"),
                "growth_mb": round(after[name].get("rss_mb", 0) - before[name].get("rss_mb", 0), 1),
                "peak_rss_mb": after[name].get("peak_rss_mb"),
            }
            for name in pids
        },
    }
