"""Wire formats for bytes sent to and received from the Space.

The Space's documented API (``/predict``) carries binary data as a JSON text holding a list of
integers 0-255, one per byte (for example ``"[137, 80, 78, 71]"``): plain strings that every
Gradio client can send, at about 3.6 characters a byte. ``/predict_base64`` takes and returns
the same data as base64 (1.33 characters a byte), which the gateway uses by default.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

# The text of each byte value, and the size of the slices encoded at a time: building the
# text slice by slice never holds a Python list with one entry per byte of the whole file.
_BYTE_TEXT = [str(value) for value in range(256)]
_CHUNK = 1 << 16
# Anything but digits, commas, brackets and blanks: not a plain list of non-negative ints
# (this is what rejects true/false, which bytes() would take as 1/0).
_NOT_DIGITS_LIST = re.compile(r"[^0-9,\s\[\]]")


class WireFormatError(ValueError):
    """The text is not a JSON list of integers 0-255."""


def encode_bytes(data: bytes) -> str:
    """Turn raw bytes into the wire text: a JSON list of byte values."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    # No spaces: the list is long and nobody reads it. Same text as
    # json.dumps(list(data), separators=(",", ":")), in about half the time and memory.
    data = bytes(data)
    lookup = _BYTE_TEXT.__getitem__
    slices = (
        ",".join(map(lookup, data[start : start + _CHUNK])) for start in range(0, len(data), _CHUNK)
    )
    return "[" + ",".join(slices) + "]"


def decode_bytes(wire: str | Sequence[int]) -> bytes:
    """Turn wire text back into bytes, rejecting anything that is not a list of bytes.

    A list that was already parsed from JSON is accepted too, so a caller that received
    the value nested in a JSON document does not have to re-encode it first.
    """
    if isinstance(wire, str) and not _NOT_DIGITS_LIST.search(wire):
        # Fast path: bytes() checks the range and type of every item in C.
        try:
            values = json.loads(wire)
            if isinstance(values, list):
                return bytes(values)
        except (ValueError, TypeError, RecursionError):
            pass  # the checks below say precisely what is wrong
    if isinstance(wire, (str, bytes, bytearray)):
        try:
            values = json.loads(wire)
        except (ValueError, RecursionError) as exc:
            raise WireFormatError(f"byte list is not valid JSON: {exc}") from None
    else:
        values = wire
    if not isinstance(values, list):
        raise WireFormatError(f"byte list must be a JSON list, got {type(values).__name__}")
    # bool is a subclass of int, and JSON true/false must not pass as 1/0.
    for index, value in enumerate(values):
        if type(value) is not int:
            raise WireFormatError(
                f"byte list item {index} is {type(value).__name__}, expected an integer 0-255"
            )
        if not 0 <= value <= 255:
            raise WireFormatError(f"byte list item {index} is {value}, outside 0-255")
    return bytes(values)


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_base64(wire: str) -> bytes:
    """Strict base64 (no stray characters), as the Space writes it."""
    try:
        return base64.b64decode(wire, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise WireFormatError(f"not valid base64: {exc}") from None


class Wire(NamedTuple):
    """How one Space endpoint carries bytes."""

    api_name: str
    encode: Callable[[bytes], str]
    decode: Callable[[str], bytes]


WIRES = {
    "bytelist": Wire("/predict", encode_bytes, decode_bytes),
    "base64": Wire("/predict_base64", encode_base64, decode_base64),
}
