"""The connection to the model Space; the only module that knows gradio_client.

One ``gradio_client.Client`` serves every request. It is created lazily: the gateway starts
even when the Space is down, requests then fail with 502 until the Space is back, and the
client is rebuilt after a connection failure so a restarted Space is picked up again.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from dataclasses import dataclass

import anyio
import httpx
from fastapi import Request
from pydantic import ValidationError

from api_gateway import codec
from api_gateway.errors import SpaceRejectedInput, SpaceTimeout, SpaceUnavailable
from api_gateway.imaging import is_png
from api_gateway.schemas import SpaceResult

# gradio_client reports usage to its vendor unless told not to; a self-hosted service should
# not phone home. Set before gradio_client is imported; an operator's explicit value wins.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

logger = logging.getLogger(__name__)

API_NAME = "/predict"
# gradio_client's text when the Space crashed without a user-facing message.
_UNEXPLAINED_ERROR_MARK = "has not enabled verbose error reporting"


@dataclass(frozen=True)
class SpaceAnswer:
    result: SpaceResult
    annotated_png: bytes
    upstream_ms: float


class SpaceClient:
    """Calls the Space's ``/predict`` endpoint with a time limit and maps its failures."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client: Client | None = None
        self._lock = threading.Lock()

    # --- connection -------------------------------------------------------------------

    def _connect(self) -> Client:
        """Return the shared client, creating it on first use (blocking)."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = Client(self.url, verbose=False, download_files=False)
                except Exception as exc:  # connection refused, DNS, not a Gradio app, ...
                    raise SpaceUnavailable(
                        f"The model service at {self.url} is not reachable ({_short(exc)})."
                    ) from exc
                logger.info("connected to the Space at %s", self.url)
            return self._client

    def try_connect(self) -> bool:
        """Connect now if possible; used at start-up so the first request is not slower."""
        try:
            self._connect()
        except SpaceUnavailable as exc:
            logger.warning("%s Will retry on the next request.", exc.detail)
            return False
        return True

    def _forget(self, client: Client) -> None:
        """Drop a client whose connection failed, so the next call reconnects."""
        with self._lock:
            if self._client is client:
                self._client = None
        _close_quietly(client)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            _close_quietly(client)

    # --- calls ------------------------------------------------------------------------

    def _predict_blocking(self, image: bytes, min_confidence: float) -> SpaceAnswer:
        deadline = time.monotonic() + self.timeout_s
        started = time.perf_counter()
        client = self._connect()
        wire = codec.encode_bytes(image)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(self.timeout_s)
        try:
            job = client.submit(wire, float(min_confidence), api_name=API_NAME)
            try:
                raw = job.result(timeout=remaining)
            except concurrent.futures.TimeoutError:
                job.cancel()
                raise _timeout(self.timeout_s) from None
        except AppError as exc:
            message = str(exc.message or exc).strip()
            if not message or _UNEXPLAINED_ERROR_MARK in message:
                raise SpaceUnavailable("The model service failed while processing the image.")
            raise SpaceRejectedInput(message) from exc
        except httpx.TimeoutException as exc:
            raise _timeout(self.timeout_s) from exc
        except (httpx.TransportError, ConnectionError) as exc:
            self._forget(client)
            raise SpaceUnavailable(
                f"Lost the connection to the model service at {self.url} ({_short(exc)})."
            ) from exc
        except (SpaceTimeout, SpaceUnavailable, SpaceRejectedInput):
            raise
        except Exception as exc:  # protocol drift, missing endpoint, ...
            logger.exception("the Space call failed")
            raise SpaceUnavailable(
                f"The model service gave no usable answer ({_short(exc)})."
            ) from exc
        upstream_ms = (time.perf_counter() - started) * 1000.0
        result, png = parse_space_result(raw)
        return SpaceAnswer(result=result, annotated_png=png, upstream_ms=upstream_ms)

    async def predict(self, image: bytes, min_confidence: float) -> SpaceAnswer:
        """Run the blocking Space call in a worker thread, never longer than the timeout."""
        # The worker enforces the deadline itself; this outer limit only guards against a
        # worker stuck somewhere gradio_client does not time out (margin for connecting).
        with anyio.move_on_after(self.timeout_s + 10) as scope:
            return await anyio.to_thread.run_sync(
                self._predict_blocking, image, min_confidence, abandon_on_cancel=True
            )
        assert scope.cancelled_caught
        raise _timeout(self.timeout_s)


def parse_space_result(raw: object) -> tuple[SpaceResult, bytes]:
    """Validate the Space's answer (a JSON text) and decode its annotated image."""
    if not isinstance(raw, str):
        raise SpaceUnavailable(
            f"The model service answered with {type(raw).__name__}, expected a JSON text."
        )
    try:
        result = SpaceResult.model_validate_json(raw)
        png = codec.decode_bytes(result.image)
        if not is_png(png):
            raise codec.WireFormatError("the annotated image is not a PNG")
    except (ValidationError, codec.WireFormatError) as exc:
        raise SpaceUnavailable(
            f"The model service's answer does not follow the API contract ({_short(exc)})."
        ) from exc
    return result, png


def get_space(request: Request) -> SpaceClient:
    """FastAPI dependency: the app's single Space client.

    The lifespan creates it; a host that skips ASGI lifespan events (some serverless
    runtimes do) gets it created here on the first request instead.
    """
    state = request.app.state
    space = getattr(state, "space", None)
    if space is None:
        settings = state.settings
        space = state.space = SpaceClient(settings.space_url, settings.upstream_timeout_s)
    return space


def _timeout(timeout_s: float) -> SpaceTimeout:
    return SpaceTimeout(f"The model service did not answer within {timeout_s:g} s.")


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _close_quietly(client: Client) -> None:
    try:
        client.close()
    except Exception:  # pragma: no cover - closing is best effort
        logger.debug("closing the gradio client failed", exc_info=True)
