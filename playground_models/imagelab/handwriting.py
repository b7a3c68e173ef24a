"""A seeded generator of 28×28 handwritten-style digits, for unlimited MNIST-sized data offline.

Each digit is a few pen strokes (polylines through control points in a unit box, y pointing
down). Every sample jitters the control points, slants, scales, rotates and shifts the digit,
draws it with a random pen thickness (anti-aliased distance-to-segment rendering), then bends it
with an elastic distortion (a smoothed random displacement field, as Simard et al. 2003 did to
augment MNIST). All randomness comes from the generator passed in.
"""

from __future__ import annotations

import numpy as np

SIDE = 28


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 9) -> list:
    """Points on an ellipse arc; angles in degrees, 0 = right, 90 = down (y grows downward)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


# Strokes per digit; each stroke is a polyline of (x, y) control points in [0, 1]².
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.27, 0.4, 0, 360, 17)],
    1: [[(0.36, 0.26), (0.52, 0.1), (0.52, 0.9)]],
    2: [_arc(0.5, 0.32, 0.26, 0.22, 200, 360, 7) + [(0.7, 0.5), (0.22, 0.9), (0.8, 0.9)]],
    3: [_arc(0.48, 0.3, 0.24, 0.2, 200, 450, 9), _arc(0.48, 0.69, 0.27, 0.21, 270, 520, 9)],
    4: [[(0.64, 0.9), (0.64, 0.1), (0.18, 0.64), (0.84, 0.64)]],
    5: [[(0.76, 0.1), (0.32, 0.1), (0.28, 0.46)] + _arc(0.48, 0.66, 0.27, 0.23, 235, 490, 9)],
    6: [[(0.7, 0.1), (0.42, 0.3), (0.26, 0.62)] + _arc(0.5, 0.68, 0.24, 0.21, 180, 540, 13)],
    7: [[(0.2, 0.12), (0.8, 0.12), (0.42, 0.9)]],
    8: [_arc(0.5, 0.29, 0.2, 0.18, 0, 360, 13), _arc(0.5, 0.69, 0.25, 0.21, 0, 360, 13)],
    9: [_arc(0.5, 0.32, 0.22, 0.2, 0, 360, 13) + [(0.68, 0.55), (0.6, 0.9)]],
}


def _segments(strokes: list[list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment, [S, 2] each."""
    starts, ends = [], []
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64)
        starts.append(pts[:-1])
        ends.append(pts[1:])
    return np.concatenate(starts), np.concatenate(ends)


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of [N, H, W] fields (edges clamped)."""
    radius = int(3 * sigma)
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    pad = np.pad(field, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    rows = sum(kernel[i] * pad[:, i : i + field.shape[1], :] for i in range(len(kernel)))
    return sum(kernel[i] * rows[:, :, i : i + field.shape[2]] for i in range(len(kernel)))


def _bilinear(images: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample [N, H, W] images at fractional pixel positions (zero outside)."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    ys = np.clip(ys + 1, 0, h + 0.999)
    xs = np.clip(xs + 1, 0, w + 0.999)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    y1, x1 = np.minimum(y0 + 1, h + 1), np.minimum(x0 + 1, w + 1)
    idx = np.arange(n)[:, None, None]
    top = padded[idx, y0, x0] * (1 - fx) + padded[idx, y0, x1] * fx
    bottom = padded[idx, y1, x0] * (1 - fx) + padded[idx, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _draw_class(digit: int, n: int, rng: np.random.Generator) -> np.ndarray:
    starts, ends = _segments(STROKES[digit])
    # Jitter the shared control points per sample: neighbouring segments stay joined.
    jitter_a = rng.normal(0.0, 0.025, size=(n, *starts.shape))
    jitter_b = np.concatenate([jitter_a[:, 1:], rng.normal(0, 0.025, (n, 1, 2))], axis=1)
    a = starts[None] + jitter_a
    b = ends[None] + jitter_b
    # Random affine per sample: slant (shear), scale, small rotation, shift; about the centre.
    slant = rng.uniform(-0.35, 0.25, n)
    scale = rng.uniform(0.78, 1.0, n)
    aspect = rng.uniform(0.8, 1.15, n)
    angle = rng.normal(0.0, 0.12, n)
    shift = rng.normal(0.0, 0.03, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    m = np.empty((n, 2, 2))
    m[:, 0, 0] = scale * aspect * cos
    m[:, 0, 1] = scale * (slant * cos - sin)
    m[:, 1, 0] = scale * aspect * sin
    m[:, 1, 1] = scale * (slant * sin + cos)

    def place(p: np.ndarray) -> np.ndarray:
        centred = p - 0.5
        moved = np.einsum("nij,nsj->nsi", m, centred) + 0.5 + shift[:, None, :]
        return moved * 20.0 + 4.0  # the unit box fills MNIST's central 20×20 pixels

    a, b = place(a).astype(np.float32), place(b).astype(np.float32)
    thickness = rng.uniform(0.9, 2.1, n).astype(np.float32)[:, None, None]  # pen radius in pixels
    grid = np.stack(np.meshgrid(np.arange(SIDE) + 0.5, np.arange(SIDE) + 0.5), -1)
    grid = grid.reshape(-1, 2).astype(np.float32)
    images: np.ndarray = np.empty((n, SIDE * SIDE))
    for lo in range(0, n, 256):  # chunks keep the [n, pixels, segments] array small
        sa, sb = a[lo : lo + 256], b[lo : lo + 256]
        ab = sb - sa
        ap = grid[None, :, None, :] - sa[:, None, :, :]
        denom = np.maximum((ab * ab).sum(-1), 1e-9)[:, None, :]
        t = np.clip((ap * ab[:, None]).sum(-1) / denom, 0.0, 1.0)
        nearest = ap - t[..., None] * ab[:, None]
        dist = np.sqrt((nearest * nearest).sum(-1)).min(-1)
        images[lo : lo + 256] = np.clip(thickness[lo : lo + 256, :, 0] + 0.5 - dist, 0.0, 1.0)
    images = images.reshape(n, SIDE, SIDE)
    # Elastic distortion: a smooth displacement field of a pixel or two.
    alpha = rng.uniform(1.0, 2.5, (n, 1, 1))
    dx = _smooth(rng.uniform(-1, 1, (n, SIDE, SIDE)), 4.0) * alpha * 8
    dy = _smooth(rng.uniform(-1, 1, (n, SIDE, SIDE)), 4.0) * alpha * 8
    yy, xx = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    return _bilinear(images, yy[None] + dy, xx[None] + dx)


def generate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` digits, balanced over the 10 classes and shuffled.

    Returns images float32 [n, 28, 28] in [0, 1] (ink = 1) and labels int64 [n].
    """
    counts = [n // 10 + (1 if d < n % 10 else 0) for d in range(10)]
    images = np.concatenate([_draw_class(d, c, rng) for d, c in enumerate(counts) if c])
    labels = np.concatenate([np.full(c, d, dtype=np.int64) for d, c in enumerate(counts) if c])
    order = rng.permutation(n)
    return images[order].astype(np.float32), labels[order]
