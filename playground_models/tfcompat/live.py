"""TensorFlow Playground mode, live: a `TfRun` behind the trainer interface a live session uses.

A live session (server/live.py) asks its trainer for updates, metrics, snapshots and edits; this
gives it TF's own run instead of netplay's `Trainer`, so the page shows TF Playground's numbers
for a `compat=tf` link, epoch by epoch, as `netplay run` prints them.

TF trains whole epochs (its `oneStep`), so updates are run an epoch at a time: asked for `n`
updates, it trains `n // updates_per_epoch` epochs, at least one. Live changes follow TF's page:
the learning rate applies from the next update; every other change of a TF key resets the run,
built from the link's seed as the changed link opens in TF. A change of a key TF does not have
cannot be expressed here: `leaves_mode` names it, and the session leaves the mode.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..datasets import DataSplit
from ..experiment import ConfigError, Experiment
from ..grid import grid_points
from ..network import Architecture
from ..params import BY_NAME, Effect
from ..snapshot import Snapshot
from ..snapshot import _pool as pool_maps
from ..trainer import check_index, edit_value
from .engine import TfConfig, TfRun, _features
from .links import MODE_KEY, TF_KEYS

LIVE_IN_TF = frozenset({"learningRate"})  # TF reads it at every update; all else resets
LOSS_NAME = "square"  # ½(output − label)², TF's loss (shown as such by the page)


def leaves_mode(old: Experiment, new: Experiment, hidden: frozenset[str]) -> str | None:
    """Why the change from `old` (a TF mode run) to `new` leaves TF Playground mode, or None.

    A key TF Playground does not have (an optimizer, dropout, …) or a value it has no
    counterpart for (a dataset or activation of netplay's own) leaves the mode.
    """
    if new[MODE_KEY] != "tf":
        return None
    for key in new.changes_from(old):
        if key not in TF_KEYS and BY_NAME[key].effect is not Effect.VIEW and key != MODE_KEY:
            return f"{key} is not a TensorFlow Playground setting"
    try:
        TfConfig.from_experiment(new, hidden)
    except ConfigError as err:
        return str(err)
    return None


def honoured(exp: Experiment, hidden: frozenset[str]) -> tuple[Experiment, list[str]]:
    """`exp` with every value TF Playground mode cannot run (a dataset or activation of
    netplay's own) set to its default, and a message naming each such key."""
    notes: list[str] = []
    while True:
        try:
            TfConfig.from_experiment(exp, hidden)
            return exp, notes
        except ConfigError as err:
            default = BY_NAME[err.key].default
            if exp[err.key] == default:
                raise
            notes.append(f"{err}; it opens at its default, {default}")
            exp = exp.replace(**{err.key: default})


class TfTrainer:
    """One TF Playground run with the members of `Trainer` that a live session uses."""

    path = "tf"
    backend = None  # TF Playground's engine is not one of the 2-D lab's backends

    def __init__(self, exp: Experiment, hidden: frozenset[str] = frozenset()) -> None:
        """Raises `ConfigError` naming the key when TF Playground cannot run `exp`."""
        self.hidden = hidden
        self._build(exp)

    # --- building ------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """TF Playground has no schedules: its rate is the link's."""
        return self.experiment.learningRate

    def _build(self, exp: Experiment) -> None:
        self.experiment = exp
        self.cfg = TfConfig.from_experiment(exp, self.hidden)
        self.run = TfRun(self.cfg)
        self.data = self._split()
        self.y_train = self.run.train_y
        self.arch = Architecture((len(self.cfg.inputs), *self.cfg.shape, 1),
                                 (self.cfg.activation,) * len(self.cfg.shape))
        self.epoch = 0
        self.steps = 0
        self.diverged_at: int | None = None
        self._grid: tuple[int, np.ndarray] | None = None

    def _split(self) -> DataSplit:
        """TF's points as the page draws them: positions, and classes 0/1 for labels −1/+1."""
        def part(points: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
            arr = np.array(points, dtype=np.float64).reshape(-1, 3)
            y = arr[:, 2] if self.cfg.regression else (arr[:, 2] > 0).astype(np.int64)
            return arr[:, :2].copy(), y
        train_x, train_y = part(self.run.train_points)
        test_x, test_y = part(self.run.test_points)
        return DataSplit(train_x, train_y, test_x, test_y,
                         num_classes=1 if self.cfg.regression else 2, one_d=False)

    def close(self) -> None:
        """Nothing is held outside this object."""

    def model_info(self) -> dict[str, Any]:
        return {
            "layers": list(self.arch.sizes),
            "features": list(self.cfg.inputs),
            "activations": list(self.arch.activations),
            "num_classes": 1 if self.cfg.regression else 2,
            "parameters": self.arch.num_parameters,
            "path": self.path,
            "loss": LOSS_NAME,
        }

    # --- control -------------------------------------------------------------------------
    def reset(self) -> None:
        self._build(self.experiment)

    def reseed(self, seed: str) -> None:
        self._build(self.experiment.replace(seed=seed))

    def update(self, new: Experiment) -> dict[str, Effect]:
        """TF's reaction to a change (see the module docstring); the caller has checked that
        the change stays in the mode (`leaves_mode`)."""
        changes = new.changes_from(self.experiment)
        effects = {k: (Effect.LIVE if k in LIVE_IN_TF else
                       Effect.VIEW if e is Effect.VIEW else Effect.REBUILD)
                   for k, e in changes.items()}
        if any(e is Effect.REBUILD for e in effects.values()):
            self._build(new)
        else:
            self.experiment = new
            self.run.set_rates(float(new["learningRate"]), self.cfg.reg_rate)
            self.cfg = self.run.cfg
        return effects

    # --- training ------------------------------------------------------------------------
    @property
    def updates_per_epoch(self) -> int:
        return max(1, -(-len(self.y_train) // self.cfg.batch_size))

    def train_steps(self, n: int, stop_at_epoch_end: bool = False) -> int:
        """Whole epochs worth about `n` updates (one when `stop_at_epoch_end`); the updates run."""
        if self.diverged_at is not None:
            return 0
        per_epoch = self.updates_per_epoch
        epochs = 1 if stop_at_epoch_end else max(1, n // per_epoch)
        self.train_epochs(epochs)
        return epochs * per_epoch

    def train_epochs(self, n: int = 1) -> None:
        if self.diverged_at is not None or n < 1:
            return
        self.run.train_epochs(n)
        self.epoch += n
        self.steps += n * self.updates_per_epoch
        if not math.isfinite(self.run.loss_train):
            self.diverged_at = self.epoch

    # --- edits ---------------------------------------------------------------------------
    def set_weight(self, layer: int, to: int, from_: int, value: float) -> None:
        """Set one link's weight as TF's link editor does; a pruned link stays pruned."""
        w = self._layer(layer, self.run.weights)
        check_index("to", to, w.shape[0], f"layer {layer} has {w.shape[0]} neurons")
        check_index("from", from_, w.shape[1], f"layer {layer} reads {w.shape[1]} values")
        w[to, from_] = edit_value(value)

    def set_bias(self, layer: int, to: int, value: float) -> None:
        b = self._layer(layer, self.run.biases)
        check_index("to", to, b.shape[0], f"layer {layer} has {b.shape[0]} neurons")
        b[to] = edit_value(value)

    def _layer(self, layer: int, arrays: list[np.ndarray]) -> np.ndarray:
        check_index("layer", layer, len(arrays), f"this net has {len(arrays)} weight layers")
        return arrays[layer]

    # --- what a frame shows --------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """TF's losses (the square loss), accuracy, and the links L1 has pruned for good."""
        m = self.run.metrics()
        weights = sum(int(w.size) for w in self.run.weights)
        zero = sum(int((w == 0).sum()) for w in self.run.weights)
        return {**m, "steps": self.steps, "loss": LOSS_NAME, "reg_loss": None,
                "weights": weights, "zero_weights": zero}

    def gradient_norms(self) -> list[float | None]:
        """‖∂L/∂Wₗ‖ (Frobenius) of TF's loss L, the mean of ½(output − label)² over the
        training set, for every weight matrix, first layer first (None once diverged)."""
        run = self.run
        outs, ders = run._forward(run.train_x)
        out_der = (outs[-1] - run.train_y[:, None]) / len(run.train_y)
        norms: list[float | None] = []
        for layer in range(len(run.weights) - 1, -1, -1):
            delta = out_der * ders[layer]
            norm = float(np.linalg.norm(delta.T @ outs[layer]))
            norms.append(norm if math.isfinite(norm) else None)
            out_der = delta @ run.weights[layer]
        return norms[::-1]

    def snapshot(self, grid_size: int = 100, neuron_grid: int = 20) -> Snapshot:
        """The output and every node's value on the grid, on the page's [−1, 1] scale (row 0 at
        the top), as TF Playground draws them: TF's own forward pass over the cells."""
        outs, _ = self.run._forward(self._cells(grid_size))
        output = np.clip(np.nan_to_num(outs[-1][:, 0]), -1, 1).reshape(grid_size, grid_size)
        # Features show their shape (scaled by their largest magnitude), as in netplay's mode.
        inputs = outs[0] / np.maximum(np.abs(outs[0]).max(axis=0), 1e-12)
        rows = np.concatenate([layer.T for layer in (inputs, *outs[1:-1])])
        maps = pool_maps(torch.from_numpy(rows), grid_size, neuron_grid).numpy()
        return Snapshot(
            output=output.astype(np.float32), classes=None, confidence=None,
            neurons=np.clip(np.nan_to_num(maps), -1, 1).astype(np.float32),
            weights=[w.copy() for w in self.run.weights],
            biases=[b.copy() for b in self.run.biases], curve=None,
        )

    def _cells(self, grid_size: int) -> np.ndarray:
        """TF's inputs at the grid's cell centres, row-major from the top row (kept per size)."""
        if self._grid is None or self._grid[0] != grid_size:
            xy = grid_points(grid_size)
            points = [(x, y, 0.0) for x, y in xy]
            self._grid = (grid_size, _features(self.cfg.inputs, points)[0])
        return self._grid[1]
