"""``python -m api_gateway``: serve the gateway with uvicorn on the configured address."""

from __future__ import annotations

import logging

import uvicorn

from api_gateway.app import create_app
from api_gateway.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # gradio_client's httpx calls would log every request to the Space at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The gateway writes its own access log: one JSON line per request (api_gateway.access).
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False)


if __name__ == "__main__":
    main()
