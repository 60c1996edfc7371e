"""``python -m bench`` (``make bench``): speed, throughput and memory of every tier.

Runs on 127.0.0.1 only and stops by itself in a few minutes. It measures:

1. inside the package, in a process of its own: decode, pre-process, forward, post-process,
   drawing and PNG encoding, on photos of about 0.3, 1, 3 and 12 megapixels, JPEG and PNG;
2. the converted graph on ``cv2.dnn`` and on ``onnxruntime``, same input, interleaved;
3. the Space's API through ``gradio_client``: ``/predict`` (byte list) and ``/predict_base64``;
4. the gateway end to end (POST /v1/detect), one gateway per Space wire format
   (``GATEWAY_SPACE_WIRE=bytelist|base64``; the Space's log tells which one it really used);
5. 1, 2, 4 and 8 concurrent clients against the gateway: images per second and latency;

then each tier's peak RSS and its growth over 1000 requests, and the cold start (process start
to first answer, model cached) of the Space and the gateway. It prints a table and writes
``bench/results/bench-<time>.json`` (also ``latest.json``) and ``bench/results/latency.png``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from model_package import PackageSettings

from . import photos as photo_set
from . import remote
from .procinfo import memory_mb
from .services import HOST, ROOT, Service, child_env, free_port
from .stats import fmt, table

RESULTS = ROOT / "bench" / "results"
# Photo sizes sent to the Space and the gateway. 12 MP is measured in the package only: a
# byte-list round trip of its annotated PNG (~20 MB, ~70 MB of JSON text) takes ~30 s.
SIZES_JPEG = ("0.3MP", "1MP", "3MP")
SPACE_REPEATS = {"0.3MP": 12, "1MP": 16, "3MP": 4, "1MP-png": 8}
GATEWAY_REPEATS = {"0.3MP": 12, "1MP": 20, "3MP": 4, "1MP-png": 8}
QUICK_REPEATS = {"0.3MP": 2, "1MP": 4, "3MP": 1, "1MP-png": 2}
LEVELS = (1, 2, 4, 8)


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def machine() -> dict:
    info = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket"):
                info[key.strip()] = value.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()[0]
        info["memory_gb"] = round(int(meminfo.split()[1]) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass
    return info


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def start_space(log: Path, photo, backend: str | None) -> tuple[Service, float, str]:
    port = free_port()
    overrides = {"MODEL_SPACE_HOST": HOST, "MODEL_SPACE_PORT": str(port)}
    if backend:
        overrides["MODEL_BACKEND"] = backend
    url = f"http://{HOST}:{port}/"
    service = Service("Space", "model_space", child_env(**overrides), log)
    data = photo.data

    def ask() -> None:
        remote.space_predict(remote.space_client(url), "bytelist", data)

    return service, service.wait_first_answer(ask, 180), url


def start_gateway(log: Path, space_url: str, wire: str, photo) -> tuple[Service, float, str]:
    port = free_port()
    env = child_env(
        GATEWAY_HOST=HOST,
        GATEWAY_PORT=str(port),
        GATEWAY_SPACE_URL=space_url,
        GATEWAY_SPACE_WIRE=wire,
        GATEWAY_WEB_DIR="",
    )
    url = f"http://{HOST}:{port}"
    service = Service(f"gateway ({wire})", "api_gateway", env, log)
    data = photo.data

    def ask() -> None:
        with httpx.Client(timeout=60) as http:
            remote.gateway_detect(http, url, photo, data)

    return service, service.wait_first_answer(ask, 120), url


def run_inprocess(args, out_dir: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inprocess.json"
        command = [sys.executable, "-m", "bench.inprocess", str(path)]
        command += ["--quick"] if args.quick else []
        command += ["--memory-requests", str(args.memory_requests)]
        env = child_env(**({"MODEL_BACKEND": args.backend} if args.backend else {}))
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke test)")
    parser.add_argument("--backend", choices=("onnxruntime", "opencv"), help="MODEL_BACKEND")
    parser.add_argument("--seconds", type=float, default=6.0, help="per concurrency level")
    parser.add_argument("--memory-requests", type=int, default=1000)
    parser.add_argument("--cold-starts", type=int, default=3, help="per tier")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.memory_requests, args.cold_starts = 3.0, 100, 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    report: dict = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": machine(),
        "load_average_start": load_average(),
        "quick": args.quick,
    }
    say(f"machine: {report['machine']}; load average {report['load_average_start']}")

    settings = PackageSettings.from_env()
    say("photos (built once into the model cache)...")
    photos = photo_set.build(settings.cache_dir)
    report["photos"] = [
        {
            "name": p.name,
            "size": p.size,
            "format": p.fmt,
            "width": p.width,
            "height": p.height,
            "bytes": p.path.stat().st_size,
        }
        for p in photos
    ]
    small_jpeg = photo_set.select(photos, "0.3MP", "jpeg")
    jpeg_1mp = photo_set.select(photos, "1MP", "jpeg")
    by_size = {size: photo_set.select(photos, size, "jpeg") for size in SIZES_JPEG}
    by_size["1MP-png"] = photo_set.select(photos, "1MP", "png")

    say("stages 1-2: the package in-process, and cv2.dnn against onnxruntime...")
    report["package"] = run_inprocess(args, out)

    services: list[Service] = []
    cold: dict[str, list[float]] = {"space_ms": [], "gateway_ms": []}
    try:
        say("starting the Space...")
        space, cold_ms, space_url = start_space(out / "space.log", small_jpeg[0], args.backend)
        services.append(space)
        cold["space_ms"].append(round(cold_ms, 1))
        client = remote.space_client(space_url)

        say("stage 3: the Space's API over gradio_client, byte list against base64...")
        repeats = QUICK_REPEATS if args.quick else SPACE_REPEATS
        report["space"] = remote.space_wires(client, by_size, repeats)
        say("stage 3b: the same calls over plain HTTP, without gradio_client...")
        report["space_plain_http"] = remote.space_wires(
            remote.SpaceHTTP(space_url), {k: by_size[k] for k in ("0.3MP", "1MP")}, repeats
        )

        say("starting one gateway per Space wire format...")
        gateways = {}
        for wire in ("bytelist", "base64"):
            before = space.log_text().count(f"wire={wire}")
            service, cold_ms, url = start_gateway(
                out / f"gateway-{wire}.log", space_url, wire, small_jpeg[0]
            )
            services.append(service)
            cold["gateway_ms"].append(round(cold_ms, 1))
            used = space.log_text().count(f"wire={wire}") > before
            gateways[wire] = {"url": url, "service": service, "honoured": used}
        compact = "base64" if gateways["base64"]["honoured"] else "bytelist"
        report["gateway_space_wire_honoured"] = {w: g["honoured"] for w, g in gateways.items()}
        if compact != "base64":
            say("the gateway ignores GATEWAY_SPACE_WIRE=base64: it still sends byte lists")

        say("stage 4: the gateway end to end...")
        repeats = QUICK_REPEATS if args.quick else GATEWAY_REPEATS
        urls = {w: g["url"] for w, g in gateways.items() if g["honoured"]}
        report["gateway"] = remote.gateway_wires(urls, by_size, repeats)
        report["gateway_compact_wire"] = compact
        for wire, g in gateways.items():
            if wire != compact:
                g["service"].stop()
                services.remove(g["service"])
        gateway = gateways[compact]

        say(f"stage 5: 1-8 clients against the gateway ({compact}), {args.seconds:g} s each...")
        report["concurrency"] = remote.concurrency(gateway["url"], jpeg_1mp, LEVELS, args.seconds)

        say(f"memory: {args.memory_requests} requests of 0.3 MP JPEGs (4 clients)...")
        pids = {"space": space.pid, "gateway": gateway["service"].pid}
        report["memory"] = remote.memory_growth(
            gateway["url"], small_jpeg, pids, args.memory_requests
        )
        report["memory"]["bench_process"] = memory_mb()
    finally:
        for service in reversed(services):
            service.stop()

    say(f"cold starts ({args.cold_starts} per tier, the first were measured above)...")
    for _ in range(args.cold_starts - 1):
        space, cold_ms, space_url = start_space(out / "space.log", small_jpeg[0], args.backend)
        cold["space_ms"].append(round(cold_ms, 1))
        try:
            gw, cold_ms, _ = start_gateway(
                out / f"gateway-{compact}.log", space_url, compact, small_jpeg[0]
            )
            cold["gateway_ms"].append(round(cold_ms, 1))
            gw.stop()
        finally:
            space.stop()
    report["cold_start"] = cold
    report["load_average_end"] = load_average()
    report["seconds"] = round(time.perf_counter() - began, 1)
    report["targets"] = targets(report)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(report, indent=1)
    (out / f"bench-{stamp}.json").write_text(text)
    (out / "latest.json").write_text(text)
    from .chart import draw

    draw(report, out / "latency.png")
    print(render(report))
    say(f"wrote {out / f'bench-{stamp}.json'} and {out / 'latency.png'} in {report['seconds']} s")
    return 0


def _median(block: dict) -> float:
    return block["summary"]["median_ms"] if "summary" in block else block["median_ms"]


def targets(report: dict) -> dict:
    pkg = report["package"]
    engines = pkg["engines"]["engines"]
    fastest_engine = min(
        _median(engines["cv2.dnn (defaults)"]), _median(engines["onnxruntime (defaults)"])
    )
    package_forward = _median(engines[f"package engine: {pkg['default_backend']}"])
    model_1mp = pkg["stages"]["1MP/jpeg"]["stages"]["model"]["median_ms"]
    gw = report["gateway"]["1MP"]["wires"]
    compact = report["gateway_compact_wire"]
    e2e = _median(gw[compact])
    conc = report["concurrency"]
    one, four = (conc[n]["summary"].get("per_s", 0.0) for n in ("1", "4"))
    growth = {k: v["growth_mb"] for k, v in report["memory"]["tiers"].items()}
    growth["package"] = pkg["memory"]["growth_mb"]
    cold = {k: min(v) for k, v in report["cold_start"].items()}
    cold_median = {k: sorted(v)[len(v) // 2] for k, v in report["cold_start"].items()}
    return {
        "package_forward_over_fastest_engine": round(package_forward / fastest_engine, 3),
        "package_forward_ms": package_forward,
        "fastest_engine_ms": fastest_engine,
        "gateway_1mp_jpeg_ms": e2e,
        "model_path_1mp_jpeg_ms": model_1mp,
        "gateway_over_model_path": round(e2e / model_1mp, 2),
        "gateway_bytelist_over_compact": report["gateway"]["1MP"].get("bytelist_over_base64"),
        "space_1mp_jpeg_ms": {w: _median(b) for w, b in report["space"]["1MP"]["wires"].items()},
        "space_plain_http_1mp_jpeg_ms": {
            w: _median(b) for w, b in report["space_plain_http"]["1MP"]["wires"].items()
        },
        "throughput_4_over_1": round(four / one, 2) if one else None,
        "concurrency_errors": sum(v["errors"] for v in conc.values()),
        "rss_growth_mb": growth,
        "cold_start_median_ms": cold_median,
        "cold_start_best_ms": cold,
        "met": {
            "model_path_vs_engines": package_forward <= fastest_engine * 1.05,
            "gateway_le_1.5x_model_path": e2e <= 1.5 * model_1mp,
            "throughput_4_ge_1.6x_1": bool(one) and four >= 1.6 * one,
            "rss_growth_lt_30mb": all(v < 30 for v in growth.values()),
            "cold_start_lt_5s": all(v < 5000 for v in cold_median.values()),
        },
    }


def render(report: dict) -> str:
    pkg = report["package"]
    parts = [
        f"Machine: {report['machine']}  load {report['load_average_start']} -> "
        f"{report['load_average_end']}"
    ]
    rows = []
    for key, block in pkg["stages"].items():
        st = block["stages"]
        rows.append(
            [key, f"{block['megapixels']:.2f}"]
            + [
                f"{fmt(st[s]['median_ms'])}/{fmt(st[s]['p95_ms'])}"
                for s in (
                    "decode",
                    "preprocess",
                    "forward",
                    "postprocess",
                    "draw",
                    "encode",
                    "model",
                )
            ]
            + [fmt(st["model"]["per_s"])]
        )
    parts.append(
        f"\n1. package stages, backend {pkg['default_backend']} "
        "(median/p95 ms; model = pre+fwd+post)\n"
        + table(
            rows,
            [
                "photos",
                "MP",
                "decode",
                "pre",
                "forward",
                "post",
                "draw",
                "encode png",
                "model",
                "model/s",
            ],
        )
    )
    eng = pkg["engines"]
    rows = [
        [
            name,
            fmt(b["summary"]["median_ms"], 2),
            fmt(b["summary"]["p95_ms"], 2),
            fmt(b["summary"]["per_s"]),
        ]
        for name, b in eng["engines"].items()
    ]
    rows += [
        [
            f"model path, package {name}",
            fmt(b["summary"]["median_ms"], 2),
            fmt(b["summary"]["p95_ms"], 2),
            fmt(b["summary"]["per_s"]),
        ]
        for name, b in pkg["model_path"].items()
    ]
    parts.append(
        f"\n2. forward pass, same blob (cv2.dnn / onnxruntime = {eng['cv2_over_ort']}x; "
        f"max |diff| {eng['max_abs_output_difference']:.1e})\n"
        + table(rows, ["engine", "median ms", "p95 ms", "per s"])
    )
    for title, key, extra in (
        ("3. the Space over gradio_client", "space", " (client encode + call + decode)"),
        ("3b. the Space over plain HTTP (no gradio_client)", "space_plain_http", ""),
        ("4. the gateway end to end, POST /v1/detect", "gateway", ""),
    ):
        rows = []
        for size, block in report[key].items():
            for wire, b in block["wires"].items():
                s = b["summary"]
                rows.append(
                    [
                        f"{size} {wire}",
                        fmt(s["median_ms"]),
                        fmt(s["p95_ms"]),
                        fmt(s["per_s"], 2),
                        str(block.get("bytelist_over_base64", "-")),
                    ]
                )
        parts.append(
            f"\n{title}{extra}\n"
            + table(
                rows,
                ["photos (JPEG unless png)", "median ms", "p95 ms", "per s", "bytelist/base64"],
            )
        )
    rows = [
        [
            n,
            fmt(b["summary"].get("per_s"), 2),
            fmt(b["summary"].get("median_ms")),
            fmt(b["summary"].get("p95_ms")),
            str(b["errors"]),
        ]
        for n, b in report["concurrency"].items()
    ]
    parts.append(
        f"\n5. concurrent clients, gateway ({report['gateway_compact_wire']}), 1 MP JPEG\n"
        + table(rows, ["clients", "images/s", "median ms", "p95 ms", "errors"])
    )
    mem = report["memory"]
    rows = [
        [
            name,
            fmt(t["peak_rss_mb"]),
            fmt(t["rss_before_mb"]),
            fmt(t["rss_after_mb"]),
            fmt(t["growth_mb"]),
        ]
        for name, t in mem["tiers"].items()
    ]
    pm = pkg["memory"]
    rows.append(
        [
            "package (in-process)",
            fmt(pm["peak_rss_mb"]),
            fmt(pm["rss_before_mb"]),
            fmt(pm["rss_after_mb"]),
            fmt(pm["growth_mb"]),
        ]
    )
    parts.append(
        f"\nmemory (MB; growth over {mem['requests']} requests)\n"
        + table(rows, ["tier", "peak RSS", "before", "after", "growth"])
    )
    parts.append(f"\ncold start, model cached (ms): {report['cold_start']}")
    parts.append("\ntargets: " + json.dumps(report["targets"], indent=1))
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
