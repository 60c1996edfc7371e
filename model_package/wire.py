"""How the Space's API carries file bytes inside JSON text.

``bytelist`` is the documented format: a JSON list of ints 0-255 (about 3.6 characters a byte).
``base64`` is the compact alternative (1.33 characters a byte)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Callable, NamedTuple


class WireFormatError(ValueError):
    """The text does not hold bytes in the expected wire format."""


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


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise WireFormatError("image must be a base64 string") from exc


class Wire(NamedTuple):
    decode: Callable[[str], bytes]
    encode: Callable[[bytes], str]
    chars_per_byte: float  # the most text one byte can take, to bound a payload before parsing


WIRES = {
    "bytelist": Wire(decode_bytes, encode_bytes, 4.0),
    "base64": Wire(decode_base64, encode_base64, 4 / 3),
}
