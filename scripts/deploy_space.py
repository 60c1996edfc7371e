"""Upload a folder made by build_space.py to the Hugging Face Space: ``deploy_space.py DIR``.

Reads ``HF_TOKEN`` (a write token) and ``HF_SPACE_ID`` (``owner/name``) from the environment.
Creates the Space (Gradio SDK) if it does not exist, then replaces its files with the folder's
in one commit: files the folder no longer has are deleted, except the Space's own
``.gitattributes``. Hugging Face rebuilds and restarts the Space after the commit.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Patterns of remote files to delete unless the upload brings them again (fnmatch on the path,
# where "*" also matches "/"). .gitattributes is not listed, so the Space keeps it.
STALE = ["*.py", "*.md", "*.txt", "*.jpg", "*.jpeg", "*.png", "*.json", "LICENSE"]


def deploy(folder: Path, space_id: str, token: str, message: str):
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(space_id, repo_type="space", space_sdk="gradio", exist_ok=True)
    return api.upload_folder(
        repo_id=space_id,
        repo_type="space",
        folder_path=folder,
        commit_message=message,
        delete_patterns=STALE,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the folder build_space.py wrote")
    parser.add_argument("--message", default="Deploy from CI", help="commit message")
    args = parser.parse_args(argv)
    missing = [name for name in ("HF_TOKEN", "HF_SPACE_ID") if not os.environ.get(name)]
    if missing:
        parser.error(f"set {' and '.join(missing)} in the environment")
    if not (args.folder / "app.py").is_file():
        parser.error(f"{args.folder} has no app.py: run scripts/build_space.py first")
    info = deploy(args.folder, os.environ["HF_SPACE_ID"], os.environ["HF_TOKEN"], args.message)
    print(f"uploaded {args.folder} to Space {os.environ['HF_SPACE_ID']}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
