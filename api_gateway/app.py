"""Application factory: wires settings, the Space client, routes, CORS and error handling."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api_gateway.body_limit import MULTIPART_OVERHEAD_BYTES, BodyLimitMiddleware
from api_gateway.errors import install_error_handlers
from api_gateway.metrics import GatewayMetrics
from api_gateway.middleware import (
    REQUEST_ID_HEADER,
    ApiKeyMiddleware,
    ApiKeys,
    CatchAllMiddleware,
    RequestContextMiddleware,
    configure_access_log,
)
from api_gateway.routes import router
from api_gateway.settings import Settings
from api_gateway.space import build_space_client

logger = logging.getLogger(__name__)

_DESCRIPTION = """
Object detection (80 COCO labels) in front of a model service.

* `POST /v1/detect`: detections as JSON, plus the annotated image (base64) unless
  `annotate=false`.
* `POST /detect_objects`: the annotated image itself (PNG).
* `POST /v1/vision/detection`: the DeepStack / CodeProject.AI call (Frigate, Blue Iris,
  Home Assistant).
* `GET /v1/labels`, `GET /healthz`, `GET /readyz`, `GET /metrics`.

Uploads are multipart form data with the file in the field `image`; options are form fields.
Errors are JSON `{"detail": "..."}`, except on `/v1/vision/detection`:
`{"success": false, "error": "...", "code": <status>}`. Every response carries an
`X-Request-ID` header (the client's own, when it sends a sane one).

When the server has API keys configured, the detection endpoints and `/v1/labels` need one,
as `Authorization: Bearer <key>` or `X-API-Key: <key>` (or the form field `api_key` on the
DeepStack endpoint).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; ``settings`` defaults to the environment's."""
    settings = settings or Settings()
    metrics = GatewayMetrics()
    configure_access_log()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        space = build_space_client(settings, metrics)
        app.state.space = space
        # Connect in the background: the gateway must come up even when the Space is down
        # (or slow to start); requests connect on demand and get 502 until it is up.
        threading.Thread(target=space.try_connect, name="space-connect", daemon=True).start()
        try:
            yield
        finally:
            space.close()

    app = FastAPI(
        title="Object detection gateway",
        summary="Upload a photo, get the objects found in it.",
        description=_DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.api_keys = ApiKeys(settings.api_key_list)

    install_error_handlers(app)
    app.include_router(router)

    # Each add_middleware wraps the previous ones: the last added is the outermost.
    limit_mb = settings.max_upload_bytes / (1024 * 1024)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        message=f"The file is larger than the {limit_mb:g} MB upload limit.",
    )
    app.add_middleware(ApiKeyMiddleware, keys=app.state.api_keys)
    app.add_middleware(CatchAllMiddleware)
    # Outside the layers above, so even their early 401/413/500 answers carry CORS headers.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
    )
    # Outermost: every response, CORS preflights included, gets the request id and is logged.
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    if settings.web_dir is not None:
        # Mounted last so the API routes above take precedence over files.
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    return app


#: The app built from the environment: what ``uvicorn api_gateway.app:app`` and the serverless
#: entry point (``api/index.py``) serve. Building it connects to nothing; the lifespan does.
app = create_app()
