"""Stages 1 and 2, and the package's memory, measured in a process of their own.

``python -m bench.inprocess OUT.json [--quick]``: the package's steps one by one (decode,
pre-process, forward, post-process, draw, encode) on every photo, then the converted graph on
``cv2.dnn`` and on ``onnxruntime`` side by side (same input, interleaved), then the process's
peak RSS and its growth over many ``detect`` + draw + encode calls."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from model_package import (
    DetectOptions,
    Detector,
    PackageSettings,
    decode_image,
    draw_detections,
    encode_image,
)
from model_package.convert import BOXES_NAME, CLASSES_NAME, INPUT_NAME, ensure_converted

from . import photos as photo_set
from .procinfo import memory_mb
from .stats import summarise

STAGES = ("decode", "preprocess", "forward", "postprocess", "draw", "encode")
# Repetitions of each photo, per size (fewer for the big ones: decode + encode take seconds).
REPEATS = {"0.3MP": 8, "1MP": 6, "3MP": 3, "12MP": 1}
QUICK_REPEATS = {"0.3MP": 2, "1MP": 2, "3MP": 1, "12MP": 1}


def _clock() -> float:
    return time.perf_counter() * 1000.0


def package_stages(detector: Detector, photos: list, repeats: dict) -> dict:
    """Per (size, format): every stage's latency summary, and the model path (pre+fwd+post)."""
    options = DetectOptions()
    results = {}
    for size in photo_set.SIZES:
        for fmt in photo_set.FORMATS:
            group = photo_set.select(photos, size, fmt)
            blobs = [(p, p.data) for p in group]
            samples: dict[str, list[float]] = {s: [] for s in STAGES}
            samples["model"] = []
            detector.detect(decode_image(blobs[0][1]))  # first call per size: cold caches
            for _ in range(repeats[size]):
                for photo, data in blobs:
                    t0 = _clock()
                    image = decode_image(data)
                    t1 = _clock()
                    blob = detector.preprocess(image)
                    t2 = _clock()
                    encodings, logits = detector.run(blob)
                    t3 = _clock()
                    found = detector.postprocess(encodings, logits, image.shape[:2], options)
                    t4 = _clock()
                    annotated = draw_detections(image, found)
                    t5 = _clock()
                    encode_image(annotated, "png")
                    t6 = _clock()
                    for stage, ms in zip(
                        STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
                    ):
                        samples[stage].append(ms)
                    samples["model"].append(t4 - t1)
            results[f"{size}/{fmt}"] = {
                "megapixels": round(float(np.mean([p.megapixels for p in group])), 2),
                "bytes": int(np.mean([len(d) for _, d in blobs])),
                "stages": {k: summarise(v) for k, v in samples.items()},
                "samples_ms": {k: [round(x, 3) for x in v] for k, v in samples.items()},
            }
    return results


def model_path(detectors: dict[str, Detector], photos: list, rounds: int) -> dict:
    """pre-process + forward + post-process per backend on the same photos, interleaved."""
    images = [decode_image(p.data) for p in photos]
    samples: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(rounds):
        for name, detector in detectors.items():
            for image in images:
                t0 = _clock()
                encodings, logits = detector.run(detector.preprocess(image))
                detector.postprocess(encodings, logits, image.shape[:2])
                samples[name].append(_clock() - t0)
    return {
        name: {"summary": summarise(v), "samples_ms": [round(x, 3) for x in v]}
        for name, v in samples.items()
    }


