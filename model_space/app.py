"""The Gradio app: a `/predict` API in the documented byte-list format, and a UI for people."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

import gradio as gr
import numpy as np

from model_package import LABELS, MODEL_NAME, DetectOptions, Detector, ImageDecodeError
from model_package import parse_classes
from model_package.wire import WIRES, WireFormatError

from . import service
from .settings import SpaceSettings

logger = logging.getLogger("model_space")

IMAGE_FORMATS = ("png", "jpeg")
EXAMPLES = sorted((Path(__file__).parent / "examples").glob("*.jpg"))
WIRE_DOCS = {
    "bytelist": "a JSON text holding a list of integers 0-255",
    "base64": "a base64 string",
}


def build_app(detector: Detector, settings: SpaceSettings) -> gr.Blocks:
    def make_predict(wire_name: str):
        wire = WIRES[wire_name]
        max_chars = int(settings.max_upload_bytes * wire.chars_per_byte) + 2
        too_large = f"The file is larger than the {settings.max_upload_bytes:,} byte limit."

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
            start = time.perf_counter()
            try:
                if len(image) > max_chars:  # cheap bound before parsing the text
                    raise ValueError(too_large)
                options = DetectOptions(
                    min_confidence=float(min_confidence),
                    nms_iou=float(nms_iou),
                    max_detections=int(max_detections),
                    classes=parse_classes(classes),
                )
                if image_format not in IMAGE_FORMATS:
                    raise ValueError(f"image_format must be one of: {', '.join(IMAGE_FORMATS)}.")
                data = wire.decode(image)
                if len(data) > settings.max_upload_bytes:
                    raise ValueError(too_large)
                result = service.run(
                    detector, data, options, settings.max_pixels, bool(annotate), image_format
                )
            except (WireFormatError, ImageDecodeError, ValueError, TypeError) as exc:
                logger.info("request_id=%s rejected: %s", request_id or "-", exc)
                raise gr.Error(str(exc)) from exc
            logger.info(
                "request_id=%s wire=%s bytes=%d size=%dx%d detections=%d ms=%.1f",
                request_id or "-",
                wire_name,
                len(data),
                result.width,
                result.height,
                len(result.detections),
                (time.perf_counter() - start) * 1000,
            )
            return json.dumps(
                {
                    "model": MODEL_NAME,
                    "width": result.width,
                    "height": result.height,
                    "detections": [d.to_dict() for d in result.detections],
                    "image": wire.encode(result.encoded) if result.encoded is not None else None,
                    "image_format": image_format if result.encoded is not None else None,
                    "timings_ms": result.timings_ms,
                }
            )

        predict.__doc__ = (
            f"Detect objects in an image file whose bytes are sent as {WIRE_DOCS[wire_name]}.\n\n"
            "classes: comma list of labels to keep (empty = all). Returns JSON: model, width, "
            "height, detections [{label, confidence, box}], the annotated image under 'image' "
            "in the same wire format (null if annotate is false), image_format, timings_ms."
        )
        return predict

    def labels() -> str:
        """The labels the model can detect, as a JSON list."""
        return json.dumps(list(LABELS))

    def detect_ui(image: np.ndarray | None, min_confidence: float, classes: list[str] | None):
        if image is None:
            return None, [], []
        options = DetectOptions(
            min_confidence=min_confidence, classes=frozenset(classes) if classes else None
        )
        result = service.analyse(detector, image, options)
        rows = [
            [d.label, round(d.confidence, 3), *(round(v) for v in vars(d.box).values())]
            for d in result.detections
        ]
        counts = Counter(d.label for d in result.detections).most_common()
        return result.annotated, rows, [list(c) for c in counts]

    with gr.Blocks(title="Object detection · SSDLite MobileNetV2") as demo:
        gr.Markdown(
            "# Object detection\n"
            "Drop, paste or take a photo: SSDLite MobileNetV2 (COCO, 80 labels) finds the objects "
            "in it. The same model answers the API below (`/predict`)."
        )
        with gr.Row():
            with gr.Column():
                photo = gr.Image(
                    label="Photo",
                    type="numpy",
                    image_mode="RGB",
                    sources=["upload", "clipboard", "webcam"],
                )
                confidence = gr.Slider(0.05, 1.0, value=0.5, step=0.05, label="Minimum confidence")
                classes = gr.Dropdown(
                    choices=list(LABELS),
                    multiselect=True,
                    label="Only these labels (empty: all)",
                )
                button = gr.Button("Detect", variant="primary")
            with gr.Column():
                annotated = gr.Image(label="Detections", type="numpy", interactive=False)
                counts = gr.Dataframe(
                    headers=["label", "count"], label="Count per label", interactive=False
                )
                table = gr.Dataframe(
                    headers=["label", "confidence", "x_min", "y_min", "x_max", "y_max"],
                    label="Objects found",
                    interactive=False,
                )
        inputs, outputs = [photo, confidence, classes], [annotated, table, counts]
        limit = {"concurrency_limit": settings.concurrency, "concurrency_id": "detector"}
        gr.Examples(
            examples=[[str(path)] for path in EXAMPLES],
            inputs=[photo],
            label="Examples (CC0 / public-domain photos, see examples/LICENSES.md)",
            examples_per_page=len(EXAMPLES),
        )
        button.click(detect_ui, inputs, outputs, api_name="detect_ui", **limit)
        # A new photo (uploaded, pasted, taken or an example) or a changed control re-runs
        # detection; the slider fires on release, not on every step of a drag.
        confidence.release(detect_ui, inputs, outputs, api_visibility="private", **limit)
        classes.change(detect_ui, inputs, outputs, api_visibility="private", **limit)
        photo.change(detect_ui, inputs, outputs, api_visibility="private", **limit)
        gr.api(make_predict("bytelist"), api_name="predict", **limit)
        gr.api(make_predict("base64"), api_name="predict_base64", **limit)
        gr.api(labels, api_name="labels")
    return demo
