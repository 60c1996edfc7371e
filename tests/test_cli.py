"""``python -m model_package`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def test_cli_prints_json_and_writes_annotated_images(tmp_path, skimage_dir):
    photos = [skimage_dir / "chelsea.png", skimage_dir / "coffee.png"]
    result = subprocess.run(
        [sys.executable, "-m", "model_package", *map(str, photos), "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [d["label"] for d in out[str(photos[0])]["detections"]] == ["cat"]
    assert {d["label"] for d in out[str(photos[1])]["detections"]} == {"cup", "dining table"}
    annotated = Image.open(tmp_path / "coffee.annotated.png")
    assert annotated.size == (600, 400)


def test_cli_reports_bad_files_and_fails(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    result = subprocess.run(
        [sys.executable, "-m", "model_package", str(text)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "notes.txt" in result.stderr and "Accepted formats" in result.stderr
