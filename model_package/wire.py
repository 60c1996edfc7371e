"""The Space's documented wire format for bytes: a JSON string holding a list of ints 0-255."""

from __future__ import annotations

import json


class WireFormatError(ValueError):
    """The text is not a JSON list of integers 0-255."""


def encode_bytes(data: bytes) -> str:
    return json.dumps(list(data), separators=(",", ":"))


def decode_bytes(text: str) -> bytes:
    try:
        values = json.loads(text)
        if not isinstance(values, list):
            raise TypeError("not a list")
        return bytes(values)
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise WireFormatError(
            "image must be a JSON string holding a list of integers 0-255"
        ) from exc
