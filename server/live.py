"""`LiveRun`: a session's trainer plus everything a frame says about it.

The methods that touch the trainer run on a worker thread (see `scheduler`), one at a time per
session: the session holds its lock around every call, so nothing here needs locking itself.
The event loop only ever sees finished `bytes` and small dicts.
"""

from __future__ import annotations

import math
import time
import zlib
from collections import deque
from types import ModuleType
from typing import Any

import numpy as np

from playground_models import netfile
from playground_models.experiment import Experiment
from playground_models.params import PARAMS, Effect
from playground_models.snapshot import Picture, Snapshot, kernel_picture
from playground_models.tfcompat.live import TfTrainer
from playground_models.trainer import Trainer
from playground_models.urlcodec import run_query, serialize

from . import frames
from .drawing import DrawBudget, KnnBands, grid_levels

NEURON_GRID = 20  # side of each neuron map, cells, up to MAPS_AT_FULL_SIZE maps
MAPS_AT_FULL_SIZE = 64
MIN_NEURON_GRID = 8


def neuron_grid(maps: int) -> int:
    """The side of each neuron map for a net with `maps` of them: 20 cells up to 64 maps, then
    fewer, so that the maps together stay near 64 × 20² values (a 64-wide layer's nodes are
    drawn about 12 px wide), and never below 8."""
    if maps <= MAPS_AT_FULL_SIZE:
        return NEURON_GRID
    return max(MIN_NEURON_GRID, int(NEURON_GRID * math.sqrt(MAPS_AT_FULL_SIZE / maps)))
LIVE_KEYS = tuple(p.name for p in PARAMS if p.effect is Effect.LIVE)
FRAME_COMPRESSION_LEVEL = 1  # a default frame: 14.3 → about 6 kB in 0.045 ms

# Frames are DEFLATEd with zlib-ng: the same raw DEFLATE stream format, made 2.8× faster at
# level 1 (0.124 → 0.044 ms for a default frame; docs/benchmarks.md). Where its wheel cannot be
# installed, the standard library's zlib makes the same format, slower.
FRAME_ZLIB: ModuleType
try:
    from zlib_ng import zlib_ng as FRAME_ZLIB
except ImportError:  # pragma: no cover - a platform without zlib-ng's wheel
    FRAME_ZLIB = zlib
FIRST_CHUNK = 8  # updates in a frame's first engine call while their cost is unknown
TRAIN_SHARE = 0.2  # of a playing frame's budget, kept for training however dear drawing is
PROBES = 2  # small frames measured on a new net before its first frame is sized
RATE_WINDOW_S = 1.0  # steps_per_s and epochs_per_s are measured over about this long


def layer_names(layers: int) -> list[str]:
    """A 2-D network file's tensor names: `w1`, `b1`, … for each weight layer."""
    return [f"{kind}{i}" for i in range(1, layers + 1) for kind in ("w", "b")]


