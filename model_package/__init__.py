"""Object detection with SSDLite MobileNetV2 (COCO), converted from TF.js to ONNX.

The graph runs on onnxruntime (default) or cv2.dnn (``MODEL_BACKEND=opencv``)."""

from .codec import ACCEPTED_FORMATS, ImageDecodeError, decode_image, encode_image
from .detector import MODEL_NAME, Box, Detection, Detector
from .draw import draw_detections
from .labels import LABELS
from .options import DetectOptions, parse_classes
from .settings import PackageSettings

__version__ = "0.1.0"

__all__ = [
    "ACCEPTED_FORMATS",
    "Box",
    "DetectOptions",
    "Detection",
    "Detector",
    "ImageDecodeError",
    "LABELS",
    "MODEL_NAME",
    "PackageSettings",
    "decode_image",
    "draw_detections",
    "encode_image",
    "parse_classes",
]
