"""Data shapes: what the Space answers, and what the gateway answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Box(BaseModel):
    """Box corners in pixels of the uploaded image."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float


class Detection(BaseModel):
    label: str
    confidence: float = Field(ge=0, le=1)
    box: Box


class SpaceResult(BaseModel):
    """The JSON document returned by the Space's ``/predict`` endpoint."""

    model_config = ConfigDict(extra="ignore")

    model: str
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    detections: list[Detection]
    image: str = Field(description="annotated PNG in the byte-list wire format")
    timings_ms: dict[str, float] = Field(default_factory=dict)


class Timings(BaseModel):
    """Milliseconds spent: in the gateway overall, waiting for the Space, and inside it."""

    model_config = ConfigDict(extra="allow")

    total: float = Field(description="whole request as seen by the gateway")
    upstream: float = Field(description="the call to the Space, network included")
    decode: float | None = None
    inference: float | None = None
    draw: float | None = None
    encode: float | None = None


class DetectResponse(BaseModel):
    model: str = Field(description="name of the detection model")
    width: int = Field(description="width of the uploaded image in pixels")
    height: int = Field(description="height of the uploaded image in pixels")
    detections: list[Detection]
    image_png_base64: str = Field(description="annotated image, PNG, base64")
    timings_ms: Timings


class ErrorResponse(BaseModel):
    detail: str


class Health(BaseModel):
    status: str = "ok"
