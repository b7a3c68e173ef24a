"""The pictures the painting lab paints: a gallery of photographs that ship inside scikit-learn's
wheel (no download); a learner's own file is read by `playground_models/uploads.py`.

A picture is an RGB array of uint8, [height, width, 3], its longer side `size` pixels or less.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from ..messages import said
from ..uploads import PictureError, decode, decode_upload, png

__all__ = ["GALLERY", "PictureError", "decode_upload", "gallery_picture", "png"]

# scikit-learn's two sample photographs (sklearn/datasets/images; their README names the
# sources): a temple in China and a flower, 640 × 427 JPEGs.
GALLERY = {"china": "china.jpg", "flower": "flower.jpg"}


@lru_cache(maxsize=16)
def gallery_picture(name: str, size: int) -> np.ndarray:
    """One of the gallery's photographs at `size` (read-only; cached)."""
    if name not in GALLERY:
        raise PictureError(said("lab.err.oneOf", choices=", ".join(GALLERY), got=repr(name)))
    data = resources.files("sklearn.datasets").joinpath("images", GALLERY[name]).read_bytes()
    picture = decode(data, size)
    picture.flags.writeable = False
    return picture
