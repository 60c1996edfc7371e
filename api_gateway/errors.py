"""Gateway errors and the handlers that turn every failure into ``{"detail": "..."}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    """An error with an HTTP status and a message meant for the person using the page."""

    status_code = 500

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class BadUpload(GatewayError):
    """The request has no usable file (missing, empty, wrong field)."""

    status_code = 422


class UnsupportedImage(GatewayError):
    """The uploaded bytes are not an image in an accepted format."""

    status_code = 415


class UploadTooLarge(GatewayError):
    """The upload is bigger than the configured limit."""

    status_code = 413


class SpaceRejectedInput(GatewayError):
    """The Space refused the image (it raised a user-facing error)."""

    status_code = 422


class SpaceUnavailable(GatewayError):
    """The Space could not be reached or answered with something unusable."""

    status_code = 502


class SpaceTimeout(GatewayError):
    """The Space did not answer within the configured time."""

    status_code = 504


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "image") -> "image"; ("query", "x") -> "x"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "request"


def describe_validation_error(exc: RequestValidationError) -> str:
    """One readable sentence for a request that failed FastAPI's validation."""
    messages = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        field = _field_name(loc)
        if field == "image" and error.get("type") in {"missing", "value_error"}:
            messages.append(
                "No image file in the request: send it as the multipart form field 'image'."
            )
            continue
        messages.append(f"{field}: {error.get('msg', 'invalid value')}")
    return " ".join(dict.fromkeys(messages)) or "The request is not valid."


def _json_error(status_code: int, detail: str, headers: dict[str, str] | None = None):
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
    if exc.status_code >= 500:
        logger.warning("%s: %s", type(exc).__name__, exc.detail)
    return _json_error(exc.status_code, exc.detail)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return _json_error(exc.status_code, detail, getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return _json_error(422, describe_validation_error(exc))


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return _json_error(500, "Internal error in the gateway; see its log for details.")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error response JSON with a readable ``detail`` string."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
