"""Image bytes in and out: decode any common format to RGB by content, encode PNG or JPEG."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WebP", "BMP", "TIFF", "GIF")
# Pillow's names for what we accept; MPO is the JPEG variant many phone cameras write.
_PILLOW_FORMATS = {f.upper() for f in ACCEPTED_FORMATS} | {"MPO"}
DEFAULT_MAX_PIXELS = 40_000_000
# decode_image checks the caller's pixel limit from the header before decoding anything, so
# Pillow's own decompression-bomb ceiling (which would call a huge image "not an image") is off.
Image.MAX_IMAGE_PIXELS = None


class ImageDecodeError(ValueError):
    """The bytes are not an image we can read; the message is fit to show to a user."""


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """RGB uint8 array (H x W x 3) of an encoded image, upright per its EXIF orientation.

    Alpha is composited on white; the pixel count is checked from the header before decoding."""
    if not data:
        raise ImageDecodeError("The file is empty.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in _PILLOW_FORMATS:
                raise ImageDecodeError(_not_an_image(img.format))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageDecodeError(
                    f"The image is {width} x {height} pixels; at most {max_pixels:,} are accepted."
                )
            fast = _decode_plain_with_opencv(data, img)
            if fast is not None:
                return fast
            img.seek(0)  # first frame of an animation
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(_not_an_image(None)) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageDecodeError(f"The image could not be decoded ({exc}).") from exc


_PNG_END = b"IEND\xaeB`\x82"
_JPEG_END = b"\xff\xd9"


def _decode_plain_with_opencv(data: bytes, img: Image.Image) -> np.ndarray | None:
    """The pixels of a complete 8-bit RGB or grayscale JPEG/PNG without alpha, decoded by OpenCV
    (1.5x faster than Pillow at 1 MP, 3x at 12 MP, same pixels: both use libjpeg-turbo and
    apply the EXIF orientation); None for every other file, which Pillow then decodes."""
    if img.mode not in ("RGB", "L") or "transparency" in img.info:
        return None
    if img.format in ("JPEG", "MPO"):
        if not data.rstrip(b"\x00").endswith(_JPEG_END):  # truncated: let Pillow refuse it
            return None
    elif img.format == "PNG":
        # IHDR: bit depth 8, colour type 0 (gray) or 2 (RGB); the file must end with IEND.
        if data[24] != 8 or data[25] not in (0, 2) or not data.endswith(_PNG_END):
            return None
    else:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        return None
    return image


def _not_an_image(found: str | None) -> str:
    what = f"a {found} file" if found else "not an image we can read"
    return f"The file is {what}. Accepted formats: {', '.join(ACCEPTED_FORMATS)}."


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit grayscale: scale to 8 bits
        array = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        gray = np.clip(array * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "P" or img.mode == "PA" or img.mode == "LA" or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"))


def encode_image(image: np.ndarray, image_format: str = "png") -> bytes:
    """Encode an RGB uint8 image as PNG or JPEG bytes."""
    extension = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg"}.get(image_format.lower())
    if extension is None:
        raise ValueError(f"unsupported output format {image_format!r}: use png or jpeg")
    # PNG: fastest zlib level, the "sub" filter and run-length matching: half the time of
    # level 1 with adaptive filters for a 2 % larger file on photos (README, Performance).
    params = (
        [
            cv2.IMWRITE_PNG_COMPRESSION,
            1,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FILTER_SUB,
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
        ]
        if extension == ".png"
        else []
    )
    ok, buffer = cv2.imencode(extension, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError("encoding failed")
    return buffer.tobytes()
