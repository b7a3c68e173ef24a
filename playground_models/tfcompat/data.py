"""TF Playground's data: its six generators, its one shuffle and its split, drawing from the
seeded stream in TF's order, so the same link gives the same points to float64 rounding.

The linear scales reproduce d3 v3's arithmetic ((x − a) / (b − a), then a·(1 − t) + b·t) because
the labels of the regression sets depend on it to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .arc4 import SeedRandom

Point = tuple[float, float, float]  # x, y, label
NUM_CLASSIFY = 500  # TF Playground's NUM_SAMPLES_CLASSIFY
NUM_REGRESS = 1200  # and NUM_SAMPLES_REGRESS


def _scale(d0: float, d1: float, r0: float, r1: float, clamp: bool = False) -> Callable[[float], float]:
    span = d1 - d0 or 1 / (d1 - d0)

    def f(x: float) -> float:
        t = (x - d0) / span
        if clamp:
            t = max(0.0, min(1.0, t))
        return r0 * (1 - t) + r1 * t

    return f


def _uniform(rnd: SeedRandom, a: float, b: float) -> float:
    return rnd() * (b - a) + a


def _normal(rnd: SeedRandom, mean: float, variance: float) -> float:
    # Marsaglia's polar method as TF writes it: one of the pair is used, the other dropped.
    while True:
        v1 = 2 * rnd() - 1
        v2 = 2 * rnd() - 1
        s = v1 * v1 + v2 * v2
        if not s > 1:
            break
    result = math.sqrt(-2 * math.log(s) / s) * v1
    return mean + math.sqrt(variance) * result


def _dist(x: float, y: float, cx: float, cy: float) -> float:
    dx, dy = x - cx, y - cy
    return math.sqrt(dx * dx + dy * dy)


def circle(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    pts: list[Point] = []
    radius = 5.0

    def ring(r_lo: float, r_hi: float) -> None:
        for _ in range(math.ceil(n / 2)):
            r = _uniform(rnd, r_lo, r_hi)
            angle = _uniform(rnd, 0, 2 * math.pi)
            x, y = r * math.sin(angle), r * math.cos(angle)
            nx = _uniform(rnd, -radius, radius) * noise
            ny = _uniform(rnd, -radius, radius) * noise
            label = 1.0 if _dist(x + nx, y + ny, 0, 0) < radius * 0.5 else -1.0
            pts.append((x, y, label))

    ring(0, radius * 0.5)
    ring(radius * 0.7, radius)
    return pts


def xor(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    pts: list[Point] = []
    for _ in range(n):
        x = _uniform(rnd, -5, 5)
        x += 0.3 if x > 0 else -0.3
        y = _uniform(rnd, -5, 5)
        y += 0.3 if y > 0 else -0.3
        nx = _uniform(rnd, -5, 5) * noise
        ny = _uniform(rnd, -5, 5) * noise
        pts.append((x, y, 1.0 if (x + nx) * (y + ny) >= 0 else -1.0))
    return pts


def gauss(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    pts: list[Point] = []
    variance = _scale(0, 0.5, 0.5, 4)(noise)
    for cx, label in ((2.0, 1.0), (-2.0, -1.0)):
        for _ in range(math.ceil(n / 2)):
            x = _normal(rnd, cx, variance)
            y = _normal(rnd, cx, variance)
            pts.append((x, y, label))
    return pts


def spiral(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    pts: list[Point] = []
    half = n / 2
    for delta, label in ((0.0, 1.0), (math.pi, -1.0)):
        for i in range(math.ceil(half)):
            r = i / half * 5
            t = 1.75 * i / half * 2 * math.pi + delta
            x = r * math.sin(t) + _uniform(rnd, -1, 1) * noise
            y = r * math.cos(t) + _uniform(rnd, -1, 1) * noise
            pts.append((x, y, label))
    return pts


def _regress(rnd: SeedRandom, n: int, noise: float, label: Callable[[float, float], float]) -> list[Point]:
    pts: list[Point] = []
    radius = 6.0
    for _ in range(n):
        x = _uniform(rnd, -radius, radius)
        y = _uniform(rnd, -radius, radius)
        nx = _uniform(rnd, -radius, radius) * noise
        ny = _uniform(rnd, -radius, radius) * noise
        pts.append((x, y, label(x + nx, y + ny)))
    return pts


def reg_plane(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    scale = _scale(-10, 10, -1, 1)
    return _regress(rnd, n, noise, lambda x, y: scale(x + y))


_GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def reg_gauss(rnd: SeedRandom, n: int, noise: float) -> list[Point]:
    scale = _scale(0, 2, 1, 0, clamp=True)

    def label(x: float, y: float) -> float:
        best = 0.0  # the bump largest in absolute value wins
        for cx, cy, sign in _GAUSSIANS:
            v = sign * scale(_dist(x, y, cx, cy))
            if abs(v) > abs(best):
                best = v
        return best

    return _regress(rnd, n, noise, label)


GENERATORS: dict[str, Callable[[SeedRandom, int, float], list[Point]]] = {
    "circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
    "reg-plane": reg_plane, "reg-gauss": reg_gauss,
}


def shuffle(rnd: SeedRandom, items: list) -> None:
    """TF's Fisher–Yates: the index is drawn before the counter drops."""
    counter = len(items)
    while counter > 0:
        index = math.floor(rnd() * counter)
        counter -= 1
        items[counter], items[index] = items[index], items[counter]


def make_data(rnd: SeedRandom, dataset: str, regression: bool, noise_percent: float,
              perc_train: float) -> tuple[list[Point], list[Point]]:
    """TF's generateData: generate, shuffle once, split; the stream is left where TF leaves it."""
    n = NUM_REGRESS if regression else NUM_CLASSIFY
    pts = GENERATORS[dataset](rnd, n, noise_percent / 100)
    shuffle(rnd, pts)
    split = math.floor(len(pts) * perc_train / 100)
    return pts[:split], pts[split:]
