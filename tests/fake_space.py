"""A stand-in for model_space that follows the Space API contract, without a model.

Run as ``python tests/fake_space.py PORT``. It serves ``/predict (image: str,
min_confidence: float) -> str`` like the real Space, answering one fixed detection and the
uploaded image re-encoded as PNG. ``FAKE_SPACE_DELAY_S`` makes every call sleep first, which
the tests use to see the gateway's time limit at work.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time

import gradio as gr
from PIL import Image

DELAY_S = float(os.environ.get("FAKE_SPACE_DELAY_S", "0"))


def predict(image: str, min_confidence: float) -> str:
    if DELAY_S:
        time.sleep(DELAY_S)
    try:
        data = bytes(json.loads(image))
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except Exception:
        raise gr.Error("Could not decode the image. Accepted formats: JPEG, PNG, WebP, BMP, TIFF.")
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    detections = [
        {
            "label": "fake",
            "confidence": 0.75,
            "box": {"x_min": 1.0, "y_min": 2.0, "x_max": 3.0, "y_max": 4.0},
        }
    ]
    return json.dumps(
        {
            "model": "fake_space",
            "width": rgb.width,
            "height": rgb.height,
            "detections": [d for d in detections if d["confidence"] >= min_confidence],
            "image": json.dumps(list(out.getvalue())),
            "timings_ms": {"decode": 1.0, "inference": 2.0, "draw": 3.0, "encode": 4.0},
        }
    )


def main() -> None:
    port = int(sys.argv[1])
    demo = gr.Interface(
        fn=predict,
        inputs=[gr.Textbox(label="image"), gr.Number(label="min_confidence", value=0.5)],
        outputs=gr.Textbox(label="result"),
        api_name="predict",
    )
    demo.queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1", server_port=port, show_error=True
    )


if __name__ == "__main__":
    main()
