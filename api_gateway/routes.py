"""HTTP endpoints of the gateway."""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Security, UploadFile
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer

from api_gateway.errors import (
    DEEPSTACK_PATH,
    BadUpload,
    GatewayError,
    Unauthorized,
    UnsupportedImage,
    UploadTooLarge,
)
from api_gateway.imaging import (
    ACCEPTED_FORMATS_TEXT,
    DamagedImage,
    NotAnImage,
    TooManyPixels,
    sniff_image,
)
from api_gateway.metrics import CONTENT_TYPE
from api_gateway.middleware import KEY_PENDING, MISSING_KEY, WRONG_KEY
from api_gateway.schemas import (
    DeepStackError,
    DeepStackPrediction,
    DeepStackResponse,
    DetectOptions,
    DetectResponse,
    ErrorResponse,
    Health,
    ImageFormat,
    LabelsResponse,
    Ready,
    Timings,
)
from api_gateway.space import SpaceAnswer, SpaceClient, get_space

router = APIRouter()

DEFAULT_MIN_CONFIDENCE = 0.5
DEEPSTACK_MIN_CONFIDENCE = 0.45
DEFAULT_MAX_DETECTIONS = 100
MAX_DETECTIONS_LIMIT = 100
DEFAULT_NMS_IOU = 0.5

# --- form fields shared by the detection endpoints --------------------------------------

ImageField = Annotated[
    UploadFile,
    File(
        description=f"the photo, as a file part named 'image'. Accepted formats (decided by the "
        f"content, not the name or declared type): {ACCEPTED_FORMATS_TEXT}"
    ),
]
MinConfidenceField = Annotated[
    float, Form(ge=0.0, le=1.0, description="detections below this confidence (0-1) are dropped")
]
ClassesField = Annotated[
    str,
    Form(
        max_length=4000,
        description="comma-separated labels to keep, e.g. 'person,car' (see GET /v1/labels); "
        "empty: every label. An unknown label is a 422 listing the valid ones",
    ),
]
MaxDetectionsField = Annotated[
    int,
    Form(
        ge=1,
        le=MAX_DETECTIONS_LIMIT,
        description=f"at most this many detections, best first (1-{MAX_DETECTIONS_LIMIT})",
    ),
]
NmsIouField = Annotated[
    float,
    Form(
        ge=0.0,
        le=1.0,
        description="non-maximum suppression: a box overlapping a better box of the same "
        "label by more than this IoU (0-1) is dropped",
    ),
]
AnnotateField = Annotated[
    bool,
    Form(description="draw the boxes and return the image; false: image_base64 is null"),
]
ImageFormatField = Annotated[ImageFormat, Form(description="format of the returned image")]
ApiKeyField = Annotated[
    str | None,
    Form(description="the API key, DeepStack style (instead of a header); only when keys are set"),
]
Space = Annotated[SpaceClient, Depends(get_space)]

# Documentation only: the keys are checked by ApiKeyMiddleware before the body is read.
_bearer = HTTPBearer(auto_error=False, description="API key (only when the server sets keys)")
_x_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key (only when the server sets keys)"
)
_KEY_DOCS = [Security(_bearer), Security(_x_api_key)]


def _errors(model: type, *statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "API keys are configured and the request has none, or a wrong one",
        413: "file over the upload limit (bytes), or image over the pixel limit",
        415: "not an image in an accepted format (JPEG, PNG, WebP, BMP, TIFF, GIF)",
        422: "no file, an image that cannot be decoded, or an invalid option",
        502: "the model service is unreachable or gave an unusable answer",
        503: "too many requests in progress: retry after the Retry-After header's seconds",
        504: "the model service did not answer in time",
    }
    return {s: {"model": model, "description": descriptions[s]} for s in statuses}


_DETECT_ERRORS = _errors(ErrorResponse, 401, 413, 415, 422, 502, 503, 504)
_DEEPSTACK_ERRORS = _errors(DeepStackError, 401, 413, 415, 422, 502, 503, 504)


# --- helpers --------------------------------------------------------------------------------


