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
from api_gateway.routes import router
from api_gateway.settings import Settings
from api_gateway.space import SpaceClient

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; ``settings`` defaults to the environment's."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        space = SpaceClient(settings.space_url, settings.upstream_timeout_s)
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
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings

    install_error_handlers(app)
    app.include_router(router)

    limit_mb = settings.max_upload_bytes / (1024 * 1024)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        message=f"The file is larger than the {limit_mb:g} MB upload limit.",
    )

    # Added last so it is outermost: even the early 413 carries the CORS headers.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )
    if settings.web_dir is not None:
        # Mounted last so the API routes above take precedence over files.
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    return app


#: The app built from the environment: what ``uvicorn api_gateway.app:app`` and the serverless
#: entry point (``api/index.py``) serve. Building it connects to nothing; the lifespan does.
app = create_app()
