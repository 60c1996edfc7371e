"""A stand-in for model_space that follows the Space API contract, without a model.

Run as ``python tests/fake_space.py PORT``. It serves, like the real Space:

* ``/predict(image, min_confidence, classes, max_detections, nms_iou, annotate, image_format,
  request_id) -> str``: two fixed detections ("cat" 0.75, "dog" 0.6) filtered by the options,
  and the uploaded image re-encoded as PNG or JPEG (null when ``annotate`` is false);
* ``/labels() -> str``: a short JSON list of labels.

Environment: ``FAKE_SPACE_DELAY_S`` makes every ``/predict`` sleep first (the gateway's time
limit and in-flight bound at work); ``FAKE_SPACE_CONCURRENCY`` is how many calls run at once
(default 8). Every ``/predict`` call's options are kept, and ``/calls(request_id) -> str``
answers them (a JSON list) so tests can see exactly what arrived; they are also printed.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import time

import gradio as gr
from PIL import Image

DELAY_S = float(os.environ.get("FAKE_SPACE_DELAY_S", "0"))
CONCURRENCY = int(os.environ.get("FAKE_SPACE_CONCURRENCY", "8"))
CALLS: list[dict] = []  # the options of every /predict call, for /calls
LABELS = ["person", "bicycle", "car", "cat", "dog", "cup"]
DETECTIONS = [
    {"label": "cat", "confidence": 0.75, "box": dict(x_min=1.0, y_min=2.0, x_max=3.0, y_max=4.0)},
    {"label": "dog", "confidence": 0.6, "box": dict(x_min=5.0, y_min=6.0, x_max=7.5, y_max=8.5)},
]


def _predict(
    decode,
    encode,
    image: str,
    min_confidence: float = 0.5,
    classes: str = "",
    max_detections: int = 100,
    nms_iou: float = 0.5,
    annotate: bool = True,
    image_format: str = "png",
    request_id: str = "",
) -> str:
    """The contract of the real Space's /predict, with fixed detections."""
    options = {
        "request_id": request_id,
        "min_confidence": min_confidence,
        "classes": classes,
        "max_detections": max_detections,
        "nms_iou": nms_iou,
        "annotate": annotate,
        "image_format": image_format,
    }
    print("predict " + json.dumps(options), flush=True)
    CALLS.append(options)
    if DELAY_S:
        time.sleep(DELAY_S)
    if image_format not in ("png", "jpeg"):
        raise gr.Error("image_format must be png or jpeg.")
    try:
        data = decode(image)
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except Exception:
        raise gr.Error(
            "Could not decode the image. Accepted formats: JPEG, PNG, WebP, BMP, TIFF, GIF."
        )
    wanted = {c.strip() for c in classes.split(",") if c.strip()}
    unknown = wanted - set(LABELS)
    if unknown:
        raise gr.Error(f"Unknown labels: {', '.join(sorted(unknown))}.")
    detections = [
        d
        for d in DETECTIONS
        if d["confidence"] >= min_confidence and (not wanted or d["label"] in wanted)
    ][: int(max_detections)]
    picture = None
    if annotate:
        out = io.BytesIO()
        rgb.save(out, format="PNG" if image_format == "png" else "JPEG")
        picture = encode(out.getvalue())
    return json.dumps(
        {
            "model": "fake_space",
            "width": rgb.width,
            "height": rgb.height,
            "detections": detections,
            "image": picture,
            "image_format": image_format if annotate else None,
            "timings_ms": {
                "decode": 1.0,
                "inference": 2.0,
                "draw": 3.0 if annotate else 0.0,
                "encode": 4.0 if annotate else 0.0,
            },
        }
    )


def predict(
    image: str,
    min_confidence: float = 0.5,
    classes: str = "",
    max_detections: int = 100,
    nms_iou: float = 0.5,
    annotate: bool = True,
    image_format: str = "png",
    request_id: str = "",
) -> str:
    """/predict: the image as a JSON list of byte values."""
    return _predict(
        _from_list,
        _to_list,
        image,
        min_confidence,
        classes,
        max_detections,
        nms_iou,
        annotate,
        image_format,
        request_id,
    )


def predict_base64(
    image: str,
    min_confidence: float = 0.5,
    classes: str = "",
    max_detections: int = 100,
    nms_iou: float = 0.5,
    annotate: bool = True,
    image_format: str = "png",
    request_id: str = "",
) -> str:
    """/predict_base64: the image as base64."""
    return _predict(
        base64.b64decode,
        _to_base64,
        image,
        min_confidence,
        classes,
        max_detections,
        nms_iou,
        annotate,
        image_format,
        request_id,
    )


def _from_list(text: str) -> bytes:
    return bytes(json.loads(text))


def _to_list(data: bytes) -> str:
    return json.dumps(list(data))


def _to_base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def labels() -> str:
    """The label names, as a JSON list."""
    return json.dumps(LABELS)


def calls(request_id: str) -> str:
    """Test helper: the options of the /predict calls made with ``request_id``, as JSON."""
    return json.dumps([c for c in CALLS if c["request_id"] == request_id])


def main() -> None:
    port = int(sys.argv[1])
    with gr.Blocks() as demo:
        gr.api(predict, api_name="predict", concurrency_limit=CONCURRENCY)
        gr.api(predict_base64, api_name="predict_base64", concurrency_limit=CONCURRENCY)
        gr.api(labels, api_name="labels", concurrency_limit=None)
        gr.api(calls, api_name="calls", concurrency_limit=None)
    demo.queue(default_concurrency_limit=CONCURRENCY).launch(
        server_name="127.0.0.1", server_port=port, show_error=True
    )


if __name__ == "__main__":
    main()
