"""The Gradio app: a `/predict` API in the documented byte-list format, and a UI for people."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np

from model_package import MODEL_NAME, Detector, ImageDecodeError, encode_image
from model_package.wire import WireFormatError, decode_bytes, encode_bytes

from . import service
from .settings import SpaceSettings


def build_app(detector: Detector, settings: SpaceSettings) -> gr.Blocks:
    def predict(image: str, min_confidence: float = 0.5) -> str:
        """Detect objects in an image sent as a JSON list of its file's bytes (ints 0-255).

        Returns JSON: model, width, height, detections [{label, confidence, box}], the annotated
        PNG as a JSON byte list under "image", and timings_ms."""
        if not 0.0 <= float(min_confidence) <= 1.0:
            raise gr.Error("min_confidence must be between 0 and 1.")
        try:
            result = service.run(
                detector, decode_bytes(image), float(min_confidence), settings.max_pixels
            )
        except (WireFormatError, ImageDecodeError) as exc:
            raise gr.Error(str(exc)) from exc
        return json.dumps(
            {
                "model": MODEL_NAME,
                "width": result.width,
                "height": result.height,
                "detections": [d.to_dict() for d in result.detections],
                "image": encode_bytes(result.annotated_png),
                "timings_ms": result.timings_ms,
            }
        )

    def detect_ui(image: np.ndarray | None, min_confidence: float):
        if image is None:
            raise gr.Error("Choose a photo first.")
        # The UI hands over decoded pixels; go through the same path as the API by encoding.
        try:
            result = service.run(
                detector, encode_image(image, "png"), min_confidence, settings.max_pixels
            )
        except ImageDecodeError as exc:
            raise gr.Error(str(exc)) from exc
        rows = [
            [d.label, round(d.confidence, 3), *(round(v) for v in vars(d.box).values())]
            for d in result.detections
        ]
        return result.annotated, rows

    with gr.Blocks(title="Object detection · SSDLite MobileNetV2") as demo:
        gr.Markdown(
            "# Object detection\nSSDLite MobileNetV2 trained on COCO (90 labels), run by OpenCV."
        )
        with gr.Row():
            with gr.Column():
                photo = gr.Image(label="Photo", type="numpy", image_mode="RGB")
                confidence = gr.Slider(0.05, 1.0, value=0.5, step=0.05, label="Minimum confidence")
                button = gr.Button("Detect", variant="primary")
            with gr.Column():
                annotated = gr.Image(label="Detections", type="numpy", interactive=False)
                table = gr.Dataframe(
                    headers=["label", "confidence", "x_min", "y_min", "x_max", "y_max"],
                    label="Objects found",
                    interactive=False,
                )
        button.click(
            detect_ui,
            [photo, confidence],
            [annotated, table],
            api_name="detect_ui",
            concurrency_limit=settings.concurrency,
            concurrency_id="detector",
        )
        gr.api(
            predict,
            api_name="predict",
            concurrency_limit=settings.concurrency,
            concurrency_id="detector",
        )
    return demo
