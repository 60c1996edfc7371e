"""Cheap checks on uploaded image bytes, done before anything is sent to the Space.

Only the image header is read (Pillow opens lazily); pixels are never decoded here. The format
is decided by the bytes' content, never by the file name or the declared content type.
"""

from __future__ import annotations

import io
import re
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
# Pillow names some JPEG files (phone photos with a second, preview picture) "MPO".
_FORMAT_ALIASES = {"MPO": "JPEG"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"


class NotAnImage(ValueError):
    """The bytes are not an image of an accepted format; the message says why."""


class DamagedImage(NotAnImage):
    """The bytes start like an accepted format, but the header cannot be read (cut short?)."""


class TooManyPixels(ValueError):
    """The header announces more pixels than the limit; the message says how many."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def not_an_image_message(what: str = "The file is not an image this service can read.") -> str:
    return f"{what} Accepted formats: {ACCEPTED_FORMATS_TEXT}."


def sniff_image(data: bytes, max_pixels: int | None = None) -> ImageInfo:
    """Identify the image format and size from the bytes' header; check the pixel limit.

    A header that declares a huge image is refused from its numbers alone, so a few bytes
    claiming 40000 x 40000 pixels cost nothing. Pillow's own decompression-bomb guard (which
    fires during ``open`` above about 179 megapixels) is reported the same way: too many
    pixels (413), not "not an image" (415).
    """
    if not data:
        raise NotAnImage(not_an_image_message("The uploaded file is empty."))
    try:
        with warnings.catch_warnings():
            # Pillow warns between ~89 and ~179 megapixels; the limit below decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(_too_many_pixels(_declared_pixels(str(exc)), None, max_pixels))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        # SyntaxError is what some Pillow plugins raise for a malformed header.
        looks_like = signature_format(data)
        if looks_like is not None:
            raise DamagedImage(
                not_an_image_message(
                    f"The file starts like a {ACCEPTED_FORMATS[looks_like]} image but is damaged "
                    "or incomplete."
                )
            ) from exc
        raise NotAnImage(not_an_image_message()) from exc
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in ACCEPTED_FORMATS:
        raise NotAnImage(not_an_image_message(f"{fmt or 'These'} images are not supported."))
    if width <= 0 or height <= 0:
        raise NotAnImage(not_an_image_message("The image has no pixels."))
    if max_pixels is not None and width * height > max_pixels:
        raise TooManyPixels(_too_many_pixels(width * height, (width, height), max_pixels))
    return ImageInfo(format=fmt, width=width, height=height)


def signature_format(data: bytes) -> str | None:
    """The accepted format whose magic bytes ``data`` starts with, if any."""
    if data.startswith(JPEG_SIGNATURE):
        return "JPEG"
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:2] == b"BM" and len(data) >= 14:
        return "BMP"
    return None


def _declared_pixels(pillow_message: str) -> int | None:
    match = re.search(r"\((\d+) pixels\)", pillow_message)
    return int(match.group(1)) if match else None


def _too_many_pixels(pixels: int | None, size: tuple[int, int] | None, limit: int | None) -> str:
    if size is not None:
        what = f"The image is {size[0]} x {size[1]} pixels ({pixels:,})"
    elif pixels is not None:
        what = f"The image declares {pixels:,} pixels"
    else:
        what = "The image declares too many pixels"
    if limit is not None:
        return f"{what}; at most {limit:,} pixels are accepted."
    return f"{what}."


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)


def is_jpeg(data: bytes) -> bool:
    return data.startswith(JPEG_SIGNATURE)
