"""Check that the gateway's dependency lists agree.

The gateway's dependencies are written down three times, each for a different installer:

* ``api_gateway/requirements.txt`` - the gateway's own list (the reference);
* ``api/requirements.txt`` - what Vercel installs: its Python runtime takes the manifest nearest
  to the entrypoint ``api/index.py`` and does not follow ``-r`` includes, so the list is copied;
* the ``gateway`` extra in ``pyproject.toml`` - what the dev venv installs.

Exit status 1, with the differences, when they disagree. A missing reference file is reported
but not an error (the gateway may not have been written yet).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "api_gateway" / "requirements.txt"
VERCEL = ROOT / "api" / "requirements.txt"
PYPROJECT = ROOT / "pyproject.toml"


def _normalise(requirement: str) -> str:
    """Lower-case the project name, unify ``-``/``_``/``.``, drop spaces and extras order."""
    req = requirement.split(";")[0].strip().replace(" ", "")
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$", req)
    if not match:
        return req
    name, rest = match.groups()
    return re.sub(r"[-_.]+", "-", name).lower() + rest


def read_requirements(path: Path) -> set[str]:
    result = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            raise SystemExit(f"{path.relative_to(ROOT)}: option lines are not supported: {line}")
        result.add(_normalise(line))
    return result


def read_gateway_extra(path: Path) -> set[str]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    extra = data.get("project", {}).get("optional-dependencies", {}).get("gateway", [])
    return {_normalise(req) for req in extra}


def main() -> int:
    if not REFERENCE.exists():
        print(f"note: {REFERENCE.relative_to(ROOT)} does not exist yet; nothing to compare")
        return 0
    reference = read_requirements(REFERENCE)
    others = {
        str(VERCEL.relative_to(ROOT)): read_requirements(VERCEL) if VERCEL.exists() else set(),
        "pyproject.toml [gateway] extra": read_gateway_extra(PYPROJECT),
    }
    ok = True
    for name, reqs in others.items():
        missing, extra = sorted(reference - reqs), sorted(reqs - reference)
        if missing or extra:
            ok = False
            print(f"{name} differs from {REFERENCE.relative_to(ROOT)}:")
            for req in missing:
                print(f"  missing: {req}")
            for req in extra:
                print(f"  not in the reference: {req}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
