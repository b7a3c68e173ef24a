"""The 2-D lab's datasets: generation, noise, the train/test split and hand edits.

Every dataset lives in about [-6, 6]², TF Playground's domain. circle, xor, gauss, spiral,
reg-plane and reg-gauss follow TF Playground's generators and its meaning of the one `noise`
slider (an int percent 0..80; the generators receive noise/100). The other datasets give that
slider the closest sensible meaning; each generator's docstring says which.

All randomness comes from `stream(exp.seed, "data")`, drawn in a fixed order (generator, jitter,
shuffle, label flips) and with a fixed number of draws whatever the noise, jitter or flip
values are, so moving a slider changes only what it names, and non-data parameters never
change the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import owndata
from .experiment import ConfigError, Experiment
from .params import ONE_D_DATASETS
from .rng import stream

TAU = 2.0 * np.pi
SINE_SCALE = 5.0  # reg-sine divides x·sin x by this: on [-6, 6] the target stays in [-0.97, 0.37]


@dataclass(frozen=True)
class DataSplit:
    """Generated data after the split. Positions are float64 [n, 2] in data units.

    Classification targets are int64 class indices 0..num_classes-1; regression targets are
    float64. `one_d` marks a 1-D curve (reg-sine): only x₁ matters and x₂ is 0.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int  # 1 for regression
    one_d: bool
    # Generation-order index of each row (what `removed` refers to); −1 for hand-placed points.
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None


# A generator draws `n` points: positions float64 [n, 2] and targets (class index or value),
# in "generation order", the order that `removed` indices refer to.
Pair = tuple[np.ndarray, np.ndarray]
Generator = Callable[[np.random.Generator, int, float, int], Pair]


def _halves(n: int) -> tuple[int, int]:
    # TF makes n/2 per class; for an odd n the first class gets the extra point, so the total
    # is always exactly numSamples.
    return n - n // 2, n // 2


