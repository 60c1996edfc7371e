"""Gateway errors and the handlers that turn every failure into a JSON answer.

Two shapes exist. Every endpoint answers ``{"detail": "..."}``, except the DeepStack-compatible
``/v1/vision/detection``, whose clients (Frigate, Blue Iris, Home Assistant) expect
``{"success": false, "error": "...", "code": <status>}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

logger = logging.getLogger(__name__)

DEEPSTACK_PATH = "/v1/vision/detection"
# Form fields whose value is never echoed back in a validation message.
_SECRET_FIELDS = {"api_key"}


class GatewayError(Exception):
    """An error with an HTTP status and a message meant for the person using the API."""

    status_code = 500

    def __init__(
        self, detail: str, status_code: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code


class BadUpload(GatewayError):
    """The request has no usable file (missing, wrong field) or a bad option."""

    status_code = 422


class UnsupportedImage(GatewayError):
    """The uploaded bytes are not an image in an accepted format."""

    status_code = 415


class UploadTooLarge(GatewayError):
    """The upload is bigger than the configured limit (bytes or pixels)."""

    status_code = 413


class Unauthorized(GatewayError):
    """API keys are configured and the request has none, or a wrong one."""

    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class SpaceRejectedInput(GatewayError):
    """The Space refused the image or an option (it raised a user-facing error)."""

    status_code = 422


class SpaceUnavailable(GatewayError):
    """The Space could not be reached or answered with something unusable."""

    status_code = 502


class SpaceBusy(GatewayError):
    """As many calls to the Space as allowed are running; the client should retry later."""

    status_code = 503


class SpaceTimeout(GatewayError):
    """The Space did not answer within the configured time."""

    status_code = 504


def error_body(path: str, status_code: int, message: str) -> dict[str, Any]:
    """The JSON error document for a request to ``path``."""
    if path.rstrip("/") == DEEPSTACK_PATH:
        return {"success": False, "error": message, "code": status_code}
    return {"detail": message}


def error_bytes(path: str, status_code: int, message: str) -> bytes:
    return json.dumps(error_body(path, status_code, message)).encode()


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
        message = f"{field}: {error.get('msg', 'invalid value')}"
        value = error.get("input")
        if (
            field not in _SECRET_FIELDS
            and isinstance(value, (str, int, float))
            and error.get("type") != "missing"
            and len(str(value)) <= 40
        ):
            message += f" (got {str(value)!r})"
        messages.append(message + ".")
    return " ".join(dict.fromkeys(messages)) or "The request is not valid."


def json_error(
    request: Request, status_code: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(request.url.path, status_code, detail),
        status_code=status_code,
        headers=headers,
    )


async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
    if exc.status_code >= 500:
        logger.warning("%s: %s", type(exc).__name__, exc.detail)
    return json_error(request, exc.status_code, exc.detail, exc.headers)


def _methods_allowed(request: Request) -> list[str]:
    """The methods an API route (not the page's mount) answers at this request's path."""
    found = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        for route in request.app.router.routes:
            if not isinstance(route, Mount) and route.matches(scope)[0] == Match.FULL:
                found.append(method)
                break
    return found


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        # The page is mounted at "/", so a GET to a POST-only endpoint ends in the file server's
        # 404; answer what the client got wrong instead: the method.
        allowed = _methods_allowed(request)
        if allowed:
            return json_error(
                request,
                405,
                f"{request.method} is not allowed here; use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return json_error(request, exc.status_code, detail, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return json_error(request, 422, describe_validation_error(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Make every expected error response JSON with a readable message.

    Unexpected exceptions are answered by ``middleware.CatchAllMiddleware``, inside the CORS
    layer, so that a 500 still carries the CORS and request-id headers.
    """
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
