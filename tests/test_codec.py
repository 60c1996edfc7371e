"""Decoding uploads by content (formats, EXIF, alpha, 16-bit), encoding, and the wire format."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model_package.codec import ImageDecodeError, decode_image, encode_image
from model_package.wire import WireFormatError, decode_bytes, encode_bytes


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def chelsea(skimage_dir) -> Image.Image:
    return Image.open(skimage_dir / "chelsea.png").convert("RGB")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_formats_decode_to_rgb(chelsea, fmt):
    image = decode_image(_encode(chelsea, fmt))
    assert image.shape == (300, 451, 3) and image.dtype == np.uint8
    # Lossy formats differ a little; every format keeps the picture.
    assert np.abs(image.astype(int) - np.asarray(chelsea)).mean() < 12


def test_exif_orientation_is_applied(chelsea):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer rotates it 90 degrees clockwise
    data = _encode(chelsea.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes())
    assert decode_image(data).shape == (300, 451, 3)


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert decode_image(_encode(rgba, "PNG"))[0, 0].tolist() == [255, 255, 255]


def test_16_bit_grayscale_is_scaled():
    gray16 = Image.fromarray(np.full((3, 3), 65535, np.uint16))
    assert decode_image(_encode(gray16, "PNG"))[0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"hello, I am text", "Accepted formats"),
        (b"\x89PNG\r\n\x1a\n", "Accepted formats"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "Accepted formats"),
    ],
)
def test_non_images_are_rejected_with_a_message(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_pixel_limit_is_checked_before_decoding(chelsea):
    with pytest.raises(ImageDecodeError, match="300 x 300|451 x 300"):
        decode_image(_encode(chelsea, "PNG"), max_pixels=1000)


def test_truncated_file_decodes_or_fails_cleanly(chelsea):
    data = _encode(chelsea, "PNG")[:5000]
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_encode_png_and_jpeg_round_trip(chelsea):
    array = np.asarray(chelsea)
    png = encode_image(array, "png")
    assert png.startswith(b"\x89PNG") and np.array_equal(decode_image(png), array)
    jpeg = encode_image(array, "jpeg")
    assert jpeg.startswith(b"\xff\xd8") and decode_image(jpeg).shape == array.shape
    with pytest.raises(ValueError):
        encode_image(array, "gif")


def test_wire_format_round_trip_and_validation():
    data = bytes(range(256))
    text = encode_bytes(data)
    assert text.startswith("[0,1,2") and decode_bytes(text) == data
    for bad in ["nonsense", "[1, 256]", "[-1]", '{"a": 1}', "[1.5]", '["a"]']:
        with pytest.raises(WireFormatError):
            decode_bytes(bad)


def test_base64_wire_round_trip_and_validation():
    from model_package.wire import WIRES

    wire = WIRES["base64"]
    data = bytes(range(256))
    assert wire.decode(wire.encode(data)) == data
    assert len(wire.encode(data)) <= len(data) * wire.chars_per_byte + 4
    with pytest.raises(WireFormatError):
        wire.decode("not base64 !!")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_opencv_fast_path_gives_pillows_pixels(chelsea, fmt, mode):
    """Plain JPEG/PNG files are decoded by OpenCV; the pixels must be Pillow's, bit for bit."""
    data = _encode(chelsea.convert(mode), fmt)
    with Image.open(io.BytesIO(data)) as img:
        expected = np.asarray(img.convert("RGB"))
    assert np.array_equal(decode_image(data), expected)


def test_truncated_jpeg_is_still_refused(chelsea):
    data = _encode(chelsea, "JPEG")
    with pytest.raises(ImageDecodeError):
        decode_image(data[: len(data) // 2])


def test_mpo_phone_jpeg_is_accepted(chelsea):
    """Phones write MPO (a JPEG with extra frames); it decodes as its first, main picture."""
    second = chelsea.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    data = _encode(chelsea, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    image = decode_image(data)
    assert image.shape == (300, 451, 3)
    assert np.abs(image.astype(int) - np.asarray(chelsea)).mean() < 12


def test_a_header_beyond_pillows_own_limit_says_too_many_pixels():
    """A 100 000 x 100 000 PNG header (Pillow alone would call it no image): our limit speaks."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)  # a little data: the header is what counts
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    with pytest.raises(ImageDecodeError, match="100000 x 100000 pixels; at most"):
        decode_image(data)
