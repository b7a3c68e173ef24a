"""Drawing a frame inside the frame budget (docs/protocol.md, *Drawing budget*).

A frame's cost is mostly the grid pass: every hidden neuron evaluated at G×G points, so it
grows with G² times the net's size (501 ms at G = 200 with the largest net, measured before this
budget existed). `DrawBudget` measures what frames cost and picks the largest grid that fits,
halving from the asked size down to `MIN_GRID`; `KnnBands` builds the k-NN map a band of grid
rows per frame, so its one-off cost (0.66 s at G = 200 and 4,500 points) is spread over frames
instead of stalling one. Both only measure and decide; `LiveRun` does the drawing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

import numpy as np

from playground_models.grid import grid_points
from playground_models.knn import knn_predict

MIN_GRID = 20  # the smallest grid a frame falls back to: the neuron maps' own side
WINDOW = 8  # costs are the least of the last few measured: a busy machine only ever adds time
FIRST_WORK = 1_000_000  # cells × training points of the first band, before its cost is known
MIN_BAND = 64  # cells per frame even when the budget is spent, so the map always completes


def grid_levels(asked: int) -> list[int]:
    """The grid sides a frame may use, largest first: the asked one, then halving to MIN_GRID."""
    levels = [asked]
    while levels[-1] > MIN_GRID:
        levels.append(max(MIN_GRID, levels[-1] // 2))
    return levels


class _Cost:
    """Seconds of recent measurements of one kind of work; `best` is their least."""

    def __init__(self) -> None:
        self._seen: deque[float] = deque(maxlen=WINDOW)
        self.best: float | None = None  # worked out once per measurement, read every frame

    def add(self, seconds: float) -> None:
        self._seen.append(seconds)
        self.best = min(self._seen)


class DrawBudget:
    """Chooses each frame's grid so that drawing (metrics plus the grid pass) fits `budget_s`.

    A grid never measured is predicted from the nearest measured one by its number of cells,
    which overestimates going up (fixed costs scale too) and so errs towards the smaller grid.
    Metrics cost what the data size makes them cost, whatever the grid (60 ms for 5,000 points
    on the largest net, loaded): while playing, metrics dearer than half the budget are
    recomputed only every few frames, so that on average they take at most that half.
    """

    def __init__(self, budget_s: float | None):
        self.budget_s = budget_s  # None: draw every frame as asked
        self.forget()

    def forget(self) -> None:
        """Drop what was measured (a rebuild changes the net, so every cost)."""
        self._metrics = _Cost()
        self._grid: dict[int, _Cost] = {}
        self._since_metrics = 0

    def record_grid(self, grid: int, seconds: float) -> None:
        self._grid.setdefault(grid, _Cost()).add(seconds)

    def record_metrics(self, seconds: float) -> None:
        self._metrics.add(seconds)
        self._since_metrics = 0

    def metrics_due(self) -> bool:
        """Whether a playing frame computes metrics afresh (else it repeats the last ones)."""
        cost, budget = self._metrics.best, self.budget_s
        if cost is None or budget is None or cost <= budget / 2:
            return True
        self._since_metrics += 1
        return self._since_metrics >= math.ceil(cost / (budget / 2))

    def predict(self, grid: int, playing: bool = False) -> float | None:
        """Seconds a frame at `grid` should take to draw, or None before any measurement."""
        here = self._grid.get(grid)
        if here is not None:  # measured at this grid
            cost = here.best
        elif self._grid:
            near = min(self._grid, key=lambda g: abs(g - grid))
            cost = self._grid[near].best
            cost = None if cost is None else cost * (grid / near) ** 2
        else:
            cost = None
        if cost is None:
            return None
        metrics = self._metrics.best or 0.0
        if playing and self.budget_s is not None:
            metrics = min(metrics, self.budget_s / 2)
        return cost + metrics

    def needs_probe(self, asked: int) -> bool:
        """Whether nothing is measured yet and a smaller grid exists to measure the net on."""
        return self.budget_s is not None and not self._grid and len(grid_levels(asked)) > 1

    def choose(self, asked: int, playing: bool = False) -> int:
        """The largest grid level whose predicted drawing cost fits the budget (the smallest
        level when none does; the asked grid when nothing is measured or nothing is budgeted)."""
        levels = grid_levels(asked)
        if self.budget_s is None or self.predict(asked) is None:
            return asked
        for grid in levels:
            if (self.predict(grid, playing) or 0.0) <= self.budget_s:
                return grid
        return levels[-1]


class KnnBands:
    """The k-NN map of one grid, computed a band of cells per frame and kept once complete.

    k-NN answers each cell on its own (`knn_predict` is exact per query), so bands joined
    are the map computed in one go.
    """

    def __init__(self) -> None:
        self._key: tuple[Any, int] | None = None  # (data split, k): a change empties the store
        self._done: dict[int, np.ndarray] = {}  # grid side → complete map
        self._partial: tuple[int, np.ndarray, int] | None = None  # (grid, values, cells done)
        self._per_cell = _Cost()

    def get(self, split: Any, k: int, grid: int, seconds: float | None) -> np.ndarray | None:
        """The [grid, grid] map, or None while it is still being computed.

        `seconds` is what this frame can spend on it (None: finish now); at least `MIN_BAND`
        cells are computed whatever is left, so a map always completes.
        """
        if self._key is None or self._key[0] is not split or self._key[1] != k:
            self._key = (split, k)
            self._done.clear()
            self._partial = None
        if grid in self._done:
            return self._done[grid]
        queries = grid_points(grid)
        if self._partial is None or self._partial[0] != grid:
            self._partial = (grid, np.empty(0), 0)
        _, values, done = self._partial
        cells = len(queries) - done
        if seconds is not None:
            per_cell = self._per_cell.best
            first = max(MIN_BAND, FIRST_WORK // max(1, len(split.train_x)))
            cells = min(cells, max(MIN_BAND, int(seconds / per_cell)) if per_cell else first)
        started = time.perf_counter()
        band = knn_predict(split, k, queries[done : done + cells])
        self._per_cell.add((time.perf_counter() - started) / max(1, cells))
        if done == 0:
            values = np.empty(len(queries), dtype=band.dtype)
        values[done : done + cells] = band
        done += cells
        if done < len(queries):
            self._partial = (grid, values, done)
            return None
        self._partial = None
        self._done[grid] = values.reshape(grid, grid)
        return self._done[grid]
