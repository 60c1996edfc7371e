"""Refuse request bodies over the upload limit before they are read into memory or disk."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_gateway.errors import error_bytes

# Room for the multipart boundaries, part headers and small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BodyLimitMiddleware:
    """Answer 413 (JSON) when a request body is larger than ``max_bytes``.

    A declared Content-Length over the limit is refused without reading the body. A body
    without one is counted while it streams in, and the read fails with an HTTPException
    (FastAPI passes those through body parsing), which the app's error handlers turn into
    the same 413 answer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, message: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, scope.get("path", ""))
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self.message)
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, send: Send, path: str) -> None:
        body = error_bytes(path, 413, self.message)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The unread body is still on the socket; do not reuse the connection.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
