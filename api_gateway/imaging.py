"""Cheap checks on uploaded image bytes, done before anything is sent to the Space.

Only the image header is read (Pillow opens lazily); pixels are never decoded here.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Pillow format names the detector's decoder reads, and how to name them to a person.
ACCEPTED_FORMATS = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WebP",
    "BMP": "BMP",
    "TIFF": "TIFF",
    "GIF": "GIF",
}
ACCEPTED_FORMATS_TEXT = ", ".join(ACCEPTED_FORMATS.values())
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotAnImage(ValueError):
    """The bytes are not an image of an accepted format; the message says why."""


class TooManyPixels(ValueError):
    """The header announces more pixels than Pillow's decompression-bomb limit."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def sniff_image(data: bytes) -> ImageInfo:
    """Identify the image format from the bytes' content, reading the header only."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than raises) between 1x and 2x the pixel limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(str(exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # SyntaxError is what some Pillow plugins raise for a malformed header.
        raise NotAnImage(
            f"The file is not an image this service can read. Accepted formats: "
            f"{ACCEPTED_FORMATS_TEXT}."
        ) from exc
    if fmt not in ACCEPTED_FORMATS:
        raise NotAnImage(
            f"{fmt or 'This'} images are not supported. Accepted formats: {ACCEPTED_FORMATS_TEXT}."
        )
    return ImageInfo(format=fmt, width=width, height=height)


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)
