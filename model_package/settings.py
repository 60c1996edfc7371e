"""Where the package finds the weights and keeps its converted model, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "image-recognition"


# The engines that can run the graph (model_package/engine.py); the first is the default.
BACKENDS = ("onnxruntime", "opencv")


@dataclass(frozen=True)
class PackageSettings:
    """``MODEL_WEIGHTS_DIR``: a folder holding model.json and the shards (offline install).
    ``MODEL_CACHE_DIR``: where fetched weights and the converted ONNX graph are kept.
    ``MODEL_BACKEND``: the engine of the forward pass, ``onnxruntime`` (default) or ``opencv``."""

    weights_dir: Path | None = None
    cache_dir: Path = _default_cache_dir()
    backend: str = BACKENDS[0]

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown model backend {self.backend!r}: use one of {', '.join(BACKENDS)}"
            )

    @classmethod
    def from_env(cls) -> "PackageSettings":
        weights = os.environ.get("MODEL_WEIGHTS_DIR")
        cache = os.environ.get("MODEL_CACHE_DIR")
        backend = os.environ.get("MODEL_BACKEND", "").strip().lower() or BACKENDS[0]
        return cls(
            weights_dir=Path(weights).expanduser() if weights else None,
            cache_dir=Path(cache).expanduser() if cache else _default_cache_dir(),
            backend=backend,
        )