class LiveRun:
    """One experiment being trained for one client; see the module docstring for threading."""

    def __init__(
        self,
        exp: Experiment,
        hidden: frozenset[str] = frozenset(),
        compression: str | None = None,
        draw_budget_s: float | None = None,
    ):
        """`draw_budget_s`: seconds a frame's drawing may take (None: always as asked).

        A `compat=tf` experiment trains on TensorFlow Playground's own engine (`TfTrainer`);
        it raises `ConfigError` when TF Playground cannot run it."""
        self.hidden = hidden
        self._neuron_grid: tuple[Experiment | None, int] = (None, 0)
        self._step_s: tuple[Experiment | None, float] = (None, 0.0)  # seconds per update
        self.trainer = self._trainer(exp)
        self.compression = compression
        self.version = 1
        self.seq = 0
        self.steps_per_frame = 25  # one epoch of the default 250 training points in batches of 10
        self.state = "paused"
        self._rates: deque[tuple[float, int, int]] = deque()
        self._draw = DrawBudget(draw_budget_s)
        self._knn = KnnBands()  # k-NN only changes with the data, k and the grid
        self._metrics: dict[str, Any] | None = None  # the last computed, repeated while dear

    @property
    def neuron_grid(self) -> int:
        exp = self.trainer.experiment
        if self._neuron_grid[0] is not exp:  # a frame asks twice; the features cost ~10 µs
            self._neuron_grid = (exp, neuron_grid(len(exp.features) + sum(exp.networkShape)))
        return self._neuron_grid[1]

    def _trainer(self, exp: Experiment) -> Trainer | TfTrainer:
        if exp.compat == "tf":
            return TfTrainer(exp, self.hidden)
        return Trainer(exp)

    @property
    def tf_mode(self) -> bool:
        """Whether this run is TensorFlow Playground's (`compat=tf`)."""
        return isinstance(self.trainer, TfTrainer)

    @property
    def experiment(self) -> Experiment:
        return self.trainer.experiment

    def close(self) -> None:
        """Let the trainer give back what it holds; the run trains no more."""
        self.trainer.close()

    # --- changes (worker thread) ---------------------------------------------------------
    def update(self, new: Experiment) -> dict[str, Effect]:
        if (new.compat == "tf") != self.tf_mode:  # into or out of TF Playground mode
            effects = {k: Effect.REBUILD for k in new.changes_from(self.experiment)}
            trainer = self._trainer(new)
            self.trainer.close()
            self.trainer = trainer
        else:
            effects = self.trainer.update(new)
        if effects:
            self.version += 1
        if any(e is Effect.REBUILD for e in effects.values()):
            self._rates.clear()
            self._draw.forget()  # another net or data: every drawing cost changes
        return effects

    def clear_rates(self) -> None:
        """Start measuring steps/s afresh (on play: paused time is not slow training)."""
        self._rates.clear()

    def reset(self) -> None:
        self.trainer.reset()
        self._rates.clear()

    def restart(self, exp: Experiment) -> None:
        """A fresh run of `exp` in place of this one's (a link whose history failed to replay)."""
        self.trainer.close()
        self.trainer = self._trainer(exp)
        self._rates.clear()

    def reseed(self, seed: str) -> None:
        self.trainer.reseed(seed)
        self.version += 1
        self._rates.clear()

    # --- training (worker thread) --------------------------------------------------------
    def train_frame(self, budget_s: float) -> None:
        """Run up to `steps_per_frame` updates within about `budget_s` seconds.

        The first call of a frame is small; later ones are sized from the measured time per
        update, so a frame makes few engine calls (the fast path wants many steps per call)
        yet never holds a worker much past its budget on a slow path or a big net.
        """
        self._train_within(budget_s, self.steps_per_frame)

    def train_and_draw(self, budget_s: float) -> bytes:
        """A playing frame as one job of about `budget_s`: the drawing's predicted cost is set
        aside, training gets the rest (at least `TRAIN_SHARE` of it), then the frame is drawn."""
        draw = self._draw
        drawing = draw.predict(draw.choose(self.experiment.gridSize, True), True) or 0.0
        self.train_frame(max(budget_s - drawing, TRAIN_SHARE * budget_s))
        return self.play_frame()

    def train_toward(self, target_epoch: int, budget_s: float) -> bool:
        """One slice of a `step`: train toward the end of epoch `target_epoch` for about
        `budget_s` seconds. True when it is reached (or the run diverged).

        Slices stop at every epoch end, as `Trainer.train_epochs` does, and run the same
        minibatches in the same order, so a step's numbers do not depend on its slicing.
        """
        t = self.trainer
        self._train_within(budget_s, None, target_epoch)
        return t.epoch >= target_epoch or t.diverged_at is not None

    def _train_within(self, budget_s: float, wanted: int | None, epoch: int | None = None) -> int:
        """Updates until `wanted` ran, epoch `epoch` was reached, or `budget_s` passed."""
        t = self.trainer
        done = 0
        chunk = FIRST_CHUNK
        known_exp, per_step = self._step_s
        if known_exp is t.experiment and per_step > 0:  # sized from the last call: one call
            # for a light net's whole frame, at most 8× the unmeasured first call
            chunk = max(1, min(8 * FIRST_CHUNK, int(0.5 * budget_s / per_step)))
        if wanted is not None:
            chunk = min(chunk, wanted)
        start = time.perf_counter()
        while t.diverged_at is None and (wanted is None or done < wanted):
            if epoch is not None and t.epoch >= epoch:
                break
            n = chunk if wanted is None else min(chunk, wanted - done)
            ran = t.train_steps(n, stop_at_epoch_end=epoch is not None)
            done += ran
            elapsed = time.perf_counter() - start
            if ran == 0 or elapsed >= budget_s:
                break
            per_step = elapsed / done
            chunk = max(1, int((budget_s - elapsed) / per_step))
        if done >= FIRST_CHUNK:  # enough updates to say what one costs
            self._step_s = (t.experiment, (time.perf_counter() - start) / done)
        return done

    def train_epochs(self, n: int) -> bytes:
        """`n` epochs in one go, then a frame (for callers that need no slicing)."""
        self.trainer.train_epochs(n)
        return self.frame()

    @property
    def updates_per_epoch(self) -> int:
        """Minibatch updates in one epoch of this run (the last batch may be partial)."""
        n, batch = len(self.trainer.y_train), self.trainer.experiment.batchSize
        return max(1, -(-n // batch))

    @property
    def diverged(self) -> bool:
        return self.trainer.diverged_at is not None

    # --- messages (worker thread) --------------------------------------------------------
    def frame(self) -> bytes:
        """The binary `frame` message of docs/protocol.md for the trainer as it is now.

        Drawn within the run's drawing budget: on a smaller grid than asked when the asked one
        would not fit (the header's `reduced` says so; docs/protocol.md, *Drawing budget*).
        Metrics are fresh and the k-NN map complete: a paused client sees this frame for long.
        """
        return self._draw_frame(playing=False)

    def play_frame(self) -> bytes:
        """A frame while playing: as `frame`, but the k-NN map is computed a band per frame
        (left out until complete) and dear metrics are recomputed only every few frames."""
        return self._draw_frame(playing=True)

    def _draw_frame(self, playing: bool) -> bytes:
        t = self.trainer
        exp = t.experiment
        asked = exp.gridSize
        draw = self._draw
        started = time.perf_counter()
        if draw.needs_probe(asked):
            # A grid of about 1/16 the cells, drawn thrice, the first not counted: first calls
            # pay one-off costs (caches, torch's warm-up) that make a net look heavier than it is.
            levels = grid_levels(asked)
            probe = levels[min(2, len(levels) - 1)]
            t.snapshot(grid_size=probe, neuron_grid=self.neuron_grid)
            for _ in range(PROBES):
                self._snapshot(probe)
        grid = draw.choose(asked, playing)
        picture = self._snapshot(grid)
        reduced = ["grid"] if grid < asked else []
        if self._metrics is None or not playing or draw.metrics_due():
            before = time.perf_counter()
            self._metrics = t.metrics()
            draw.record_metrics(time.perf_counter() - before)
        else:
            reduced.append("metrics")
        knn = None
        if exp.knn > 0:
            budget = draw.budget_s
            left = None
            if playing and budget is not None:
                left = budget - (time.perf_counter() - started)
            knn = self._knn.get(t.data, exp.knn, grid, left)
            if knn is None:
                reduced.append("knn")
        self.seq += 1
        steps_per_s, epochs_per_s = self._measure(t.steps, t.epoch)
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
            "metrics": {k: v for k, v in self._metrics.items() if k not in ("epoch", "steps")},
            "grid": grid,
            "neuron_grid": self.neuron_grid,
            "reduced": reduced,
            "draw_ms": round((time.perf_counter() - started) * 1000, 1),
            "learning_rate": t.learning_rate,  # in force: the schedule's rate this epoch
            "live": {k: exp[k] for k in LIVE_KEYS},
        }
        arrays = frames.picture_arrays(picture, knn) if isinstance(picture, Picture) \
            else frames.snapshot_arrays(picture, knn)
        return self._pack(header, arrays)

    def _snapshot(self, grid: int) -> Any:
        """The picture at `grid`, its cost recorded for `DrawBudget`: drawn and quantised in
        the kernel (a `Picture`) where it can be, else the trainer's snapshot."""
        started = time.perf_counter()
        t = self.trainer
        picture: Picture | Snapshot | None = \
            kernel_picture(t, grid, self.neuron_grid) if isinstance(t, Trainer) else None
        if picture is None:
            picture = t.snapshot(grid_size=grid, neuron_grid=self.neuron_grid)
        self._draw.record_grid(grid, time.perf_counter() - started)
        return picture

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
        notice: str | None = None,
    ) -> dict[str, Any]:
        exp = self.trainer.experiment
        query, history = run_query(self.trainer, self.hidden)
        return {
            "notice": notice,  # news: a network loaded
            "type": "config",
            "config": exp.to_json(),
            "query": query,
            "history": history,
            "hidden": sorted(self.hidden),
            "version": self.version,
            "effects": {k: e.value for k, e in effects.items()},
            "warnings": list(warnings),
            "errors": list(errors),
            "model": self.trainer.model_info(),
        }

    # --- a network kept as a file (worker thread) -----------------------------------------
    def network_file(self) -> bytes:
        """The network as a file to keep (`netfile.py`): its settings' link (without the run's
        history: the file holds the weights it led to), how far it trained, and its weights."""
        trainer = self.trainer
        assert isinstance(trainer, Trainer)  # TensorFlow Playground mode is refused before
        exp = trainer.experiment
        tensors = {name: t.detach().cpu().numpy().copy()
                   for name, t in zip(layer_names(len(exp.networkShape) + 1),
                                      trainer.parameters(), strict=True)}
        return netfile.write("2d", exp.to_json(), serialize(exp, self.hidden),
                             {"steps": trainer.steps, "epoch": trainer.epoch}, tensors)

    def adopt(self, params: list[np.ndarray]) -> None:
        """Start this run again from a loaded network's weights (`Trainer.adopt`)."""
        trainer = self.trainer
        assert isinstance(trainer, Trainer)
        trainer.adopt(params)
        self._rates.clear()
        self.version += 1

    # --- internals -----------------------------------------------------------------------
    def _pack(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
        """The binary message, compressed here on the worker thread if the client asked.

        Compressing on the event loop (permessage-deflate) made it the one thread every
        session's frames wait for; zlib releases the GIL, so here the workers share it.
        """
        message = frames.encode(header, arrays)
        if self.compression == "deflate-raw":
            return FRAME_ZLIB.compress(message, FRAME_COMPRESSION_LEVEL, wbits=-15)
        return message

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
