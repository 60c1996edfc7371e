"""The connection to the model Space; the only module that knows gradio_client.

Connections (``gradio_client.Client`` objects) are made lazily and pooled, one per call in
flight: the gateway starts even when the Space is down, requests then fail with 502 until the
Space is back, and a client whose call failed is dropped, so a restarted Space is picked up
again.

The Space's API (its contract with this gateway):

* ``/predict(image, min_confidence, classes, max_detections, nms_iou, annotate, image_format,
  request_id) -> str``: ``image`` is the uploaded file as a JSON byte list; the answer is a JSON
  document (see ``schemas.SpaceResult``) whose ``image`` is the annotated picture as a JSON
  byte list, or null when ``annotate`` is false.
* ``/labels() -> str``: a JSON list of the label names the model reports.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import anyio
import httpx
from fastapi import Request
from pydantic import ValidationError

from api_gateway import codec
from api_gateway.errors import (
    GatewayError,
    SpaceBusy,
    SpaceRejectedInput,
    SpaceTimeout,
    SpaceUnavailable,
)
from api_gateway.imaging import is_jpeg, is_png
from api_gateway.metrics import GatewayMetrics
from api_gateway.schemas import DetectOptions, SpaceResult

# gradio_client reports usage to its vendor unless told not to; a self-hosted service should
# not phone home. Set before gradio_client is imported; an operator's explicit value wins.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

logger = logging.getLogger(__name__)

LABELS_API = "/labels"
# gradio_client's text when the Space crashed without a user-facing message.
_UNEXPLAINED_ERROR_MARK = "has not enabled verbose error reporting"
# A call whose job gradio_client lost (CancelledError) is made once more.
_ATTEMPTS = 2
# Extra time the event loop waits for a worker thread beyond the call's own deadline.
_WORKER_MARGIN_S = 10.0


class _ConnectionLost(SpaceUnavailable):
    """The connection broke during a call (counted as "unreachable", not "bad_answer")."""


@dataclass(frozen=True)
class SpaceAnswer:
    result: SpaceResult
    image: bytes | None  # the annotated image, in result.image_format
    upstream_ms: float


class SpaceClient:
    """Calls the Space's API with a time limit, a bound on concurrent calls, and error mapping."""

    def __init__(
        self,
        url: str,
        timeout_s: float,
        *,
        max_in_flight: int = 8,
        retry_after_s: int = 1,
        labels_cache_s: float = 300.0,
        metrics: GatewayMetrics | None = None,
        wire: str = "base64",
    ) -> None:
        self.url = url
        self.wire = codec.WIRES[wire]
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.labels_cache_s = labels_cache_s
        self.metrics = metrics or GatewayMetrics()
        self._idle: list[Client] = []  # connected clients not in use
        self._closed = False
        self._lock = threading.Lock()
        # Only touched from the event loop thread, so a plain counter is enough.
        self._in_flight = 0
        self._labels: list[str] | None = None
        self._labels_at = 0.0

    # --- connections ------------------------------------------------------------------
    #
    # gradio_client multiplexes every job of one Client over one event stream, and jobs
    # running at once on the same Client can be lost when that stream closes under them
    # (the job ends in CancelledError). So each call borrows a Client of its own from a small
    # pool (at most one per call in flight), and a call lost that way is made once more.

    def _new_client(self) -> Client:
        try:
            client = Client(self.url, verbose=False, download_files=False)
        except Exception as exc:  # connection refused, DNS, not a Gradio app, ...
            raise SpaceUnavailable(
                f"The model service at {self.url} is not reachable ({_short(exc)})."
            ) from exc
        logger.info("connected to the Space at %s", self.url)
        return client

    def _acquire(self) -> Client:
        """An idle client from the pool, or a new one (blocking: connects)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_client()

    def _release(self, client: Client) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(client)
                return
        _close_quietly(client)

    def try_connect(self) -> bool:
        """Connect now if possible; used at start-up so the first request is not slower."""
        try:
            self._release(self._acquire())
        except SpaceUnavailable as exc:
            logger.warning("%s Will retry on the next request.", exc.detail)
            return False
        return True

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            _close_quietly(client)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._drop_idle()

    # --- calls ------------------------------------------------------------------------

    def _call_blocking(self, api_name: str, args: tuple[Any, ...]) -> tuple[Any, float]:
        """Call one Space API within the timeout; returns (raw answer, milliseconds)."""
        deadline = time.monotonic() + self.timeout_s
        started = time.perf_counter()
        outcome = "ok"
        try:
            for attempt in range(1, _ATTEMPTS + 1):
                try:
                    client = self._acquire()
                except SpaceUnavailable:
                    outcome = "unreachable"
                    raise
                reusable = False
                try:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _timeout(self.timeout_s)
                    raw = self._submit(client, api_name, args, remaining)
                    reusable = True
                    break
                except concurrent.futures.CancelledError:
                    if attempt == _ATTEMPTS:
                        outcome = "bad_answer"
                        raise SpaceUnavailable(
                            "The model service dropped the request; please retry."
                        ) from None
                    logger.info("the Space call %s was dropped; making it again", api_name)
                except _ConnectionLost as exc:
                    # The Space may have restarted: the idle clients are stale too.
                    self._drop_idle()
                    if attempt == _ATTEMPTS:
                        outcome = "unreachable"
                        raise SpaceUnavailable(exc.detail) from exc.__cause__
                    logger.info("%s Reconnecting.", exc.detail)
                except SpaceRejectedInput:
                    outcome, reusable = "rejected", True
                    raise
                except SpaceTimeout:
                    outcome = "timeout"
                    raise
                except SpaceUnavailable:
                    outcome = "bad_answer"
                    raise
                finally:
                    if reusable:
                        self._release(client)
                    else:  # its state is unknown: never reuse it
                        _close_quietly(client)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.upstream_seconds.labels(api=api_name, outcome=outcome).observe(elapsed)
            if outcome != "ok":
                self.metrics.upstream_errors.labels(kind=outcome).inc()
        return raw, elapsed * 1000.0

    def _submit(self, client: Client, api_name: str, args: tuple[Any, ...], timeout: float):
        """One job on ``client``, its failures mapped to gateway errors (CancelledError kept)."""
        try:
            job = client.submit(*args, api_name=api_name)
            try:
                return job.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                job.cancel()
                raise _timeout(self.timeout_s) from None
        except (concurrent.futures.CancelledError, GatewayError):
            raise
        except AppError as exc:
            message = str(exc.message or exc).strip()
            if not message or _UNEXPLAINED_ERROR_MARK in message:
                raise SpaceUnavailable("The model service failed while processing the request.")
            raise SpaceRejectedInput(message) from exc
        except httpx.TimeoutException as exc:
            raise _timeout(self.timeout_s) from exc
        except (httpx.TransportError, ConnectionError) as exc:
            raise _ConnectionLost(
                f"Lost the connection to the model service at {self.url} ({_short(exc)})."
            ) from exc
        except Exception as exc:  # protocol drift, missing endpoint, ...
            logger.warning("the Space call %s failed: %s", api_name, _short(exc))
            raise SpaceUnavailable(
                f"The model service gave no usable answer ({_short(exc)})."
            ) from exc

    def _predict_blocking(
        self, image: bytes, options: DetectOptions, request_id: str
    ) -> SpaceAnswer:
        args = (
            self.wire.encode(image),
            float(options.min_confidence),
            ",".join(options.classes),
            int(options.max_detections),
            float(options.nms_iou),
            bool(options.annotate),
            options.image_format,
            request_id,
        )
        raw, upstream_ms = self._call_blocking(self.wire.api_name, args)
        try:
            result, picture = parse_space_result(
                raw, expect_image=options.annotate, decode=self.wire.decode
            )
        except SpaceUnavailable:
            self.metrics.upstream_errors.labels(kind="bad_answer").inc()
            raise
        return SpaceAnswer(result=result, image=picture, upstream_ms=upstream_ms)

    async def _in_worker(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking call in a worker thread, never waiting much longer than the timeout."""
        # The worker enforces the deadline itself; this outer limit only guards against a
        # worker stuck somewhere gradio_client does not time out (margin for connecting).
        with anyio.move_on_after(self.timeout_s + _WORKER_MARGIN_S) as scope:
            return await anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
        assert scope.cancelled_caught
        self.metrics.upstream_errors.labels(kind="timeout").inc()
        raise _timeout(self.timeout_s)

    async def predict(
        self, image: bytes, options: DetectOptions, request_id: str = ""
    ) -> SpaceAnswer:
        """Detect objects in ``image``; refused at once (503) when too many calls are running."""
        if self._in_flight >= self.max_in_flight:
            self.metrics.upstream_errors.labels(kind="overloaded").inc()
            raise SpaceBusy(
                f"The model service is busy ({self._in_flight} requests in progress). "
                f"Retry in {self.retry_after_s} s.",
                headers={"Retry-After": str(self.retry_after_s)},
            )
        self._in_flight += 1
        self.metrics.upstream_in_flight.inc()
        try:
            return await self._in_worker(self._predict_blocking, image, options, request_id)
        finally:
            self._in_flight -= 1
            self.metrics.upstream_in_flight.dec()

    async def labels(self, refresh: bool = False) -> list[str]:
        """The model's label list, from the cache unless it is older than the cache time."""
        now = time.monotonic()
        if not refresh and self._labels is not None and now - self._labels_at < self.labels_cache_s:
            return self._labels
        raw, _ = await self._in_worker(self._call_blocking, LABELS_API, ())
        labels = parse_labels(raw)
        self._labels, self._labels_at = labels, time.monotonic()
        return labels


