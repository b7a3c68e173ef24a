"""`LiveRun`: a session's trainer plus everything a frame says about it.

The methods that touch the trainer run on a worker thread (see `scheduler`), one at a time per
session: the session holds its lock around every call, so nothing here needs locking itself.
The event loop only ever sees finished `bytes` and small dicts.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from typing import Any

import numpy as np

from playground_models.experiment import Experiment
from playground_models.params import PARAMS, Effect
from playground_models.pool import PooledBackend, PoolSet
from playground_models.trainer import Trainer
from playground_models.urlcodec import serialize

from . import frames

NEURON_GRID = 20  # side of each neuron map, cells
LIVE_KEYS = tuple(p.name for p in PARAMS if p.effect is Effect.LIVE)
FRAME_COMPRESSION_LEVEL = 1  # a default frame: 14.1 → about 7 kB in 0.1 ms
RATE_WINDOW_S = 1.0  # steps_per_s and epochs_per_s are measured over about this long


class LiveRun:
    """One experiment being trained for one client; see the module docstring for threading."""

    def __init__(
        self,
        exp: Experiment,
        hidden: frozenset[str] = frozenset(),
        compression: str | None = None,
        pools: PoolSet | None = None,
    ):
        self.trainer = Trainer(exp, pools=pools)
        self.hidden = hidden
        self.compression = compression
        self.version = 1
        self.seq = 0
        self.steps_per_frame = 25  # one epoch of the default 250 training points in batches of 10
        self.state = "paused"
        self._rates: deque[tuple[float, int, int]] = deque()
        # (data it was computed on, k, grid size, grid): k-NN only changes with these.
        self._knn: tuple[Any, int, int, np.ndarray] | None = None

    @property
    def experiment(self) -> Experiment:
        return self.trainer.experiment

    @property
    def pooled(self) -> bool:
        """Whether this run trains in a pool row (see `Scheduler.train_pooled`)."""
        return isinstance(self.trainer.backend, PooledBackend)

    def close(self) -> None:
        """Give back the trainer's pool row, if it has one; the run trains no more."""
        self.trainer.close()

    # --- changes (worker thread) ---------------------------------------------------------
    def update(self, new: Experiment) -> dict[str, Effect]:
        effects = self.trainer.update(new)
        if effects:
            self.version += 1
        if any(e is Effect.REBUILD for e in effects.values()):
            self._rates.clear()
        return effects

    def clear_rates(self) -> None:
        """Start measuring steps/s afresh (on play: paused time is not slow training)."""
        self._rates.clear()

    def reset(self) -> None:
        self.trainer.reset()
        self._rates.clear()

    def reseed(self, seed: str) -> None:
        self.trainer.reseed(seed)
        self.version += 1
        self._rates.clear()

    # --- training (worker thread) --------------------------------------------------------
    def train_frame(self, budget_s: float) -> bytes:
        """Run up to `steps_per_frame` updates within about `budget_s` seconds, then a frame.

        The first call of a frame is small; later ones are sized from the measured time per
        update, so a frame makes few engine calls (the fast path wants many steps per call)
        yet never holds a worker much past its budget on a slow path or a big net.
        """
        t = self.trainer
        wanted = self.steps_per_frame
        done = 0
        chunk = min(wanted, 8)
        start = time.perf_counter()
        while done < wanted and t.diverged_at is None:
            ran = t.train_steps(min(chunk, wanted - done))
            done += ran
            elapsed = time.perf_counter() - start
            if ran == 0 or elapsed >= budget_s:
                break
            per_step = elapsed / done
            chunk = max(1, int((budget_s - elapsed) / per_step))
        return self.frame()

    def train_epochs(self, n: int) -> bytes:
        self.trainer.train_epochs(n)
        return self.frame()

    @property
    def diverged(self) -> bool:
        return self.trainer.diverged_at is not None

    # --- messages (worker thread) --------------------------------------------------------
    def frame(self) -> bytes:
        """The binary `frame` message of docs/protocol.md for the trainer as it is now."""
        t = self.trainer
        exp = t.experiment
        grid = exp.gridSize
        snap = t.snapshot(grid_size=grid, neuron_grid=NEURON_GRID)
        self.seq += 1
        steps_per_s, epochs_per_s = self._measure(t.steps, t.epoch)
        metrics = t.metrics()
        header = {
            "type": "frame",
            "seq": self.seq,
            "version": self.version,
            "epoch": t.epoch,
            "steps": t.steps,
            "state": "diverged" if self.diverged else self.state,
            "diverged_at": t.diverged_at,
            "path": t.path,
            "steps_per_s": round(steps_per_s, 1),
            "epochs_per_s": round(epochs_per_s, 2),
            "steps_per_frame": self.steps_per_frame,
            "metrics": {k: v for k, v in metrics.items() if k not in ("epoch", "steps")},
            "grid": grid,
            "neuron_grid": NEURON_GRID,
            "learning_rate": exp.learningRate,
            "live": {k: exp[k] for k in LIVE_KEYS},
        }
        return self._pack(header, frames.snapshot_arrays(snap, self._knn_grid()))

    def data(self) -> bytes:
        split = self.trainer.data
        header = {
            "type": "data",
            "version": self.version,
            "num_classes": split.num_classes,
            "one_d": bool(split.one_d),
        }
        return self._pack(header, frames.data_arrays(split))

    def config_message(
        self,
        effects: dict[str, Effect],
        warnings: list[str] = (),  # type: ignore[assignment]
        errors: list[dict[str, str]] = (),  # type: ignore[assignment]
    ) -> dict[str, Any]:
        exp = self.trainer.experiment
        return {
            "type": "config",
            "config": exp.to_json(),
            "query": serialize(exp, self.hidden),
            "hidden": sorted(self.hidden),
            "version": self.version,
            "effects": {k: e.value for k, e in effects.items()},
            "warnings": list(warnings),
            "errors": list(errors),
            "model": self.trainer.model_info(),
        }

    # --- internals -----------------------------------------------------------------------
    def _pack(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
        """The binary message, compressed here on the worker thread if the client asked.

        Compressing on the event loop (permessage-deflate) made it the one thread every
        session's frames wait for; zlib releases the GIL, so here the workers share it.
        """
        message = frames.encode(header, arrays)
        if self.compression == "deflate-raw":
            return zlib.compress(message, FRAME_COMPRESSION_LEVEL, wbits=-15)
        return message

    def _knn_grid(self) -> np.ndarray | None:
        exp = self.trainer.experiment
        if exp.knn <= 0:
            return None
        split = self.trainer.data
        cached = self._knn
        if cached is None or cached[0] is not split or cached[1:3] != (exp.knn, exp.gridSize):
            from playground_models.knn import knn_grid

            cached = self._knn = (split, exp.knn, exp.gridSize, knn_grid(split, exp.knn, exp.gridSize))
        return cached[3]

    def _measure(self, steps: int, epoch: int) -> tuple[float, float]:
        now = time.perf_counter()
        rates = self._rates
        rates.append((now, steps, epoch))
        while len(rates) > 2 and now - rates[1][0] >= RATE_WINDOW_S:
            rates.popleft()
        t0, s0, e0 = rates[0]
        if now - t0 <= 0:
            return 0.0, 0.0
        return (steps - s0) / (now - t0), (epoch - e0) / (now - t0)
