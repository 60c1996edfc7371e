"""What the Space does with one request, free of Gradio: bytes in, annotated image and boxes out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from model_package import DetectOptions, Detection, Detector, decode_image, draw_detections
from model_package import encode_image


@dataclass(frozen=True)
class Result:
    width: int
    height: int
    detections: list[Detection]
    annotated: np.ndarray | None  # None when not asked to annotate
    encoded: bytes | None  # the annotated image in the requested format
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def analyse(
    detector: Detector,
    image: np.ndarray,
    options: DetectOptions,
    annotate: bool = True,
    image_format: str = "png",
) -> Result:
    """Detect on decoded pixels; draw and encode the annotated copy when asked."""
    start = time.perf_counter()
    detections = detector.detect(image, options)
    timings = {"inference": _ms(start), "draw": 0.0, "encode": 0.0}
    annotated = encoded = None
    if annotate:
        start = time.perf_counter()
        annotated = draw_detections(image, detections)
        timings["draw"] = _ms(start)
        start = time.perf_counter()
        encoded = encode_image(annotated, image_format)
        timings["encode"] = _ms(start)
    return Result(image.shape[1], image.shape[0], detections, annotated, encoded, timings)


def run(
    detector: Detector,
    data: bytes,
    options: DetectOptions,
    max_pixels: int,
    annotate: bool = True,
    image_format: str = "png",
) -> Result:
    """Decode the file's bytes, then ``analyse``; raises ImageDecodeError for non-images."""
    start = time.perf_counter()
    image = decode_image(data, max_pixels=max_pixels)
    decode_ms = _ms(start)
    result = analyse(detector, image, options, annotate, image_format)
    result.timings_ms["decode"] = decode_ms
    return result
