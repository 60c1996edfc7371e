"""The detector: pre-process, run the converted graph with ``cv2.dnn``, decode and filter boxes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from .convert import BOXES_NAME, CLASSES_NAME, INPUT_SIZE, ConvertedModel, ensure_converted
from .labels import CLASS_NAMES
from .options import DetectOptions
from .settings import PackageSettings

MODEL_NAME = "ssdlite_mobilenet_v2_coco"

# Box encodings are (ty, tx, th, tw) divided by these scales (TF Object Detection API defaults).
_BOX_SCALES = np.array([10.0, 10.0, 5.0, 5.0], dtype=np.float32)
# At most this many (anchor, class) candidates, the highest scoring, go into NMS.
_MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Box:
    """Pixel coordinates in the image as given to ``detect``."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float


@dataclass(frozen=True)
class Detection:
    label: str
    confidence: float
    box: Box

    def to_dict(self) -> dict:
        return asdict(self)


def _axis_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of TF1 bilinear resize (no half-pixel centres, no corners)."""
    src = np.arange(out_size, dtype=np.float64) * (in_size / out_size)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_tf1(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize an HxWx3 image to size x size x 3 float32 exactly as the TF graph's ResizeBilinear.

    ``cv2.resize`` samples at half-pixel centres and would shift every box slightly."""
    h, w = image.shape[:2]
    y0, y1, fy = _axis_taps(h, size)
    x0, x1, fx = _axis_taps(w, size)
    top = image[y0].astype(np.float32)
    bottom = image[y1].astype(np.float32)
    fx = fx[None, :, None]
    top = top[:, x0] + (top[:, x1] - top[:, x0]) * fx
    bottom = bottom[:, x0] + (bottom[:, x1] - bottom[:, x0]) * fx
    return top + (bottom - top) * fy[:, None, None]


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Centre-size decoding of (N, 4) encodings against (N, 4) anchors, both [y, x, y, x];
    returns normalised [ymin, xmin, ymax, xmax]."""
    ty, tx, th, tw = (encodings / _BOX_SCALES).T
    ha = anchors[:, 2] - anchors[:, 0]
    wa = anchors[:, 3] - anchors[:, 1]
    yc = anchors[:, 0] + ha / 2 + ty * ha
    xc = anchors[:, 1] + wa / 2 + tx * wa
    h = np.exp(th) * ha / 2
    w = np.exp(tw) * wa / 2
    return np.stack([yc - h, xc - w, yc + h, xc + w], axis=1)


class Detector:
    """SSDLite MobileNetV2 (COCO) on ``cv2.dnn``. Load once, then call ``detect`` per image."""

    def __init__(self, model: ConvertedModel) -> None:
        self.net = cv2.dnn.readNetFromONNX(str(model.onnx_path))
        self.anchors = np.load(model.anchors_path)
        self.name = MODEL_NAME
        self._valid_classes = np.array([name is not None for name in CLASS_NAMES])

    @classmethod
    def load(cls, settings: PackageSettings | None = None) -> "Detector":
        """Load the cached converted model, converting the weights first if needed."""
        return cls(ensure_converted(settings))

    @classmethod
    def from_files(cls, onnx_path: Path, anchors_path: Path) -> "Detector":
        return cls(ConvertedModel(Path(onnx_path), Path(anchors_path)))

    def warm_up(self) -> None:
        """Run once on a blank image so that the first real request pays no set-up cost."""
        self.forward(np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8))

    def forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for an RGB uint8 image: (1917, 4) box encodings, (1917, 91) logits."""
        resized = resize_tf1(image)
        blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[None])
        self.net.setInput(blob)
        boxes, logits = self.net.forward([BOXES_NAME, CLASSES_NAME])
        return boxes.reshape(-1, 4), logits.reshape(boxes.shape[1], -1)

    def detect(
        self, image: np.ndarray, options: DetectOptions = DetectOptions()
    ) -> list[Detection]:
        """Objects in an RGB uint8 image (H x W x 3), best first, boxes in its pixels."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 image, got {image.shape} {image.dtype}")
        encodings, logits = self.forward(image)
        return self.postprocess(encodings, logits, image.shape[:2], options)

    def postprocess(
        self,
        encodings: np.ndarray,
        logits: np.ndarray,
        image_size: tuple[int, int],
        options: DetectOptions = DetectOptions(),
    ) -> list[Detection]:
        """Sigmoid scores, per-class NMS and the top ``max_detections``, in pixels."""
        allowed = self._valid_classes.copy()
        allowed[0] = False  # background
        if options.classes is not None:
            allowed &= np.array([name in options.classes for name in CLASS_NAMES])
        # sigmoid(x) >= t  <=>  x >= logit(t): threshold before computing any sigmoid.
        t = min(max(options.min_confidence, 1e-6), 1 - 1e-6)
        anchor_idx, class_idx = np.nonzero((logits >= np.log(t / (1 - t))) & allowed)
        if anchor_idx.size == 0:
            return []
        candidate_logits = logits[anchor_idx, class_idx]
        if anchor_idx.size > _MAX_CANDIDATES:  # a near-zero threshold: keep NMS bounded
            top = np.argpartition(-candidate_logits, _MAX_CANDIDATES)[:_MAX_CANDIDATES]
            anchor_idx, class_idx, candidate_logits = (
                anchor_idx[top],
                class_idx[top],
                candidate_logits[top],
            )
        scores = 1.0 / (1.0 + np.exp(-candidate_logits))
        height, width = image_size
        boxes = decode_boxes(encodings[anchor_idx], self.anchors[anchor_idx])
        boxes = np.clip(boxes, 0.0, 1.0) * np.array([height, width, height, width], np.float32)
        xywh = np.stack(
            [boxes[:, 1], boxes[:, 0], boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]], 1
        )
        keep = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), class_idx.tolist(), t, options.nms_iou
        )
        keep = np.asarray(keep, dtype=np.intp).reshape(-1)
        keep = keep[np.argsort(-scores[keep], kind="stable")][: options.max_detections]
        return [
            Detection(
                label=CLASS_NAMES[class_idx[i]],
                confidence=float(scores[i]),
                box=Box(*(float(v) for v in (boxes[i, 1], boxes[i, 0], boxes[i, 3], boxes[i, 2]))),
            )
            for i in keep
        ]