def engines_side_by_side(detectors: dict[str, Detector], image: np.ndarray, rounds: int) -> dict:
    """The same blob through cv2.dnn and onnxruntime as a user of each would set them up (their
    defaults), and through the package's two engines; interleaved in small blocks."""
    import onnxruntime as ort

    onnx_path = str(ensure_converted(PackageSettings.from_env()).onnx_path)
    net = cv2.dnn.readNetFromONNX(onnx_path)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    blob = np.ascontiguousarray(next(iter(detectors.values())).preprocess(image))

    def run_cv2():
        net.setInput(blob)
        return net.forward([BOXES_NAME, CLASSES_NAME])

    def run_ort():
        return session.run([BOXES_NAME, CLASSES_NAME], {INPUT_NAME: blob})

    runners = {"cv2.dnn (defaults)": run_cv2, "onnxruntime (defaults)": run_ort}
    for name, detector in detectors.items():
        runners[f"package engine: {name}"] = lambda d=detector: d.run(blob)
    outputs = {name: run() for name, run in runners.items()}  # warm-up, and the outputs
    reference = outputs["onnxruntime (defaults)"]
    max_diff = float(
        max(
            np.abs(np.asarray(a).reshape(-1) - np.asarray(b).reshape(-1)).max()
            for a, b in zip(outputs["cv2.dnn (defaults)"], reference)
        )
    )
    samples: dict[str, list[float]] = {name: [] for name in runners}
    # Blocks of runs per engine, the first few of each block discarded: an engine's idle
    # threads (onnxruntime's spin, cv2's pool) must not be timed against the next engine.
    for _ in range(max(rounds // 4, 1)):
        for name, run in runners.items():
            for i in range(25):
                t0 = _clock()
                run()
                if i >= 5:
                    samples[name].append(_clock() - t0)
    summaries = {name: summarise(v) for name, v in samples.items()}
    return {
        "engines": {
            name: {"summary": summaries[name], "samples_ms": [round(x, 3) for x in v]}
            for name, v in samples.items()
        },
        "cv2_over_ort": round(
            summaries["cv2.dnn (defaults)"]["median_ms"]
            / summaries["onnxruntime (defaults)"]["median_ms"],
            3,
        ),
        "max_abs_output_difference": max_diff,
        "opencv_threads": cv2.getNumThreads(),
        "onnxruntime_version": ort.__version__,
        "opencv_version": cv2.__version__,
    }


def package_memory(detector: Detector, photos: list, requests: int) -> dict:
    """RSS before and after ``requests`` decode + detect + draw + encode calls."""
    datas = [p.data for p in photos]

    def one(i: int) -> None:
        image = decode_image(datas[i % len(datas)])
        encode_image(draw_detections(image, detector.detect(image)), "png")

    for i in range(20):
        one(i)
    gc.collect()
    before = memory_mb()
    for i in range(requests):
        one(i)
    gc.collect()
    after = memory_mb()
    return {
        "requests": requests,
        "rss_before_mb": before.get("rss_mb"),
        "rss_after_mb": after.get("rss_mb"),
        "growth_mb": round(after.get("rss_mb", 0) - before.get("rss_mb", 0), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-requests", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = PackageSettings.from_env()
    photos = photo_set.build(settings.cache_dir)
    started = time.perf_counter()
    load_ms = {}
    detectors = {}
    for backend in ("onnxruntime", "opencv"):
        t0 = _clock()
        detector = Detector.load(PackageSettings(settings.weights_dir, settings.cache_dir, backend))
        detector.warm_up()
        load_ms[backend] = round(_clock() - t0, 1)
        detectors[backend] = detector
    default = detectors[settings.backend]
    result: dict = {"default_backend": settings.backend, "load_and_warm_up_ms": load_ms}
    print(f"  package stages ({settings.backend})...", file=sys.stderr, flush=True)
    result["stages"] = package_stages(default, photos, QUICK_REPEATS if args.quick else REPEATS)
    print("  model path per backend...", file=sys.stderr, flush=True)
    result["model_path"] = model_path(
        detectors, photo_set.select(photos, "1MP", "jpeg"), 3 if args.quick else 15
    )
    print("  engines side by side...", file=sys.stderr, flush=True)
    coffee = decode_image(photo_set.select(photos, "1MP", "jpeg")[1].data)
    result["engines"] = engines_side_by_side(detectors, coffee, 6 if args.quick else 40)
    del detectors["opencv" if settings.backend != "opencv" else "onnxruntime"]
    gc.collect()
    requests = 100 if args.quick else args.memory_requests
    print(f"  package memory over {requests} requests...", file=sys.stderr, flush=True)
    result["memory"] = package_memory(default, photo_set.select(photos, "0.3MP"), requests)
    result["memory"]["peak_rss_mb"] = memory_mb().get("peak_rss_mb")
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
