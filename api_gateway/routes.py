"""HTTP endpoints of the gateway."""

from __future__ import annotations

import base64
import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from api_gateway.errors import BadUpload, UnsupportedImage, UploadTooLarge
from api_gateway.imaging import ACCEPTED_FORMATS_TEXT, NotAnImage, TooManyPixels, sniff_image
from api_gateway.schemas import DetectResponse, ErrorResponse, Health, Timings
from api_gateway.space import SpaceClient, get_space

router = APIRouter()

DEFAULT_MIN_CONFIDENCE = 0.5

ImageField = Annotated[UploadFile, File(description=f"the photo: {ACCEPTED_FORMATS_TEXT}")]
MinConfidenceField = Annotated[
    float,
    Form(ge=0.0, le=1.0, description="detections below this confidence (0-1) are dropped"),
]
Space = Annotated[SpaceClient, Depends(get_space)]

_ERRORS = {
    413: {"model": ErrorResponse, "description": "file larger than the upload limit"},
    415: {"model": ErrorResponse, "description": "not an image in an accepted format"},
    422: {"model": ErrorResponse, "description": "no file, empty file, or bad field"},
    502: {"model": ErrorResponse, "description": "the model service is unreachable or failed"},
    504: {"model": ErrorResponse, "description": "the model service did not answer in time"},
}


async def _read_checked_image(request: Request, upload: UploadFile) -> bytes:
    """Read the upload and reject what is not worth sending to the Space."""
    limit: int = request.app.state.settings.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"The file is larger than the {_mib(limit)} upload limit.")
    if not data:
        raise BadUpload("The uploaded file is empty.")
    try:
        sniff_image(data)
    except NotAnImage as exc:
        raise UnsupportedImage(str(exc)) from None
    except TooManyPixels:
        raise UploadTooLarge("The image has too many pixels to process.") from None
    return data


@router.get("/healthz", response_model=Health, tags=["meta"])
async def healthz() -> Health:
    """Liveness of the gateway itself (does not call the Space)."""
    return Health()


@router.post(
    "/v1/detect",
    response_model=DetectResponse,
    responses=_ERRORS,
    tags=["detection"],
)
async def detect(
    request: Request,
    image: ImageField,
    space: Space,
    min_confidence: MinConfidenceField = DEFAULT_MIN_CONFIDENCE,
) -> DetectResponse:
    """Detect objects; answer with the detections and the annotated image as base64 PNG."""
    started = time.perf_counter()
    data = await _read_checked_image(request, image)
    answer = await space.predict(data, min_confidence)
    result = answer.result
    timings = Timings(
        total=(time.perf_counter() - started) * 1000.0,
        upstream=answer.upstream_ms,
        **{k: v for k, v in result.timings_ms.items() if k not in ("total", "upstream")},
    )
    return DetectResponse(
        model=result.model,
        width=result.width,
        height=result.height,
        detections=result.detections,
        image_png_base64=base64.b64encode(answer.annotated_png).decode("ascii"),
        timings_ms=timings,
    )


@router.post(
    "/detect_objects",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "annotated image"}, **_ERRORS},
    tags=["detection"],
)
async def detect_objects(
    request: Request,
    image: ImageField,
    space: Space,
    min_confidence: MinConfidenceField = DEFAULT_MIN_CONFIDENCE,
) -> Response:
    """Detect objects; answer with the annotated image itself (PNG)."""
    data = await _read_checked_image(request, image)
    answer = await space.predict(data, min_confidence)
    return Response(content=answer.annotated_png, media_type="image/png")


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"
