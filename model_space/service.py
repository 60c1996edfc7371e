"""What the Space does with one request, free of Gradio: bytes in, annotated image and boxes out."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from model_package import Detection, Detector, decode_image, draw_detections, encode_image


@dataclass(frozen=True)
class Result:
    width: int
    height: int
    detections: list[Detection]
    annotated: np.ndarray
    annotated_png: bytes
    timings_ms: dict[str, float]


def run(detector: Detector, data: bytes, min_confidence: float, max_pixels: int) -> Result:
    """Decode, detect, draw and encode; raises ImageDecodeError for bytes that are no image."""
    marks = [time.perf_counter()]
    image = decode_image(data, max_pixels=max_pixels)
    marks.append(time.perf_counter())
    detections = detector.detect(image, min_confidence=min_confidence)
    marks.append(time.perf_counter())
    annotated = draw_detections(image, detections)
    marks.append(time.perf_counter())
    png = encode_image(annotated, "png")
    marks.append(time.perf_counter())
    steps = ("decode", "inference", "draw", "encode")
    timings = {s: round((b - a) * 1000, 2) for s, a, b in zip(steps, marks, marks[1:])}
    return Result(image.shape[1], image.shape[0], detections, annotated, png, timings)
