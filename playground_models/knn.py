"""The k-nearest-neighbour baseline: the boundary a model with no training at all would draw.

Plain NumPy over the training set of a `DataSplit`, Euclidean distance in the data domain
(the raw positions, not the network's features).
"""

from __future__ import annotations

import numpy as np

from .datasets import DataSplit
from .grid import grid_points

# Distance-matrix entries per chunk (~16 MB of float64): big enough to amortise NumPy's
# per-call cost, small enough not to hold a 10,000 × 5,000 matrix at once.
CHUNK_ENTRIES = 2_000_000
TILES = 10  # large query sets are searched tile by tile, TILES × TILES over their extent


def _brute(train_x: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact search over all of `train_x`: indices [q, k] nearest first (equal distances in
    index order) and the squared distances [q, k]."""
    n = len(train_x)
    rows = max(1, CHUNK_ENTRIES // n)
    idx = np.empty((len(queries), k), dtype=np.int64)
    dist = np.empty((len(queries), k))
    tx, ty = np.ascontiguousarray(train_x[:, 0]), np.ascontiguousarray(train_x[:, 1])
    for start in range(0, len(queries), rows):
        q = queries[start : start + rows]
        d = (q[:, :1] - tx) ** 2 + (q[:, 1:] - ty) ** 2
        # argpartition finds the k smallest in O(n); only those k are then sorted.
        near = (
            np.argpartition(d, k - 1, axis=1)[:, :k]
            if k < n
            else np.tile(np.arange(n), (len(q), 1))
        )
        near.sort(axis=1)  # index order first, so that the stable sort breaks ties by index
        near_d = np.take_along_axis(d, near, axis=1)
        order = np.argsort(near_d, axis=1, kind="stable")
        idx[start : start + len(q)] = np.take_along_axis(near, order, axis=1)
        dist[start : start + len(q)] = np.take_along_axis(near_d, order, axis=1)
    return idx, dist


def _neighbours(train_x: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices [q, k] of each query's k nearest training points, nearest first.

    A full distance matrix for a 100×100 grid and 2,500 points costs ~150 ms, mostly in the
    selection. So large query sets go tile by tile against only the training points inside the
    tile grown by a margin; a query's answer is kept when its k-th distance is no larger than its
    distance to the edge of that box (nothing outside can be nearer), else the margin doubles.
    """
    n = len(train_x)
    if len(queries) * n <= CHUNK_ENTRIES:
        return _brute(train_x, queries, k)[0]
    lo, hi = queries.min(axis=0), queries.max(axis=0)
    tile_of = np.minimum(
        ((queries - lo) / np.maximum(hi - lo, 1e-12) * TILES).astype(int), TILES - 1
    )
    tile_id = tile_of[:, 0] * TILES + tile_of[:, 1]
    # Training points sorted by x₁, so a box's x₁ range is one searchsorted slice.
    by_x1 = np.argsort(train_x[:, 0], kind="stable")
    sorted_x1 = train_x[by_x1, 0]
    span = train_x.max(axis=0) - train_x.min(axis=0)
    # Start with the radius that would hold about 4k points if they were spread evenly.
    margin0 = max(float(np.sqrt(4 * k * max(span[0] * span[1], 1e-12) / (np.pi * n))), 1e-6)
    out = np.empty((len(queries), k), dtype=np.int64)
    for tile in np.unique(tile_id):
        todo = np.flatnonzero(tile_id == tile)
        margin = margin0
        while len(todo):
            q = queries[todo]
            box_lo, box_hi = q.min(axis=0) - margin, q.max(axis=0) + margin
            a = np.searchsorted(sorted_x1, box_lo[0], side="left")
            b = np.searchsorted(sorted_x1, box_hi[0], side="right")
            x2 = train_x[by_x1[a:b], 1]
            inside = by_x1[a:b][(x2 >= box_lo[1]) & (x2 <= box_hi[1])]
            if len(inside) == n:  # the box holds everything: the search is exact
                out[todo] = _brute(train_x, q, k)[0]
                break
            if len(inside) >= k:
                inside.sort()  # index order keeps ties broken as a full search would
                idx, dist = _brute(train_x[inside], q, k)
                edge = np.minimum(q - box_lo, box_hi - q).min(axis=1)
                safe = dist[:, -1] <= edge**2
                out[todo[safe]] = inside[idx[safe]]
                todo = todo[~safe]
            margin *= 2.0
    return out


def knn_predict(split: DataSplit, k: int, queries: np.ndarray) -> np.ndarray:
    """k-NN predictions at positions [q, 2] from the training set of `split`.

    Classification: the majority class, int64 [q]; a tie goes to the tied class of the nearest
    neighbour. Regression: the mean of the k targets, float64 [q]. A k larger than the training
    set uses all of it.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(split.train_x) == 0:
        raise ValueError("k-NN needs at least one training point")
    k = min(k, len(split.train_x))
    labels = split.train_y[_neighbours(split.train_x, np.asarray(queries, np.float64), k)]
    if split.num_classes == 1:
        return labels.mean(axis=1).astype(np.float64)
    votes = (labels[:, :, None] == np.arange(split.num_classes)).sum(axis=1)  # [q, C]
    tied = votes == votes.max(axis=1, keepdims=True)  # the classes sharing the top count
    rows = np.arange(len(labels))[:, None]
    first_tied = np.argmax(tied[rows, labels], axis=1)  # nearest neighbour of a tied class
    return labels[np.arange(len(labels)), first_tied].astype(np.int64)


def knn_grid(split: DataSplit, k: int, grid_size: int) -> np.ndarray:
    """k-NN prediction at every cell of `grid_points(grid_size)`: [G, G], row 0 the top
    (largest x₂). int64 classes for classification, float64 values for regression."""
    return knn_predict(split, k, grid_points(grid_size)).reshape(grid_size, grid_size)


def knn_accuracy(split: DataSplit, k: int) -> float:
    """Share of the test set that k-NN on the training set classifies correctly, in [0, 1]."""
    if split.num_classes == 1:
        raise ValueError("accuracy is defined for classification only")
    return float(np.mean(knn_predict(split, k, split.test_x) == split.test_y))