def parse_space_result(
    raw: object,
    expect_image: bool = True,
    decode: Callable[[str], bytes] = codec.decode_bytes,
) -> tuple[SpaceResult, bytes | None]:
    """Validate the Space's answer (a JSON text) and decode its annotated image, if any."""
    if not isinstance(raw, str):
        raise SpaceUnavailable(
            f"The model service answered with {type(raw).__name__}, expected a JSON text."
        )
    try:
        result = SpaceResult.model_validate_json(raw)
        picture = None
        if expect_image:
            if result.image is None:
                raise codec.WireFormatError("the annotated image is missing")
            picture = decode(result.image)
            fmt = result.image_format or ("png" if is_png(picture) else None)
            if not (fmt == "png" and is_png(picture)) and not (fmt == "jpeg" and is_jpeg(picture)):
                raise codec.WireFormatError(f"the annotated image is not a {fmt or 'PNG'} file")
            result = result.model_copy(update={"image_format": fmt, "image": None})
    except (ValidationError, codec.WireFormatError) as exc:
        raise SpaceUnavailable(
            f"The model service's answer does not follow the API contract ({_short(exc)})."
        ) from exc
    return result, picture


def parse_labels(raw: object) -> list[str]:
    """Validate the Space's ``/labels`` answer: a JSON list of non-empty strings."""
    try:
        labels = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        labels = None
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise SpaceUnavailable("The model service's label list does not follow the API contract.")
    return labels


def get_space(request: Request) -> SpaceClient:
    """FastAPI dependency: the app's single Space client.

    The lifespan creates it; a host that skips ASGI lifespan events (some serverless
    runtimes do) gets it created here on the first request instead.
    """
    state = request.app.state
    space = getattr(state, "space", None)
    if space is None:
        space = state.space = build_space_client(state.settings, state.metrics)
    return space


def build_space_client(settings: Any, metrics: GatewayMetrics) -> SpaceClient:
    return SpaceClient(
        settings.space_url,
        settings.upstream_timeout_s,
        max_in_flight=settings.max_in_flight,
        retry_after_s=settings.retry_after_s,
        labels_cache_s=settings.labels_cache_s,
        metrics=metrics,
        wire=settings.space_wire,
    )


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
