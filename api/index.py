"""Vercel entrypoint: the Python runtime serves the ASGI object named ``app`` in this file.

vercel.json rewrites every path here; the FastAPI app sees the original request path.
"""

import sys
from pathlib import Path

# Make the repository root importable however the runtime sets sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api_gateway.app import app  # noqa: E402

__all__ = ["app"]
