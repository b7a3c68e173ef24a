"""`Backend`: what a `Trainer` asks of the engine that does its arithmetic.

Two engines implement it: the reference path (`reference.ReferenceBackend`, autograd and
torch.optim) and the C kernel (`fastpath.FastBackend`). A backend holds the parameters and the
optimizer state and applies the updates it is handed; the epochs, the shuffles, the dropout stream and divergence bookkeeping
are the trainer's alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from .experiment import Experiment
from .network import BatchNorm


@runtime_checkable
class Backend(Protocol):
    path: str  # "reference" or "fast": reported in frames and `model_info`
    norm: BatchNorm | None  # batch normalization's state, on the reference path alone

    def configure(self, exp: Experiment) -> None:
        """Apply live settings from the next update on; a new optimizer type starts fresh."""
        ...

    def set_learning_rate(self, lr: float) -> None:
        """Train at `lr` from the next update on (the schedule's rate; `configure` sets the
        experiment's own `learningRate` again)."""
        ...

    def tensors(self) -> list[torch.Tensor]:
        """[W₁, b₁, …] sharing the training state: snapshots read the live weights."""
        ...

    def set_parameters(self, params: Sequence[np.ndarray]) -> None:
        """Replace every weight and bias; the optimizer state is kept."""
        ...

    def write(self, tensor: int, index: tuple[int, ...], value: float) -> None:
        """Set one entry of `tensors()[tensor]` in place."""
        ...

    def train_batches(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batches: Sequence[np.ndarray],
        dropout_rng: np.random.Generator,
    ) -> tuple[int, bool]:
        """One update per index batch, masks drawn from `dropout_rng` as `rules.dropout_masks`
        draws them. Returns (updates done, whether the loss stopped being finite, in which
        case training stopped before that update)."""
        ...

    def checkpoint(self) -> Any:
        """A copy of the parameters and the optimizer state, for `restore`."""
        ...

    def restore(self, state: Any, exp: Experiment, lr: float) -> None:
        """Back to a `checkpoint` (which stays usable again), training `exp` at rate `lr`."""
        ...

    def close(self) -> None:
        """Give back what the backend holds outside the trainer, if anything; idempotent."""
        ...
