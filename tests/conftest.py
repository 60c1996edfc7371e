"""Fixtures that run the real services as separate processes on 127.0.0.1.

Each service's output goes to ``test-output/<name>.log`` for debugging a failed run.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = REPO_ROOT / "test-output"
FAKE_SPACE = Path(__file__).resolve().parent / "fake_space.py"

# The tests import api_gateway; make that work whatever directory pytest is started from.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SPACE_START_TIMEOUT_S = 120.0
GATEWAY_START_TIMEOUT_S = 30.0
FAKE_SPACE_START_TIMEOUT_S = 60.0

# Images from scikit-image's bundled data, used byte for byte as uploads.
PHOTO_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    env.update(overrides)
    return env


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Processes:
    """Starts service processes, waits until they answer HTTP, and stops them all."""

    def __init__(self) -> None:
        self._running: list[tuple[subprocess.Popen, object]] = []
        self.by_name: dict[str, subprocess.Popen] = {}
        LOG_DIR.mkdir(exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str], url: str, timeout_s: float):
        log_path = LOG_DIR / f"{name}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._running.append((proc, log))
        self.by_name[name] = proc
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"{name} exited with code {proc.returncode} before answering at {url}; "
                    f"log {log_path}:\n{_log_tail(log_path)}"
                )
            try:
                httpx.get(url, timeout=2.0)
                return proc
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{name} did not answer at {url} within {timeout_s:g} s; "
                    f"log {log_path}:\n{_log_tail(log_path)}"
                )
            time.sleep(0.25)

    def stop(self, name: str) -> None:
        """Stop one process started as ``name`` (its log stays open until ``stop_all``)."""
        proc = self.by_name[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc, log in reversed(self._running):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, log in reversed(self._running):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            log.close()
        self._running.clear()


@pytest.fixture
def free_tcp_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
def start_gateway(processes: Processes) -> Callable[..., str]:
    """Start ``python -m api_gateway`` against ``space_url``; returns the gateway's base URL.

    Extra keyword arguments become ``GATEWAY_<NAME>`` environment variables.
    """
    counter = iter(range(1000))

    def start(space_url: str, name: str | None = None, **settings: object) -> str:
        port = free_port()
        env = _child_env(
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(port),
            GATEWAY_SPACE_URL=space_url,
            **{f"GATEWAY_{k.upper()}": str(v) for k, v in settings.items()},
        )
        url = f"http://127.0.0.1:{port}"
        label = name or f"gateway-{next(counter)}"
        processes.start(
            label, ["-m", "api_gateway"], env, url + "/healthz", GATEWAY_START_TIMEOUT_S
        )
        return url

    return start


@pytest.fixture(scope="session")
def start_fake_space(processes: Processes) -> Callable[..., str]:
    """Start tests/fake_space.py (the Space contract without a model); returns its URL."""

    def start(name: str, delay_s: float = 0.0, port: int | None = None) -> str:
        port = port or free_port()
        env = _child_env(FAKE_SPACE_DELAY_S=str(delay_s))
        url = f"http://127.0.0.1:{port}/"
        processes.start(name, [str(FAKE_SPACE), str(port)], env, url, FAKE_SPACE_START_TIMEOUT_S)
        return url

    return start


@pytest.fixture(scope="session")
def space_url(processes: Processes) -> str:
    """The real model Space (``python -m model_space``)."""
    port = free_port()
    env = _child_env(MODEL_SPACE_HOST="127.0.0.1", MODEL_SPACE_PORT=str(port))
    url = f"http://127.0.0.1:{port}/"
    processes.start("model_space", ["-m", "model_space"], env, url, SPACE_START_TIMEOUT_S)
    return url


@pytest.fixture(scope="session")
def gateway_url(space_url: str, start_gateway: Callable[..., str]) -> str:
    """A gateway in front of the real model Space."""
    return start_gateway(space_url, name="gateway")


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory, skimage_dir: Path) -> dict[str, Path]:
    """name -> path of scikit-image's sample photos (the original PNG files, not re-encoded)."""
    folder = tmp_path_factory.mktemp("photos")
    found = {}
    for filename in PHOTO_FILES:
        source = skimage_dir / filename
        # Copied so a test can never alter the installed package's data.
        target = folder / filename
        shutil.copyfile(source, target)
        found[Path(filename).stem] = target
    return found


# --- gateway API tests ------------------------------------------------------------------------

#: Keys of the gateway started by ``auth_gateway_url``.
TEST_API_KEYS = ("test-key-one-5f2c9a", "test-key-two-81d0e7")


def log_path(name: str) -> Path:
    """Where a process started by the fixtures writes its output."""
    return LOG_DIR / f"{name}.log"


@pytest.fixture(scope="session")
def fake_space_url(start_fake_space: Callable[..., str]) -> str:
    """One fast fake Space (tests/fake_space.py) shared by the gateway tests."""
    return start_fake_space("fake_space")


@pytest.fixture(scope="session")
def fake_gateway_url(fake_space_url: str, start_gateway: Callable[..., str]) -> str:
    """A gateway with default settings in front of the shared fake Space."""
    return start_gateway(fake_space_url, name="gateway-on-fake")