def _even_counts(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    # TF's convention: x = r·sin(angle), y = r·cos(angle).
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


# --- TF Playground's classification sets ----------------------------------------------------


def circle(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Class 1: radius U(0, 2.5); class 0: radius U(3.5, 5); uniform angles.

    Noise is label noise: the label comes from the position moved by U(-5, 5)·noise per axis,
    the point itself stays where it is (TF Playground's semantics).
    """
    n_in, n_out = _halves(n)
    r = np.concatenate([rng.uniform(0.0, 2.5, n_in), rng.uniform(3.5, 5.0, n_out)])
    x = _polar(r, rng.uniform(0.0, TAU, n))
    seen = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return x, (np.hypot(seen[:, 0], seen[:, 1]) < 2.5).astype(np.int64)


def xor(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Uniform on [-5, 5]², pushed 0.3 away from both axes; class 1 where x₁·x₂ ≥ 0.

    Noise is label noise: the label comes from the position moved by U(-5, 5)·noise per axis.
    """
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # TF's gap around the axes
    seen = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return x, (seen[:, 0] * seen[:, 1] >= 0).astype(np.int64)


def _gauss_std(noise: float) -> float:
    # TF maps noise 0 → variance 0.5 and noise 0.5 → variance 4, linearly and unclamped.
    return float(np.sqrt(0.5 + 7.0 * noise))


def gauss(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Two isotropic Gaussians: class 1 around (2, 2), class 0 around (-2, -2).

    Noise is spread: the variance grows linearly from 0.5 (noise 0) to 4 (noise 50 %).
    """
    n_pos, n_neg = _halves(n)
    centres = np.repeat([[2.0, 2.0], [-2.0, -2.0]], [n_pos, n_neg], axis=0)
    x = centres + rng.standard_normal((n, 2)) * _gauss_std(noise)
    return x, np.repeat(np.array([1, 0], dtype=np.int64), [n_pos, n_neg])


def _spiral_arms(rng: np.random.Generator, counts: list[int], per_arm: float, noise: float) -> Pair:
    # Arm k: radius i/per_arm·5, angle 1.75·(i/per_arm)·2π + k·2π/arms, jitter U(-1, 1)·noise.
    arms = len(counts)
    t = np.concatenate([np.arange(c) / per_arm for c in counts])
    arm = np.repeat(np.arange(arms), counts)
    x = _polar(t * 5.0, 1.75 * t * TAU + arm * TAU / arms)
    x += rng.uniform(-1.0, 1.0, x.shape) * noise
    return x, arm


def spiral(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Two interleaved spirals (class 1 first, class 0 turned by π); noise jitters positions
    by U(-1, 1)·noise per axis (TF Playground's semantics)."""
    x, arm = _spiral_arms(rng, list(_halves(n)), n / 2, noise)
    return x, (1 - arm).astype(np.int64)  # TF's first arm is label +1 → class 1


# --- netplay's classification sets ----------------------------------------------------------


def spiral3(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Three spiral arms 120° apart, one class each, built like TF's spiral (radius up to 5,
    1.75 turns); noise jitters positions by U(-1, 1)·noise per axis, as for spiral."""
    x, arm = _spiral_arms(rng, _even_counts(n, 3), n / 3, noise)
    return x, arm.astype(np.int64)


MOONS_SCALE = 3.5  # unit moons span x ∈ [-1, 2]; scaled and centred they span about ±5.3


def moons(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Two interleaving half-moons: class 0 the upper arc, class 1 the lower one.

    Noise is spread: Gaussian position noise of std 1.5·noise data units (at 50 % the moons
    touch, at 80 % they overlap well).
    """
    n_top, n_bottom = _halves(n)
    t = rng.uniform(0.0, np.pi, n)
    top = np.stack([np.cos(t[:n_top]), np.sin(t[:n_top])], axis=1)
    bottom = np.stack([1.0 - np.cos(t[n_top:]), 0.5 - np.sin(t[n_top:])], axis=1)
    x = (np.concatenate([top, bottom]) - [0.5, 0.25]) * MOONS_SCALE
    x += rng.standard_normal((n, 2)) * 1.5 * noise
    return x, np.repeat(np.array([0, 1], dtype=np.int64), [n_top, n_bottom])


CHECKER_CELL = 3.0  # 4×4 cells over [-6, 6]²


def checker_class(x: np.ndarray) -> np.ndarray:
    """Class of positions [n, 2] on the 4×4 checkerboard: 1 on the cell containing (-6, -6)
    and every cell of the same colour (so the top-right cell is 1 too), else 0."""
    cell = np.floor((x + 6.0) / CHECKER_CELL).astype(np.int64)
    return (1 - (cell[:, 0] + cell[:, 1]) % 2).astype(np.int64)


def checkerboard(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Uniform on [-6, 6]²; alternating labels on 4×4 cells of side 3 (2×2 would be xor).

    Noise is label noise, as xor's: the label comes from the position moved by U(-3, 3)·noise
    per axis (xor moves by half the domain, here by one cell).
    """
    x = rng.uniform(-6.0, 6.0, (n, 2))
    seen = x + rng.uniform(-CHECKER_CELL, CHECKER_CELL, (n, 2)) * noise
    return x, checker_class(seen)


BLOB_RADIUS = 4.0  # blob centres lie on this circle


def blob_centres(num_classes: int) -> np.ndarray:
    """Centres [C, 2] evenly spaced on the radius-4 circle, class 0 at the top."""
    return _polar(np.full(num_classes, BLOB_RADIUS), np.arange(num_classes) * TAU / num_classes)


def blobs(rng: np.random.Generator, n: int, noise: float, c: int) -> Pair:
    """`numClasses` isotropic Gaussian blobs, one per class, centred on a circle of radius 4.

    Noise is spread, as gauss's: the variance grows from 0.5 (noise 0) by 7·noise.
    """
    counts = _even_counts(n, c)
    y = np.repeat(np.arange(c, dtype=np.int64), counts)
    x = blob_centres(c)[y] + rng.standard_normal((n, 2)) * _gauss_std(noise)
    return x, y


def random_labels(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Uniform positions on [-5, 5]² with fair-coin labels: nothing to learn, only to memorise.

    Noise has no effect: the labels are pure noise already (use jitter or label flips to move
    or flip points).
    """
    x = rng.uniform(-5.0, 5.0, (n, 2))
    return x, rng.integers(0, 2, n).astype(np.int64)


# --- regression -----------------------------------------------------------------------------


def reg_plane(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Uniform on [-6, 6]²; target (x₁ + x₂)/10, TF's linear map of [-10, 10] onto [-1, 1]
    (unclamped, as TF, so the corners reach ±1.2). Noise is label noise: the target is read at
    the position moved by U(-6, 6)·noise per axis."""
    x = rng.uniform(-6.0, 6.0, (n, 2))
    seen = x + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return x, (seen[:, 0] + seen[:, 1]) / 10.0


# TF's six signed bumps: (x₁, x₂, sign).
GAUSS_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def reg_gauss_target(x: np.ndarray) -> np.ndarray:
    """TF's multi-gauss surface at positions [n, 2]: of the six bumps (each falling linearly
    from ±1 at its centre to 0 at distance 2), the value with the largest magnitude."""
    d = np.hypot(x[:, None, 0] - GAUSS_BUMPS[:, 0], x[:, None, 1] - GAUSS_BUMPS[:, 1])
    values = GAUSS_BUMPS[:, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)  # [n, 6]
    # The bumps do not overlap (centres ≥ 4 apart), so the first largest magnitude is unique.
    return values[np.arange(len(x)), np.argmax(np.abs(values), axis=1)]


def reg_gauss(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """Uniform on [-6, 6]²; target from six signed bumps, in [-1, 1]. Noise is label noise:
    the target is read at the position moved by U(-6, 6)·noise per axis (TF's semantics)."""
    x = rng.uniform(-6.0, 6.0, (n, 2))
    seen = x + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return x, reg_gauss_target(seen)


def reg_sine(rng: np.random.Generator, n: int, noise: float, _c: int) -> Pair:
    """ConvNetJS's 1-D curve: x₁ ~ U(-6, 6), x₂ = 0, target x₁·sin(x₁)/5 (in [-0.97, 0.37]).

    Noise is label noise: Gaussian of std 0.5·noise added to the target (0.4 at 80 %).
    """
    x1 = rng.uniform(-6.0, 6.0, n)
    target = x1 * np.sin(x1) / SINE_SCALE + rng.standard_normal(n) * 0.5 * noise
    return np.stack([x1, np.zeros(n)], axis=1), target


GENERATORS: dict[str, Generator] = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
    "moons": moons,
    "checkerboard": checkerboard,
    "blobs": blobs,
    "spiral3": spiral3,
    "random": random_labels,
    "reg-plane": reg_plane,
    "reg-gauss": reg_gauss,
    "reg-sine": reg_sine,
}
ONE_D = frozenset(ONE_D_DATASETS)


def _round_half_up(value: float) -> int:
    # Python's round() goes to even on .5; a learner expects 12.5 → 13.
    return int(np.floor(value + 0.5))


def generate(exp: Experiment) -> DataSplit:
    """The experiment's data: generate, jitter, shuffle, remove, split, flip, add user points.

    - `noise` (percent) acts inside the generator, as documented per dataset;
    - `jitter` adds N(0, jitter²) to every generated position (x₁ only for 1-D curves);
    - the points are shuffled; the first round(n·percTrainData/100) go to training, at least 1 to
      each side;
    - `labelFlip` moves exactly round(n_train·labelFlip) training labels to another class;
    - the generated points whose generation-order index is in `removed` are dropped from their
      side (indices past the end are ignored), so removing one changes no other point;
    - the hand-placed `points` (x₁, x₂, label) are appended to the training set.

    Raises ConfigError("removed") if either side is left without a generated point.
    """
    name = exp.data_name
    classify = exp.is_classification
    one_d = name in ONE_D
    num_classes = exp.num_classes
    rng = stream(exp.seed, "data")
    n = exp.numSamples

    if exp.data:  # your own points: they are the data
        own_x, own_y, _ = owndata.decode(exp.data)
        x, y, n = own_x.copy(), own_y.copy(), len(own_x)
    else:
        x, y = GENERATORS[name](rng, n, exp.noise / 100.0, num_classes)
    y = y.astype(np.int64 if classify else np.float64)

    # Always drawn, so the jitter slider never changes the shuffle or the split.
    shift = rng.standard_normal((n, 2)) * exp.jitter
    if one_d:
        shift[:, 1] = 0.0
    x = x + shift

    order = rng.permutation(n)
    x, y = x[order], y[order]
    n_train = min(max(_round_half_up(n * exp.percTrainData / 100.0), 1), n - 1)
    train_x, test_x = x[:n_train], x[n_train:]
    train_y, test_y = y[:n_train].copy(), y[n_train:]
    train_index, test_index = order[:n_train], order[n_train:]

    if classify and exp.labelFlip > 0:
        flips = _round_half_up(n_train * exp.labelFlip)
        which = rng.choice(n_train, size=flips, replace=False)
        # Adding 1..C-1 modulo C always lands on a different class, uniformly.
        train_y[which] = (train_y[which] + rng.integers(1, num_classes, flips)) % num_classes

    # Removal comes after the split and the flips: a removed point takes nothing else with it,
    # and every other point keeps its side and its label.
    if exp.removed:
        removed = np.asarray(exp.removed, dtype=np.int64)
        keep_train, keep_test = ~np.isin(train_index, removed), ~np.isin(test_index, removed)
        if not keep_train.any() or not keep_test.any():
            side = "training" if not keep_train.any() else "test"
            raise ConfigError("removed", f"leaves no generated point in the {side} set")
        train_x, train_y, train_index = train_x[keep_train], train_y[keep_train], train_index[keep_train]
        test_x, test_y, test_index = test_x[keep_test], test_y[keep_test], test_index[keep_test]

    if exp.points:
        pts = np.asarray(exp.points, dtype=np.float64)
        user_x = pts[:, :2].copy()
        if one_d:
            user_x[:, 1] = 0.0  # a 1-D curve has no x₂
        user_y = pts[:, 2].astype(np.int64 if classify else np.float64)
        train_x = np.concatenate([train_x, user_x])
        train_y = np.concatenate([train_y, user_y])
        train_index = np.concatenate([train_index, np.full(len(pts), -1, dtype=np.int64)])

    return DataSplit(
        train_x=np.ascontiguousarray(train_x),
        train_y=train_y,
        test_x=np.ascontiguousarray(test_x),
        test_y=test_y.copy(),
        num_classes=num_classes,
        one_d=one_d,
        train_index=train_index,
        test_index=test_index,
    )
