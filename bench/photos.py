"""The benchmark's photos: scikit-image's four bundled photos at about 0.3, 1, 3 and 12 MP,
as JPEG and PNG.

Only the ~0.3 MP originals are real camera resolution; the larger sizes are the same photos
enlarged with Pillow's LANCZOS filter (there are no larger real photos offline). Enlarged photos
are smoother than real ones, so they compress better and decode a little faster. The files are
built once and kept in the model cache folder."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

SOURCES = ("astronaut", "coffee", "chelsea", "motorcycle_left")
# Label -> target pixel count; "0.3MP" keeps each photo at its own size (0.14-0.37 MP).
SIZES = {"0.3MP": None, "1MP": 1_000_000, "3MP": 3_000_000, "12MP": 12_000_000}
FORMATS = ("jpeg", "png")
JPEG_QUALITY = 90
_VERSION = "1"


@dataclass(frozen=True)
class Photo:
    name: str  # e.g. "coffee"
    size: str  # a key of SIZES
    fmt: str  # "jpeg" or "png"
    path: Path
    width: int
    height: int

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def _source(name: str) -> Image.Image:
    import skimage.data

    with Image.open(Path(skimage.data.data_dir) / f"{name}.png") as image:
        return image.convert("RGB")


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def build(cache_dir: Path) -> list[Photo]:
    """Every (photo, size, format), created on first use under ``cache_dir``."""
    folder = cache_dir / f"bench-photos-v{_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for name in SOURCES:
        original = None
        for size, target in SIZES.items():
            for fmt in FORMATS:
                path = folder / f"{name}-{size}.{'jpg' if fmt == 'jpeg' else 'png'}"
                if not path.exists():
                    original = original or _source(name)
                    image = original
                    if target:
                        scale = math.sqrt(target / (original.width * original.height))
                        new_size = (round(original.width * scale), round(original.height * scale))
                        image = original.resize(new_size, Image.LANCZOS)
                    tmp = path.with_suffix(".tmp")
                    tmp.write_bytes(_encode(image, fmt))
                    tmp.replace(path)
                with Image.open(path) as img:
                    width, height = img.size
                photos.append(Photo(name, size, fmt, path, width, height))
    return photos


def select(photos: list[Photo], size: str | None = None, fmt: str | None = None) -> list[Photo]:
    return [p for p in photos if (size is None or p.size == size) and (fmt is None or p.fmt == fmt)]
