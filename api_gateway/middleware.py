"""ASGI layers around the routes: request id + access log + metrics, API keys, last-resort 500.

Order, outermost first (see ``app.create_app``)::

    RequestContextMiddleware   request id, one JSON log line, metrics: sees every response
    CORSMiddleware             CORS headers, also on the error answers of the layers below
    CatchAllMiddleware         any unexpected exception -> JSON 500 (never a bare text page)
    ApiKeyMiddleware           401 before the body is read, when keys are configured
    BodyLimitMiddleware        413 before an oversized body is read
    FastAPI routes
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_gateway.errors import DEEPSTACK_PATH, error_bytes
from api_gateway.metrics import GatewayMetrics, endpoint_label

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("api_gateway.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

# Endpoints that need a key when keys are configured. /healthz, /readyz, /metrics, the docs and
# the static page stay open.
PROTECTED_PATHS = frozenset({"/detect_objects", "/v1/detect", DEEPSTACK_PATH, "/v1/labels"})
#: scope["state"] flag set when the key may still arrive as the DeepStack form field.
KEY_PENDING = "api_key_pending"


def configure_access_log() -> None:
    """Send the access log, one JSON object per line, to stderr (once per process)."""
    if not access_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_logger.addHandler(handler)
        access_logger.setLevel(logging.INFO)
        access_logger.propagate = False


def request_id_from(headers: Headers) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh random one."""
    candidate = headers.get(REQUEST_ID_HEADER, "").strip()
    if _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def _state(scope: Scope) -> dict:
    return scope.setdefault("state", {})


async def send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Request id in and out, one JSON access-log line, and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        request_id = request_id_from(headers)
        state = _state(scope)
        state["request_id"] = request_id
        received = 0
        status = 500
        sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def tagging_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, counting_receive, tagging_send)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            path = scope.get("path", "")
            endpoint = endpoint_label(path, status)
            method = scope.get("method", "")
            self.metrics.requests.labels(endpoint=endpoint, method=method, status=str(status)).inc()
            self.metrics.request_seconds.labels(endpoint=endpoint).observe(elapsed)
            declared = headers.get("content-length", "")
            upstream_ms = state.get("upstream_ms")
            record = {
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "event": "request",
                "request_id": request_id,
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "status": status,
                "request_bytes": int(declared) if declared.isdigit() else received,
                "response_bytes": sent,
                "total_ms": round(elapsed * 1000.0, 2),
                "upstream_ms": None if upstream_ms is None else round(upstream_ms, 2),
            }
            access_logger.info(json.dumps(record, separators=(",", ":")))


class CatchAllMiddleware:
    """Answer an unexpected exception with a JSON 500 in the endpoint's error shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception:
            logger.exception("unexpected error (request %s)", _state(scope).get("request_id", "-"))
            if started:
                raise  # too late for a clean answer; the server closes the connection
            message = "Internal error in the gateway; see its log for details."
            await send_json(send, 500, error_bytes(scope.get("path", ""), 500, message), {})


def _digest(key: str) -> bytes:
    # Hashing first gives compare_digest equal-length inputs, so not even the length leaks.
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class ApiKeys:
    """The configured keys, compared in constant time; empty means the API is open."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._digests = tuple(_digest(k) for k in keys)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def accepts(self, candidate: str | None) -> bool:
        if not candidate:
            return False
        given = _digest(candidate)
        found = False
        for digest in self._digests:  # no early exit: every key is compared
            found |= hmac.compare_digest(given, digest)
        return found


def key_from_headers(headers: Headers) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, if any."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get("x-api-key", "").strip()
    return api_key or None


MISSING_KEY = (
    "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
)
WRONG_KEY = "The API key is not valid."


class ApiKeyMiddleware:
    """Refuse protected endpoints without a valid key, before the upload is read.

    A key in the headers is checked here. The DeepStack endpoint may instead carry it as the
    form field ``api_key``, which only the route can read: the request is let through with
    ``scope["state"][KEY_PENDING]`` set, and the route checks the field.
    """

    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/") if scope["type"] == "http" else ""
        if not self.keys.enabled or path not in PROTECTED_PATHS or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        key = key_from_headers(Headers(scope=scope))
        if key is not None:
            if self.keys.accepts(key):
                await self.app(scope, receive, send)
            else:
                await self._refuse(send, path, WRONG_KEY)
            return
        if path == DEEPSTACK_PATH:
            _state(scope)[KEY_PENDING] = True
            await self.app(scope, receive, send)
            return
        await self._refuse(send, path, MISSING_KEY + ".")

    async def _refuse(self, send: Send, path: str, message: str) -> None:
        headers = {"www-authenticate": "Bearer", "connection": "close"}
        await send_json(send, 401, error_bytes(path, 401, message), headers)
