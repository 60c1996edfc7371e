"""The detector: pre-process, run the converted graph (onnxruntime or ``cv2.dnn``), decode and
filter boxes."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from .convert import INPUT_SIZE, ConvertedModel, ensure_converted
from .engine import DEFAULT_BACKEND, Engine, create_engine
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
        """JSON-ready, rounded to what the model can tell: 4 decimals of score, 0.1 px."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "box": {k: round(v, 1) for k, v in asdict(self.box).items()},
        }


def _axis_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of TF1 bilinear resize (no half-pixel centres, no corners)."""
    src = np.arange(out_size, dtype=np.float64) * (in_size / out_size)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_tf1(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize an HxWx3 image to size x size x 3 float32 exactly as the TF graph's ResizeBilinear.

    ``cv2.resize`` samples at half-pixel centres and would shift every box slightly."""
    return resize_tf1_chw(image, size).transpose(1, 2, 0)


# cv2.remap refuses images with a side of SHRT_MAX pixels or more.
_REMAP_MAX_SIDE = 32767


@lru_cache(maxsize=8)
def _gather_maps(
    h: int, w: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source coordinates of the four bilinear taps, stacked as four size x size blocks (top-left,
    top-right, bottom-left, bottom-right), and the two weights. Cached: photos come in few sizes."""
    y0, y1, fy = _axis_taps(h, size)
    x0, x1, fx = _axis_taps(w, size)
    map_x = np.empty((4, size, size), np.float32)
    map_y = np.empty((4, size, size), np.float32)
    map_x[0::2] = x0
    map_x[1::2] = x1
    map_y[:2] = y0[:, None]
    map_y[2:] = y1[:, None]
    maps = (map_x.reshape(4 * size, size), map_y.reshape(4 * size, size), fx, fy[:, None])
    for array in maps:  # shared between calls and threads
        array.setflags(write=False)
    return maps


def resize_tf1_chw(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """``resize_tf1`` laid out channels first (3 x size x size), as the graph takes it.

    The four taps of every output pixel are gathered in uint8 (``cv2.remap`` with integer
    coordinates and nearest-neighbour sampling is an exact gather), and only the small gathered
    blocks are converted to float32 and blended, with the same float32 operations in the same
    order as the straightforward formula, so the result is identical to the last bit."""
    h, w = image.shape[:2]
    if image.dtype == np.uint8 and image.ndim == 3 and max(h, w) < _REMAP_MAX_SIDE:
        map_x, map_y, fx, fy = _gather_maps(h, w, size)
        taps = cv2.remap(np.ascontiguousarray(image), map_x, map_y, cv2.INTER_NEAREST)
        taps = taps.reshape(4, size, size, -1)
    else:
        y0, y1, fy = _axis_taps(h, size)
        x0, x1, fx = _axis_taps(w, size)
        fy = fy[:, None]
        rows = image[np.concatenate([y0, y0, y1, y1])].reshape(4, size, w, -1)
        taps = np.stack([rows[0][:, x0], rows[1][:, x1], rows[2][:, x0], rows[3][:, x1]])
    top_left, top_right, bottom_left, bottom_right = taps.transpose(0, 3, 1, 2).astype(np.float32)
    # top = tl + (tr - tl) * fx; bottom = bl + (br - bl) * fx; out = top + (bottom - top) * fy
    top_right -= top_left
    top_right *= fx
    top_right += top_left
    bottom_right -= bottom_left
    bottom_right *= fx
    bottom_right += bottom_left
    bottom_right -= top_right
    bottom_right *= fy
    bottom_right += top_right
    return bottom_right


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
    """SSDLite MobileNetV2 (COCO). Load once, then call ``detect`` per image (thread-safe)."""

    def __init__(
        self, model: ConvertedModel, backend: str = DEFAULT_BACKEND, concurrent: bool = False
    ) -> None:
        """``concurrent``: several threads will call ``detect`` at once (a server)."""
        self.engine: Engine = create_engine(backend, model.onnx_path, concurrent)
        self.backend = self.engine.name
        self.anchors = np.load(model.anchors_path)
        self.name = MODEL_NAME
        self._valid_classes = np.array([name is not None for name in CLASS_NAMES])
        # cv2.dnn keeps the input and outputs inside the Net: one forward pass at a time.
        self._lock = threading.Lock() if self.backend == "opencv" else None

    @classmethod
    def load(cls, settings: PackageSettings | None = None, concurrent: bool = False) -> "Detector":
        """Load the cached converted model, converting the weights first if needed."""
        settings = settings or PackageSettings.from_env()
        return cls(ensure_converted(settings), settings.backend, concurrent)

    @classmethod
    def from_files(
        cls, onnx_path: Path, anchors_path: Path, backend: str = DEFAULT_BACKEND
    ) -> "Detector":
        return cls(ConvertedModel(Path(onnx_path), Path(anchors_path)), backend)

    def warm_up(self) -> None:
        """Run once on a blank image so that the first real request pays no set-up cost."""
        self.forward(np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8))

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """The graph's input for an RGB uint8 image: a (1, 3, 300, 300) float32 blob."""
        return resize_tf1_chw(image)[None]

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The forward pass alone: (1917, 4) box encodings, (1917, 91) logits."""
        if self._lock is None:
            boxes, logits = self.engine.run(blob)
        else:
            with self._lock:
                boxes, logits = self.engine.run(blob)
        return boxes.reshape(-1, 4), logits.reshape(boxes.shape[1], -1)

    def forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for an RGB uint8 image: (1917, 4) box encodings, (1917, 91) logits."""
        return self.run(self.preprocess(image))

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
