"""The evaluation grid over the data domain, shared by the boundary, neuron maps and k-NN.

Orientation is fixed: row 0 is the top of the picture (largest x₂), column 0 the left
(smallest x₁), so a row-major array can be drawn as an image without flipping.
"""

from __future__ import annotations

import numpy as np

from .params import DOMAIN


def grid_axes(size: int, domain: tuple[float, float] = DOMAIN) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre coordinates: x₁ for each column (ascending), x₂ for each row (descending)."""
    lo, hi = domain
    centres = lo + (np.arange(size) + 0.5) * (hi - lo) / size
    return centres, centres[::-1].copy()


def grid_points(size: int, domain: tuple[float, float] = DOMAIN) -> np.ndarray:
    """All `size`×`size` cell centres as a float64 array [size*size, 2], row-major (top row first)."""
    xs, ys = grid_axes(size, domain)
    gx, gy = np.meshgrid(xs, ys)  # gy[0, :] is the top row: the largest x₂
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
