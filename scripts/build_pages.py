"""Assemble the GitHub Pages site: ``python scripts/build_pages.py OUT_DIR --gateway-url URL``.

Copies web_client/ into OUT_DIR and writes its config.js with the production gateway's URL
(deploy.yml passes the repository variable GATEWAY_URL). The page on Pages is served from
another origin than the gateway, so an empty URL is refused; the gateway must also list the
Pages origin in GATEWAY_CORS_ORIGINS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web_client"

CONFIG_JS = """\
// Written by scripts/build_pages.py for the GitHub Pages deployment.
window.GATEWAY_URL = {url};
"""


def build(out: Path, gateway_url: str) -> Path:
    url = gateway_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SystemExit(f"the gateway URL must be an absolute http(s) URL, got {gateway_url!r}")
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; name a new or empty folder")
    shutil.copytree(WEB, out, dirs_exist_ok=True)
    (out / "config.js").write_text(CONFIG_JS.format(url=json.dumps(url)), encoding="utf-8")
    # Pages would otherwise run the files through Jekyll.
    (out / ".nojekyll").write_text("", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gateway-url", required=True, help="the production gateway's URL")
    args = parser.parse_args(argv)
    out = build(args.out, args.gateway_url)
    print(f"{out}: web_client with GATEWAY_URL={args.gateway_url.strip().rstrip('/')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
