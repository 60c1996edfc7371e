"""Draw detections on a copy of an image: boxes and "label 93%" tags, legible at any size."""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Iterable

import cv2
import numpy as np

from .detector import Detection

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_colour(label: str) -> tuple[int, int, int]:
    """A stable, saturated RGB colour per label."""
    hue = (zlib.crc32(label.encode()) % 360) / 360.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_detections(image: np.ndarray, detections: Iterable[Detection]) -> np.ndarray:
    """A copy of the RGB image with each detection's box and tag drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    short_side = min(h, w)
    font_scale = max(0.45, short_side / 800.0)  # about 10 px text on small photos, grows after
    thickness = max(2, round(short_side / 300.0))
    scale = font_scale / 0.6
    for det in detections:
        colour = label_colour(det.label)
        x0, y0 = int(round(det.box.x_min)), int(round(det.box.y_min))
        x1, y1 = int(round(det.box.x_max)), int(round(det.box.y_max))
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_AA)
        text = f"{det.label} {det.confidence:.0%}"
        (tw, th), baseline = cv2.getTextSize(text, _FONT, font_scale, max(thickness - 1, 1))
        pad = max(int(3 * scale), 2)
        top = y0 - th - baseline - 2 * pad
        if top < 0:  # no room above the box: put the tag inside it
            top = y0
        cv2.rectangle(
            out, (x0, top), (x0 + tw + 2 * pad, top + th + baseline + 2 * pad), colour, -1
        )
        text_colour = (0, 0, 0) if sum(colour) > 382 else (255, 255, 255)
        cv2.putText(
            out,
            text,
            (x0 + pad, top + pad + th),
            _FONT,
            font_scale,
            text_colour,
            max(thickness - 1, 1),
            cv2.LINE_AA,
        )
    return out
