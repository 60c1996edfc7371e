"""Data shapes: what the Space answers, and what the gateway answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ImageFormat = Literal["png", "jpeg"]


@dataclass(frozen=True)
class DetectOptions:
    """The detection options every detection endpoint takes, already validated."""

    min_confidence: float = 0.5
    classes: tuple[str, ...] = ()  # empty: every label
    max_detections: int = 100
    nms_iou: float = 0.5
    annotate: bool = True
    image_format: ImageFormat = "png"


# --- the Space's answer ------------------------------------------------------------------


class Box(BaseModel):
    """Box corners in pixels of the uploaded image, as a viewer shows it (EXIF applied)."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float


class Detection(BaseModel):
    label: str = Field(description="one of the labels listed by GET /v1/labels")
    confidence: float = Field(ge=0, le=1)
    box: Box


class SpaceResult(BaseModel):
    """The JSON document returned by the Space's ``/predict`` endpoint."""

    model_config = ConfigDict(extra="ignore")

    model: str
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    detections: list[Detection]
    image: str | None = Field(default=None, description="annotated image as a JSON byte list")
    image_format: ImageFormat | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


# --- the gateway's answers ---------------------------------------------------------------


class Timings(BaseModel):
    """Milliseconds spent: in the gateway overall, waiting for the Space, and inside it."""

    model_config = ConfigDict(extra="allow")

    total: float = Field(description="whole request as seen by the gateway")
    upstream: float = Field(description="the call to the Space, network included")
    decode: float | None = Field(default=None, description="decoding the upload (Space)")
    inference: float | None = Field(default=None, description="running the model (Space)")
    draw: float | None = Field(default=None, description="drawing the boxes; 0 if annotate=false")
    encode: float | None = Field(default=None, description="encoding the image; 0 if not drawn")


class DetectResponse(BaseModel):
    model: str = Field(description="name of the detection model")
    width: int = Field(description="width of the image in pixels (upright, EXIF applied)")
    height: int = Field(description="height of the image in pixels (upright, EXIF applied)")
    detections: list[Detection] = Field(description="objects found, best first")
    image_base64: str | None = Field(
        description="the image with the boxes drawn on it, base64; null when annotate=false"
    )
    image_format: ImageFormat | None = Field(
        description="format of image_base64 (png or jpeg); null when annotate=false"
    )
    timings_ms: Timings


class LabelsResponse(BaseModel):
    labels: list[str] = Field(description="every label the model can report")


class DeepStackPrediction(BaseModel):
    label: str
    confidence: float = Field(ge=0, le=1)
    x_min: int = Field(description="left edge, pixels")
    y_min: int = Field(description="top edge, pixels")
    x_max: int = Field(description="right edge, pixels")
    y_max: int = Field(description="bottom edge, pixels")


class DeepStackResponse(BaseModel):
    """The answer DeepStack and CodeProject.AI give to ``/v1/vision/detection``."""

    success: bool = True
    predictions: list[DeepStackPrediction]
    count: int = Field(description="number of predictions")
    message: str = Field(description="a short summary")
    inferenceMs: int = Field(description="time spent running the model")
    processMs: int = Field(description="time spent on the whole request")
    code: int = 200


class ErrorResponse(BaseModel):
    detail: str = Field(description="what went wrong, in one or two sentences")


class DeepStackError(BaseModel):
    success: bool = False
    error: str = Field(description="what went wrong")
    code: int = Field(description="the HTTP status")


class Health(BaseModel):
    status: str = "ok"


class Ready(BaseModel):
    status: str = "ready"
    labels: int = Field(description="number of labels the model reports")
