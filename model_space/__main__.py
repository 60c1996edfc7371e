"""``python -m model_space``: load the detector once and serve the Space."""

from __future__ import annotations

import logging

from model_package import Detector

from .app import build_app
from .settings import SpaceSettings


def main() -> None:
    settings = SpaceSettings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    detector = Detector.load(concurrent=settings.concurrency > 1)
    detector.warm_up()
    demo = build_app(detector, settings)
    demo.queue(default_concurrency_limit=settings.concurrency)
    demo.launch(server_name=settings.host, server_port=settings.port, show_error=True)


if __name__ == "__main__":
    main()
