"""The k-NN baseline against hand-computed answers and a plain full-sort reference."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from playground_models.datasets import DataSplit, generate
from playground_models.experiment import Experiment
from playground_models.grid import grid_points
from playground_models.knn import knn_accuracy, knn_grid, knn_predict


def hand_split(
    train: list[tuple[float, float, float]],
    test: list[tuple[float, float, float]] = ((0.0, 0.0, 0),),
    num_classes: int = 2,
) -> DataSplit:
    dtype = np.float64 if num_classes == 1 else np.int64
    tr, te = np.array(train, dtype=float), np.array(test, dtype=float)
    return DataSplit(
        tr[:, :2], tr[:, 2].astype(dtype), te[:, :2], te[:, 2].astype(dtype), num_classes, False
    )


SQUARE = hand_split([(0, 0, 0), (1, 0, 0), (0, 1, 1), (5, 5, 1)])


def test_majority_of_three_on_a_hand_built_set() -> None:
    # From (0.2, 0.1): (0,0) at d² 0.05, (1,0) at 0.65, (0,1) at 0.85 → classes 0, 0, 1.
    # From (0.1, 0.9): (0,1) at 0.02, (0,0) at 0.82, (1,0) at 1.62 → classes 1, 0, 0.
    q = np.array([[0.2, 0.1], [0.1, 0.9]])
    assert knn_predict(SQUARE, 3, q).tolist() == [0, 0]
    assert knn_predict(SQUARE, 1, q).tolist() == [0, 1]


def test_a_tie_goes_to_the_nearest_neighbours_class() -> None:
    # k = 2 from (0.1, 0.9): one vote each for 1 (nearest) and 0.
    assert knn_predict(SQUARE, 2, np.array([[0.1, 0.9]])).tolist() == [1]
    three = hand_split([(0, 0, 2), (3, 0, 0), (-3, 0, 1), (9, 9, 0)], num_classes=3)
    # From (1, 0): class 2 at 1, class 0 at 2, class 1 at 4: a three-way tie at k = 3.
    assert knn_predict(three, 3, np.array([[1.0, 0.0]])).tolist() == [2]
    # k = 4 adds (9, 9) of class 0: class 0 wins outright.
    assert knn_predict(three, 4, np.array([[1.0, 0.0]])).tolist() == [0]


def test_regression_averages_the_k_nearest_targets() -> None:
    split = hand_split([(0, 0, 1.0), (1, 0, 0.5), (0, 2, -0.25), (4, 4, 9.0)], num_classes=1)
    pred = knn_predict(split, 3, np.array([[0.1, 0.0], [4.0, 3.9]]))
    assert pred.dtype == np.float64
    # First query: (0,0), (1,0), (0,2). Second: (4,4), (1,0), (0,2) → (9 + 0.5 − 0.25)/3.
    np.testing.assert_allclose(pred, [1.25 / 3, 9.25 / 3])


def test_k_larger_than_the_training_set_uses_all_of_it() -> None:
    assert knn_predict(SQUARE, 50, np.array([[0.0, 0.0]])).tolist() == [0]  # 2 : 2, nearest 0


def test_grid_row_zero_is_the_top_of_the_domain() -> None:
    split = hand_split([(0.0, 5.5, 1), (0.0, -5.5, 0)])
    grid = knn_grid(split, 1, 10)
    assert grid.shape == (10, 10) and grid.dtype == np.int64
    assert np.all(grid[:5] == 1) and np.all(grid[5:] == 0)


def test_grid_is_the_prediction_at_each_cell_centre() -> None:
    grid = knn_grid(SQUARE, 1, 4)  # centres at ±1.5, ±4.5
    # Cell (row 0, col 3) is (4.5, 4.5): nearest (5, 5) → 1. Cell (row 2, col 2) is
    # (1.5, -1.5): nearest (1, 0) → 0. Cell (row 1, col 1) is (-1.5, 1.5): nearest (0, 1) → 1.
    assert (grid[0, 3], grid[2, 2], grid[1, 1]) == (1, 0, 1)


def test_accuracy_counts_correct_test_predictions() -> None:
    split = hand_split(
        [(0, 0, 0), (1, 0, 0), (0, 1, 1), (5, 5, 1)],
        test=[(0.1, 0.1, 0), (4, 4, 1), (0, 0.9, 0), (0.9, 0, 1)],
    )
    assert knn_accuracy(split, 1) == pytest.approx(0.5)  # right, right, wrong, wrong


def test_accuracy_is_refused_for_regression() -> None:
    split = generate(Experiment(problem="regression"))
    with pytest.raises(ValueError, match="classification"):
        knn_accuracy(split, 3)


def reference_grid(split: DataSplit, k: int, size: int) -> np.ndarray:
    """Full sort of every distance, nearest first and ties by index, one query at a time."""
    q = grid_points(size)
    d = ((q[:, None, :] - split.train_x[None, :, :]) ** 2).sum(axis=2)
    near = np.argsort(d, axis=1, kind="stable")[:, :k]
    labels = split.train_y[near]
    if split.num_classes == 1:
        return labels.mean(axis=1).reshape(size, size)
    out = []
    for row in labels:
        counts = Counter(row.tolist())
        top = max(counts.values())
        out.append(next(c for c in row.tolist() if counts[c] == top))
    return np.array(out).reshape(size, size)


@pytest.mark.parametrize(("dataset", "k"), [("spiral", 1), ("gauss", 7), ("blobs", 4)])
def test_large_grid_matches_a_full_sort(dataset: str, k: int) -> None:
    # 1,000 training points × 3,600 cells is past the brute-force size: the tiled search runs.
    split = generate(Experiment(dataset=dataset, numSamples=2000, noise=30))
    np.testing.assert_array_equal(knn_grid(split, k, 60), reference_grid(split, k, 60))


def test_large_regression_grid_matches_a_full_sort() -> None:
    split = generate(Experiment(problem="regression", regDataset="reg-gauss", numSamples=2000))
    np.testing.assert_allclose(knn_grid(split, 5, 60), reference_grid(split, 5, 60))


def test_knn_separates_an_easy_dataset() -> None:
    assert knn_accuracy(generate(Experiment(dataset="gauss")), 5) == 1.0
    assert knn_accuracy(generate(Experiment(dataset="random")), 5) < 0.65