@pytest.fixture(scope="session")
def fake_space_calls(fake_space_url: str) -> Callable[[str], list[dict]]:
    """``calls(request_id)``: the options the shared fake Space received with that request id."""
    import json

    from gradio_client import Client

    client = Client(fake_space_url, verbose=False)
    return lambda request_id: json.loads(client.predict(request_id, api_name="/calls"))


@pytest.fixture(scope="session")
def api_keys() -> tuple[str, ...]:
    """The keys ``auth_gateway_url`` accepts."""
    return TEST_API_KEYS


@pytest.fixture(scope="session")
def process_log() -> Callable[[str], str]:
    """``text(name)``: everything a process started by the fixtures has written so far."""
    return lambda name: log_path(name).read_text(errors="replace")


@pytest.fixture(scope="session")
def gateway_log() -> Callable[[str], list[dict]]:
    """``records(name)``: the JSON access-log lines a gateway started by the fixtures wrote."""
    import json

    def records(name: str) -> list[dict]:
        found = []
        for line in log_path(name).read_text(errors="replace").splitlines():
            if line.startswith('{"time"'):
                found.append(json.loads(line))
        return found

    return records


@pytest.fixture(scope="session")
def auth_gateway_url(space_url: str, start_gateway: Callable[..., str]) -> str:
    """A gateway in front of the real Space that requires one of ``TEST_API_KEYS``."""
    return start_gateway(space_url, name="gateway-auth", api_keys=",".join(TEST_API_KEYS))


@pytest.fixture(scope="session")
def sample_images(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]):
    """name -> file bytes: chelsea (a cat) in every accepted format and flavour, made with Pillow.

    The matching upright RGB picture is ``sample_images["_upright"]`` (a PIL image).
    """
    import numpy as np
    from PIL import Image

    with Image.open(photos["chelsea"]) as source:
        rgb = source.convert("RGB")

    def encode(image: "Image.Image", fmt: str, **options) -> bytes:
        out = io.BytesIO()
        image.save(out, format=fmt, **options)
        return out.getvalue()

    gray16 = Image.fromarray(
        (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    )
    assert gray16.mode.startswith("I;16")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.new("L", rgb.size, 200))
    images = {
        "jpeg": encode(rgb, "JPEG", quality=92),
        "jpeg_progressive": encode(rgb, "JPEG", quality=92, progressive=True),
        "jpeg_cmyk": encode(rgb.convert("CMYK"), "JPEG", quality=92),
        "jpeg_grayscale": encode(rgb.convert("L"), "JPEG", quality=92),
        "png": encode(rgb, "PNG"),
        "png_palette": encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "png_grayscale": encode(rgb.convert("L"), "PNG"),
        "png_16bit": encode(gray16, "PNG"),
        "png_alpha": encode(rgba, "PNG"),
        "webp": encode(rgb, "WEBP", quality=90),
        "webp_lossless": encode(rgb, "WEBP", lossless=True),
        "bmp": encode(rgb, "BMP"),
        "tiff": encode(rgb, "TIFF"),
        "tiff_deflate": encode(rgb, "TIFF", compression="tiff_adobe_deflate"),
        "gif": encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"),
    }
    return {"_upright": rgb, **images}


# --- the model package ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def skimage_dir() -> Path:
    """scikit-image's bundled sample photos (a test dependency)."""
    import skimage.data

    return Path(skimage.data.data_dir)


@pytest.fixture(scope="session", params=["onnxruntime", "opencv"])
def engine_detector(request):
    """The real detector on each forward engine: fidelity must hold for both."""
    from dataclasses import replace

    from model_package import Detector, PackageSettings

    return Detector.load(replace(PackageSettings.from_env(), backend=request.param))


@pytest.fixture(scope="session")
def detector():
    """The real detector, loaded once from the conversion cache (`make model` fills it)."""
    from model_package import Detector

    return Detector.load()


# --- the browser ------------------------------------------------------------------------------

#: Debian's Chromium package; Playwright's own browser download is not used.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOT_DIR = LOG_DIR / "browser"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session, driven by Playwright (a dev dependency).

    No Chromium is a failure in CI, where the browser tests must run; elsewhere a skip that
    says what to install.
    """
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        message = (
            f"no Chromium at {CHROMIUM}: the browser tests drive Debian's chromium package "
            "(apt-get install chromium; .ci/run installs it), never Playwright's own download"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def launch_chromium(chromium) -> Callable[..., object]:
    """``launch(*flags)``: another Chromium with extra command-line flags; the caller closes it."""
    return lambda *flags: chromium.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *flags]
    )


@pytest.fixture
def screenshot_dir() -> Path:
    """Where the browser tests write their screenshots: test-output/browser/."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@pytest.fixture
def browser_page(chromium, request: pytest.FixtureRequest):
    """A fresh page (own context, 1280x900, light scheme). JavaScript errors fail the test; the
    page as it was at the end is saved to test-output/browser/<test>-end.png."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
        page.screenshot(path=SCREENSHOT_DIR / f"{name}-end.png", full_page=True)
        assert not errors, f"JavaScript errors in the page: {errors}"
    finally:
        context.close()