async def _read_checked_image(request: Request, upload: UploadFile) -> bytes:
    """Read the upload and reject what is not worth sending to the Space."""
    settings = request.app.state.settings
    limit: int = settings.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"The file is larger than the {_mib(limit)} upload limit.")
    try:
        sniff_image(data, max_pixels=settings.max_pixels)
    except DamagedImage as exc:
        raise BadUpload(str(exc)) from None
    except NotAnImage as exc:
        raise UnsupportedImage(str(exc)) from None
    except TooManyPixels as exc:
        raise UploadTooLarge(str(exc)) from None
    return data


async def _parse_classes(text: str, space: SpaceClient) -> tuple[str, ...]:
    """Labels named in ``classes``, spelled as the model spells them; () means every label."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    if not wanted:
        return ()
    known = await space.labels()
    by_lower = {label.lower(): label for label in known}
    unknown = [name for name in wanted if name.lower() not in by_lower]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise BadUpload(
            f"classes: unknown label{'s' if len(unknown) > 1 else ''} {names}. "
            f"Valid labels: {', '.join(known)}."
        )
    return tuple(dict.fromkeys(by_lower[name.lower()] for name in wanted))


async def _detect(
    request: Request, upload: UploadFile, space: SpaceClient, options: DetectOptions
) -> SpaceAnswer:
    data = await _read_checked_image(request, upload)
    answer = await space.predict(data, options, request.state.request_id)
    request.state.upstream_ms = answer.upstream_ms
    return answer


# --- detection endpoints --------------------------------------------------------------------


@router.post(
    "/v1/detect",
    response_model=DetectResponse,
    responses=_DETECT_ERRORS,
    tags=["detection"],
    dependencies=_KEY_DOCS,
    summary="Detect objects: JSON with the boxes and the annotated image",
)
async def detect(
    request: Request,
    image: ImageField,
    space: Space,
    min_confidence: MinConfidenceField = DEFAULT_MIN_CONFIDENCE,
    classes: ClassesField = "",
    max_detections: MaxDetectionsField = DEFAULT_MAX_DETECTIONS,
    nms_iou: NmsIouField = DEFAULT_NMS_IOU,
    annotate: AnnotateField = True,
    image_format: ImageFormatField = "png",
) -> DetectResponse:
    """Detect objects in the uploaded photo.

    Answers the detections (boxes in pixels of the upright image, EXIF orientation applied),
    and, unless `annotate` is false, the photo with the boxes drawn on it as base64 PNG or JPEG.
    """
    started = time.perf_counter()
    options = DetectOptions(
        min_confidence=min_confidence,
        classes=await _parse_classes(classes, space),
        max_detections=max_detections,
        nms_iou=nms_iou,
        annotate=annotate,
        image_format=image_format,
    )
    answer = await _detect(request, image, space, options)
    result = answer.result
    timings = Timings(
        total=round((time.perf_counter() - started) * 1000.0, 2),
        upstream=round(answer.upstream_ms, 2),
        **{k: v for k, v in result.timings_ms.items() if k not in ("total", "upstream")},
    )
    return DetectResponse(
        model=result.model,
        width=result.width,
        height=result.height,
        detections=result.detections,
        image_base64=None if answer.image is None else base64.b64encode(answer.image).decode(),
        image_format=result.image_format if answer.image is not None else None,
        timings_ms=timings,
    )


@router.post(
    "/detect_objects",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "annotated image"}}
    | _DETECT_ERRORS,
    tags=["detection"],
    dependencies=_KEY_DOCS,
    summary="Detect objects: the annotated image itself (PNG)",
)
async def detect_objects(
    request: Request,
    image: ImageField,
    space: Space,
    min_confidence: MinConfidenceField = DEFAULT_MIN_CONFIDENCE,
    classes: ClassesField = "",
    max_detections: MaxDetectionsField = DEFAULT_MAX_DETECTIONS,
    nms_iou: NmsIouField = DEFAULT_NMS_IOU,
) -> Response:
    """Detect objects; answer with the photo, boxes and labels drawn on it, as a PNG file."""
    options = DetectOptions(
        min_confidence=min_confidence,
        classes=await _parse_classes(classes, space),
        max_detections=max_detections,
        nms_iou=nms_iou,
    )
    answer = await _detect(request, image, space, options)
    return Response(content=answer.image, media_type="image/png")


@router.post(
    DEEPSTACK_PATH,
    response_model=DeepStackResponse,
    responses=_DEEPSTACK_ERRORS,
    tags=["DeepStack / CodeProject.AI compatible"],
    dependencies=_KEY_DOCS,
    summary="Detect objects, answered like DeepStack and CodeProject.AI",
)
async def deepstack_detection(
    request: Request,
    image: ImageField,
    space: Space,
    min_confidence: MinConfidenceField = DEEPSTACK_MIN_CONFIDENCE,
    classes: ClassesField = "",
    max_detections: MaxDetectionsField = DEFAULT_MAX_DETECTIONS,
    nms_iou: NmsIouField = DEFAULT_NMS_IOU,
    api_key: ApiKeyField = None,
) -> DeepStackResponse:
    """The object-detection call of DeepStack / CodeProject.AI, for Frigate, Blue Iris, Home
    Assistant and other clients that speak it.

    Boxes are integer pixels. Errors are `{"success": false, "error": "...", "code": status}`
    with the HTTP status set as well. The API key may come as the form field `api_key`.
    """
    started = time.perf_counter()
    if getattr(request.state, KEY_PENDING, False):
        if not api_key:
            raise Unauthorized(MISSING_KEY + ", or as the form field 'api_key'.")
        if not request.app.state.api_keys.accepts(api_key):
            raise Unauthorized(WRONG_KEY)
    options = DetectOptions(
        min_confidence=min_confidence,
        classes=await _parse_classes(classes, space),
        max_detections=max_detections,
        nms_iou=nms_iou,
        annotate=False,
    )
    answer = await _detect(request, image, space, options)
    result = answer.result
    predictions = [
        DeepStackPrediction(
            label=d.label,
            confidence=d.confidence,
            x_min=_pixel(d.box.x_min, result.width),
            y_min=_pixel(d.box.y_min, result.height),
            x_max=_pixel(d.box.x_max, result.width),
            y_max=_pixel(d.box.y_max, result.height),
        )
        for d in result.detections
    ]
    found = sorted({p.label for p in predictions})
    return DeepStackResponse(
        predictions=predictions,
        count=len(predictions),
        message=f"Found {', '.join(found)}" if found else "No objects found",
        inferenceMs=round(result.timings_ms.get("inference", 0.0)),
        processMs=round((time.perf_counter() - started) * 1000.0),
    )


# --- labels and operations ------------------------------------------------------------------


@router.get(
    "/v1/labels",
    response_model=LabelsResponse,
    responses=_errors(ErrorResponse, 401, 502, 504),
    tags=["detection"],
    dependencies=_KEY_DOCS,
    summary="The labels the model can report",
)
async def labels(space: Space) -> LabelsResponse:
    """Every label the model reports (the values `classes` accepts), from the model service;
    cached by the gateway."""
    return LabelsResponse(labels=await space.labels())


@router.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness")
async def healthz() -> Health:
    """The gateway process is alive (does not call the model service)."""
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": ErrorResponse, "description": "the model service is not ready"}},
    tags=["operations"],
    summary="Readiness",
)
async def readyz(space: Space) -> Any:
    """Ready when the model service answers and its model is loaded (its label list comes
    back); 503 until then."""
    try:
        found = await space.labels(refresh=True)
    except GatewayError as exc:
        return JSONResponse(
            {"detail": f"Not ready: {exc.detail}"}, status_code=503, headers={"Retry-After": "1"}
        )
    return Ready(labels=len(found))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    tags=["operations"],
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    """Requests by endpoint and status, latency histograms of the gateway and of the calls to
    the model service, requests in flight, and upstream errors by kind."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)


def _pixel(value: float, limit: int) -> int:
    return min(max(int(round(value)), 0), limit)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"
