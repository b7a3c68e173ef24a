"""`Trainer`: one experiment's data, network and training state.

Epochs are real: the training set is reshuffled at the start of every epoch from the
session's own "shuffle" stream, and a last partial batch is trained inside its epoch. Every
random draw comes from streams derived from the experiment seed, so the same experiment gives
the same numbers, bit for bit, whatever else the process is doing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import fastpath
from .backend import Backend
from .checkpoints import Checkpoint, Checkpoints
from .datasets import DataSplit, generate
from .experiment import Experiment
from .features import Preprocessor, feature_matrix
from .history import Change, Replay
from .network import Architecture, BatchNorm, initial_parameters
from .params import PARAMS, Effect
from .reference import ReferenceBackend
from .rng import stream
from .snapshot import Snapshot, evaluate, take_snapshot

# Data edits made by clicking keep the network training, as in ConvNetJS: only the data changes.

# What a checkpoint's data depends on beyond what rebuilds the run: points added or removed.
DATA_PARAMS = tuple(p.name for p in PARAMS if p.effect is Effect.DATA)

# Largest |value| a weight or bias may be set to by hand. The drawing saturates long before, and
# a bound keeps one edit from overflowing float32 training on the very next step.
MAX_EDIT_VALUE = 1000.0


class EditError(ValueError):
    """A hand edit of one weight or bias that cannot be made; `field` names the bad part
    (`layer`, `to`, `from` or `value`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def select_backend(arch: Architecture, params: list[np.ndarray], exp: Experiment) -> Backend:
    """The training path for an experiment; it depends on the experiment alone. Batch
    normalization is on the reference path alone: a net with it always trains there."""
    if exp.batchNorm:
        return ReferenceBackend(arch, params, exp)
    if fastpath.supports(exp):
        return fastpath.FastBackend(arch, params, exp)
    return ReferenceBackend(arch, params, exp)


class Trainer:
    """Trains one experiment; see the module docstring for the semantics."""

    def __init__(self, exp: Experiment, backend: str | None = None):
        """`backend="reference"` forces the reference path."""
        self._forced_backend = backend
        self._backend: Backend | None = None
        self.adopted: list[np.ndarray] | None = None  # a loaded network's weights (`adopt`)
        self._build(exp)

    # --- building ------------------------------------------------------------------------
    def _build(self, exp: Experiment, keep_adopted: bool = False) -> None:
        """A run of `exp` from its start: its seed's weights, or the adopted ones when going
        back within a loaded network's run (`keep_adopted`)."""
        if not keep_adopted:
            self.adopted = None
        self.experiment = exp
        self.base = exp  # what the run started from: a link is this plus `history`
        self.history: list[list[Any]] = []  # live changes since, see `history.py`
        self.history_epochs: list[int] = []  # the completed epochs when each was made
        self.arch = Architecture.of(exp)
        self._load_data(exp)
        self.initial_params = (initial_parameters(self.arch, exp) if self.adopted is None
                               else [p.copy() for p in self.adopted])
        self.checkpoints = Checkpoints(self.arch.num_parameters)
        self._start()

    def _load_data(self, exp: Experiment) -> None:
        self.data: DataSplit = generate(exp)
        # the grid's inputs and the features' maps, as floats and as sent (see snapshot.py)
        self.grid_cache: tuple[Any, torch.Tensor, torch.Tensor, np.ndarray] | None = None
        names = exp.features
        train_f = feature_matrix(self.data.train_x, names)
        self.preprocess = Preprocessor(exp.preprocess, train_f)
        self.x_train = torch.from_numpy(self.preprocess(train_f).astype(np.float32))
        test_f = feature_matrix(self.data.test_x, names)
        self.x_test = torch.from_numpy(self.preprocess(test_f).astype(np.float32))
        label_type = np.int64 if exp.is_classification else np.float32
        self.y_train = torch.from_numpy(self.data.train_y.astype(label_type))
        self.y_test = torch.from_numpy(self.data.test_y.astype(label_type))
        self._restart_epoch()

    def _restart_epoch(self) -> None:
        self._perm: np.ndarray | None = None
        self._cursor = 0

    def _start(self) -> None:
        """Fresh training state from the initial parameters (used by build and reset)."""
        exp = self.experiment
        params = [p.copy() for p in self.initial_params]
        self.close()
        backend: Backend
        if self._forced_backend == "reference":
            backend = ReferenceBackend(self.arch, params, exp)
        else:
            backend = select_backend(self.arch, params, exp)
        self._backend = backend
        self.shuffle_rng = stream(exp.seed, "shuffle")
        self.dropout_rng = stream(exp.seed, "dropout")
        self._restart_epoch()
        self.epoch = 0
        self.steps = 0
        self.diverged_at: int | None = None
        self.learning_rate = exp.learningRate  # the rate in force: the backend was built at it
        self._follow_schedule()

    def close(self) -> None:
        """Give back what the backend holds outside this trainer, if anything; idempotent."""
        if self._backend is not None:
            self._backend.close()

    @property
    def backend(self) -> Backend:
        """The engine that holds the parameters and does the updates (see `backend.py`)."""
        assert self._backend is not None  # set by the constructor, replaced by reset/rebuild
        return self._backend

    @property
    def path(self) -> str:
        return self.backend.path

    def model_info(self) -> dict[str, Any]:
        exp = self.experiment
        return {
            "layers": list(self.arch.sizes),
            "features": list(exp.features),
            "feature_choices": list(exp.feature_choices),
            "activations": list(self.arch.activations),
            "num_classes": exp.num_classes,
            "parameters": self.arch.num_parameters,
            "path": self.path,
        }

    # --- control -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to exactly the same initial weights, epoch 0 (the data is unchanged)."""
        self._start()
        self.base, self.history, self.history_epochs = self.experiment, [], []
        self.checkpoints.clear()

    def reseed(self, seed: str) -> None:
        """A new seed: new data, new initial weights."""
        self._build(self.experiment.replace(seed=seed))

    def update(self, new: Experiment) -> dict[str, Effect]:
        """Move to `new`: live changes keep the weights, structural ones rebuild from the seed."""
        changes = new.changes_from(self.experiment)
        if not changes:
            return changes
        if Effect.REBUILD in changes.values():
            self._build(new)
            return changes
        self.experiment = new
        self._record(["set", self.steps, {k: _plain(new[k]) for k in changes}])
        if Effect.DATA in changes.values():
            self._load_data(new)  # points added or removed: the run goes on with the new data
        self.backend.configure(new)
        self.learning_rate = new.learningRate
        self._follow_schedule()
        return changes

    def _follow_schedule(self) -> None:
        """Train at the schedule's rate for this epoch (a no-op while it is the same)."""
        exp = self.experiment
        if exp.schedule == "constant" and self.learning_rate == exp.learningRate:
            return  # every epoch of the fast path passes here: nothing to build
        lr = exp.learning_rate_at(self.epoch)
        if lr != self.learning_rate:
            self.backend.set_learning_rate(lr)
            self.learning_rate = lr

    # --- training ------------------------------------------------------------------------
    def train_steps(self, n: int, stop_at_epoch_end: bool = False) -> int:
        """Run up to `n` minibatch updates; stops early on divergence (and, if asked, when the
        current epoch ends). Returns the number of updates run."""
        done = 0
        while done < n and self.diverged_at is None:
            batches = self.next_batches(n - done)
            ran, diverged = self.backend.train_batches(
                self.x_train, self.y_train, batches, self.dropout_rng
            )
            done += ran
            if self.advance(ran, diverged) and stop_at_epoch_end:
                break
        return done

    def next_batches(self, n: int) -> list[np.ndarray]:
        """The index batches of the next updates: the rest of this epoch, at most `n` of them.
        Draws the epoch's shuffle when the epoch starts; `advance` accounts for them."""
        n_train = len(self.y_train)
        if self._perm is None:
            self._perm = self.shuffle_rng.permutation(n_train)
        batch = self.experiment.batchSize
        return [self._perm[s : s + batch] for s in range(self._cursor, n_train, batch)[:n]]

    def advance(self, ran: int, diverged: bool) -> bool:
        """Count `ran` updates of the batches `next_batches` gave (all of them, unless the loss
        stopped being finite). Returns True when they finished the epoch."""
        self.steps += ran
        if diverged:
            self.diverged_at = self.epoch
            return False
        n_train = len(self.y_train)
        self._cursor = min(self._cursor + ran * self.experiment.batchSize, n_train)
        if self._cursor < n_train:
            return False
        self.epoch += 1
        self._restart_epoch()
        self._follow_schedule()
        if self.checkpoints.due(self.epoch):
            self._checkpoint()
        return True

    # --- going back ----------------------------------------------------------------------
    def _checkpoint(self) -> None:
        state = self.backend.checkpoint()
        self.checkpoints.add(Checkpoint(
            self.epoch, self.steps, len(self.history), self.experiment, self.learning_rate,
            state, self.shuffle_rng.bit_generator.state, self.dropout_rng.bit_generator.state))

    def go_back(self, changes: Sequence[Change], at_epoch: int | None = None,
                at_step: int | None = None) -> Replay:
        """Start going back to an earlier moment of this run: the end of epoch `at_epoch`, or
        update `at_step` (see `history.Replay`), with `changes` (the first of the run's
        history) made on the way. The run is put at the latest checkpoint before that moment
        (or at its start); the `Replay` returned trains it the rest of the way. What the run
        did after that moment is gone from it: its history and checkpoints end there."""
        cp = self.checkpoints.before(at_epoch, at_step, len(changes))
        if cp is None:
            self._build(self.base, keep_adopted=True)
            return Replay(self, changes, at_epoch, at_step)
        if any(cp.experiment[name] != self.experiment[name] for name in DATA_PARAMS):
            self._load_data(cp.experiment)
        self.experiment = cp.experiment
        self.backend.restore(cp.backend, cp.experiment, cp.learning_rate)
        self.shuffle_rng.bit_generator.state = cp.shuffle
        self.dropout_rng.bit_generator.state = cp.dropout
        self._restart_epoch()
        self.epoch, self.steps, self.diverged_at = cp.epoch, cp.steps, None
        self.learning_rate = cp.learning_rate
        del self.history[cp.applied:], self.history_epochs[cp.applied:]
        self.checkpoints.keep_until(cp)
        return Replay(self, list(changes)[cp.applied:], at_epoch, at_step)

    @property
    def at_epoch_start(self) -> bool:
        return self._cursor == 0

    def adopt(self, params: Sequence[np.ndarray]) -> None:
        """Start this run again from `params` ([W₁, b₁, …], shaped as this net's) in place of
        its seed's weights: a loaded network. Epoch 0 is then the loaded network; reset and
        going back return to it, and a new seed or another architecture drops it. Raises
        `ValueError` naming the first array that does not fit."""
        shapes = [p.shape for p in self.initial_params]
        if len(params) != len(shapes):
            raise ValueError(f"{len(params)} weight arrays for a net that has {len(shapes)}")
        for i, (p, shape) in enumerate(zip(params, shapes, strict=True)):
            if p.shape != shape:
                kind, layer = ("W", "b")[i % 2], i // 2 + 1
                raise ValueError(f"{kind}{layer} is {'×'.join(map(str, p.shape))}, "
                                 f"this net's is {'×'.join(map(str, shape))}")
        self.adopted = [np.asarray(p, np.float32).copy() for p in params]
        self._build(self.experiment, keep_adopted=True)

    def load_parameters(self, flat: np.ndarray) -> None:
        """Set every weight and bias from one flat array, layer by layer W[out][in] then b."""
        tensors = self.parameters()
        sizes = [t.numel() for t in tensors]
        parts = np.split(np.asarray(flat, np.float32), np.cumsum(sizes)[:-1])
        self.backend.set_parameters([p.reshape(t.shape) for p, t in zip(parts, tensors, strict=True)])

    def set_weight(self, layer: int, to: int, from_: int, value: float) -> None:
        """Set one weight, W[layer][to, from_], in place; layer 0 reads the input features.

        The optimizer state is kept (momentum, Adam's moments), as TF Playground keeps it: the
        next update starts from the edited value. Raises `EditError` naming a bad field.
        """
        n_in, n_out = self._edit_layer(layer)
        check_index("to", to, n_out, f"layer {layer} has {n_out} neurons")
        check_index("from", from_, n_in, f"layer {layer} reads {n_in} values")
        self._write(2 * layer, (to, from_), value)
        self._record(["w", self.steps, layer, to, from_, float(value)])

    def set_bias(self, layer: int, to: int, value: float) -> None:
        """Set one bias, b[layer][to], in place; otherwise as `set_weight`."""
        _, n_out = self._edit_layer(layer)
        check_index("to", to, n_out, f"layer {layer} has {n_out} neurons")
        self._write(2 * layer + 1, (to,), value)
        self._record(["b", self.steps, layer, to, float(value)])

    def _record(self, change: list[Any]) -> None:
        """Note a live change in the run's history (`history.py`), with its epoch."""
        self.history.append(change)
        self.history_epochs.append(self.epoch)

    def _edit_layer(self, layer: int) -> tuple[int, int]:
        sizes = self.arch.sizes
        check_index("layer", layer, len(sizes) - 1, f"this net has {len(sizes) - 1} weight layers")
        return sizes[layer], sizes[layer + 1]

    def _write(self, tensor: int, index: tuple[int, ...], value: float) -> None:
        self.backend.write(tensor, index, edit_value(value))

    def train_epochs(self, n: int = 1) -> None:
        """Train until `n` more epochs have completed (or the run diverges)."""
        target = self.epoch + n
        while self.epoch < target and self.diverged_at is None:
            self.train_steps(len(self.y_train), stop_at_epoch_end=True)

    # --- looking -------------------------------------------------------------------------
    def parameters(self) -> list[torch.Tensor]:
        """[W₁, b₁, …] as tensors sharing the training state (do not modify)."""
        return self.backend.tensors()

    @property
    def norm(self) -> BatchNorm | None:
        """Batch normalization's state (γ, β, running estimates), where the net has it."""
        return self.backend.norm

    def metrics(self) -> dict[str, Any]:
        return evaluate(self)

    def snapshot(self, grid_size: int = 100, neuron_grid: int = 20) -> Snapshot:
        return take_snapshot(self, grid_size, neuron_grid)


def _plain(value: Any) -> Any:
    """A parameter's value as JSON writes it (tuples as lists)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def edit_value(value: float) -> float:
    """A hand-edited weight or bias, checked; raises `EditError` naming `value`."""
    if not math.isfinite(value):
        raise EditError("value", f"value must be a finite number, got {value}")
    if abs(value) > MAX_EDIT_VALUE:
        raise EditError("value", f"value must be between {-MAX_EDIT_VALUE:g} and "
                        f"{MAX_EDIT_VALUE:g}, got {value:g}")
    return float(value)


def check_index(field: str, value: int, size: int, what: str) -> None:
    if not 0 <= value < size:
        raise EditError(field, f"{field} must be 0..{size - 1} ({what}), got {value}")
