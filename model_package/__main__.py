"""Command line: ``python -m model_package photo.jpg [more.jpg ...] --out DIR``.

Prints the detections as JSON and writes each annotated image into DIR. With ``--prepare`` it
only obtains and converts the weights (cached) and prints where the ONNX graph is."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from .codec import ImageDecodeError, decode_image, encode_image
from .convert import ensure_converted
from .detector import Detector
from .draw import draw_detections
from .options import DetectOptions, parse_classes
from .settings import PackageSettings
from .weights import WeightsError


def _parser() -> argparse.ArgumentParser:
    called = Path(sys.argv[0]).name
    prog = "python -m model_package" if called == "__main__.py" else called
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("images", nargs="*", type=Path, help="photos to run the detector on")
    p.add_argument("--prepare", action="store_true", help="fetch and convert the model, then exit")
    p.add_argument("--out", type=Path, help="folder for the annotated images (PNG)")
    p.add_argument("--weights", type=Path, help="folder with model.json and the shards")
    p.add_argument("--min-confidence", type=float, default=0.5)
    p.add_argument("--nms-iou", type=float, default=0.5)
    p.add_argument("--max-detections", type=int, default=100)
    p.add_argument("--classes", help="comma list of labels to keep (default: all)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.images and not args.prepare:
        parser.error("name at least one photo (or --prepare)")
    settings = PackageSettings.from_env()
    if args.weights:
        settings = replace(settings, weights_dir=args.weights)
    try:
        if args.prepare:
            start = time.perf_counter()
            paths = ensure_converted(settings)
            print(f"{paths.onnx_path} ({time.perf_counter() - start:.1f} s)")
            return 0
        detector = Detector.load(settings)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        options = DetectOptions(
            min_confidence=args.min_confidence,
            nms_iou=args.nms_iou,
            max_detections=args.max_detections,
            classes=parse_classes(args.classes),
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    results, status = {}, 0
    for path in args.images:
        try:
            image = decode_image(path.read_bytes())
        except (OSError, ImageDecodeError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        start = time.perf_counter()
        detections = detector.detect(image, options)
        elapsed_ms = (time.perf_counter() - start) * 1000
        results[str(path)] = {
            "width": image.shape[1],
            "height": image.shape[0],
            "detect_ms": round(elapsed_ms, 1),
            "detections": [d.to_dict() for d in detections],
        }
        if args.out:
            annotated = draw_detections(image, detections)
            (args.out / f"{path.stem}.annotated.png").write_bytes(encode_image(annotated))
    print(json.dumps(results, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
