"""A learner's picture file, checked and decoded: the painting lab paints one, the image lab
classifies one. Pillow decodes; nothing else here reads the bytes.

An upload is checked before it is decoded: its bytes, then its format and its size in pixels
(read from its header), so a file that is not a picture, too large, or a "decompression bomb"
is refused with a sentence naming what was wrong and nothing else changes. A picture is an RGB
array of uint8, [height, width, 3], its longer side `size` pixels or less (never enlarged).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from .messages import said

FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF")  # what an upload may be


class PictureError(ValueError):
    """A picture that cannot be used; `key` is the field ("picture"), `message` a `Said`."""

    def __init__(self, message: str, key: str = "picture"):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def _pil():  # Pillow decodes; imported on first use so the other labs never load it
    from PIL import Image, ImageOps

    return Image, ImageOps


def decode_upload(data: bytes, size: int, max_bytes: int, max_pixels: int) -> np.ndarray:
    """A learner's file as a picture at `size`, or a `PictureError` saying why not."""
    if not data:
        raise PictureError(said("paint.err.empty"))
    if len(data) > max_bytes:
        raise PictureError(said("paint.err.bytes", size=_mb(len(data)), limit=_mb(max_bytes)))
    Image, _ = _pil()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = Image.open(io.BytesIO(data))  # reads the header only
    except Exception:  # noqa: BLE001 — whatever Pillow says, the answer is "not a picture"
        raise PictureError(said("paint.err.notPicture", formats=", ".join(FORMATS))) from None
    if head.format not in FORMATS:
        raise PictureError(said("paint.err.format", got=str(head.format),
                                formats=", ".join(FORMATS)))
    width, height = head.size
    if width * height > max_pixels:
        raise PictureError(said("paint.err.pixels", width=f"{width:,}", height=f"{height:,}",
                                limit=f"{max_pixels / 1e6:,g}"))
    try:
        return decode(data, size)
    except PictureError:
        raise
    except Exception:  # noqa: BLE001 — a truncated or broken file
        raise PictureError(said("paint.err.broken")) from None


def decode(data: bytes, size: int) -> np.ndarray:
    Image, ImageOps = _pil()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (size, size))  # a JPEG decodes at 1/2, 1/4 or 1/8 scale: faster
        image = ImageOps.exif_transpose(image)  # as a phone's camera meant it to stand
        image.seek(0)  # the first frame of an animation
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, rgba)  # transparency painted on white
        image = image.convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def png(picture: np.ndarray) -> bytes:
    """`picture` as a PNG file (fast compression: it is sent live)."""
    Image, _ = _pil()
    out = io.BytesIO()
    Image.fromarray(picture, "RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"
