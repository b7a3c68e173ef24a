"""Input features (x₁, x₂, x₁², …) and preprocessing (none / center / standardize)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

FEATURE_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x": lambda a, b: a,
    "y": lambda a, b: b,
    "xSquared": lambda a, b: a * a,
    "ySquared": lambda a, b: b * b,
    "xTimesY": lambda a, b: a * b,
    "sinX": lambda a, b: np.sin(a),
    "sinY": lambda a, b: np.sin(b),
}


def feature_matrix(points: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Features of 2-D points: float64 [n, len(names)] from positions [n, 2]."""
    a, b = points[:, 0], points[:, 1]
    return np.stack([FEATURE_FUNCTIONS[n](a, b) for n in names], axis=1)


class Preprocessor:
    """Centering or standardization with statistics of the training set only.

    The test set and the grid are transformed with the same numbers, as a deployed model would
    see new data; fitting on the test set would leak it.
    """

    def __init__(self, mode: str, train_features: np.ndarray):
        self.mode = mode
        n = train_features.shape[1]
        self.mean = np.zeros(n)
        self.scale = np.ones(n)
        if mode in ("center", "standardize"):
            self.mean = train_features.mean(axis=0)
        if mode == "standardize":
            std = train_features.std(axis=0)
            self.scale = np.where(std > 1e-12, std, 1.0)  # a constant feature stays as it is

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.scale
