"""The reference training path: autograd and `torch.optim`, one minibatch at a time.

It is the definition of what training means in netplay. The fast path must agree with it
(see `tests/test_fastpath.py`), and it runs every configuration the fast path does not cover.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .experiment import Experiment
from .network import Architecture, BatchNorm, data_loss, forward, l1_zeros, regularization
from .rules import MOMENTUM_OPTIMIZERS, dropout_masks, torch_optimizer


def make_optimizer(exp: Experiment, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    return torch_optimizer(exp.optimizer, params, exp.learningRate, exp.momentum)


class ReferenceBackend:
    """A `backend.Backend` holding the parameters as autograd leaves, stepped by `torch.optim`."""

    path = "reference"

    def __init__(self, arch: Architecture, params: Sequence[np.ndarray], exp: Experiment):
        self.arch = arch
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.norm = BatchNorm(arch.sizes[1:-1]) if exp.batchNorm else None
        self.exp = exp
        self.optimizer = make_optimizer(exp, self._trained())

    def _trained(self) -> list[torch.Tensor]:
        """What the optimizer steps: the weights and biases, and batch norm's γ and β."""
        return self.params + (self.norm.parameters() if self.norm is not None else [])

    def configure(self, exp: Experiment) -> None:
        """Apply live settings. A new optimizer type starts with fresh state."""
        old, self.exp = self.exp, exp
        if exp.optimizer != old.optimizer:
            self.optimizer = make_optimizer(exp, self._trained())
            return
        for group in self.optimizer.param_groups:
            group["lr"] = exp.learningRate
            if "momentum" in group and exp.optimizer in MOMENTUM_OPTIMIZERS:
                group["momentum"] = exp.momentum

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def tensors(self) -> list[torch.Tensor]:
        return [p.detach() for p in self.params]

    def write(self, tensor: int, index: tuple[int, ...], value: float) -> None:
        with torch.no_grad():  # `tensors()` are views of the trained storage: this is live
            self.tensors()[tensor][index] = value

    def close(self) -> None:
        """Nothing is held outside this object."""

    def checkpoint(self) -> Any:
        # One deep copy of all three: the copied optimizer steps the copied parameters.
        return copy.deepcopy((self.params, self.norm, self.optimizer))

    def restore(self, state: Any, exp: Experiment, lr: float) -> None:
        self.params, self.norm, self.optimizer = copy.deepcopy(state)
        self.exp = exp
        self.set_learning_rate(lr)

    def set_parameters(self, params: Sequence[np.ndarray]) -> None:
        with torch.no_grad():
            for p, value in zip(self.params, params, strict=True):
                p.copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))

    def train_batches(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batches: Sequence[np.ndarray],
        dropout_rng: np.random.Generator,
    ) -> tuple[int, bool]:
        """One update per index batch. Returns (updates done, diverged)."""
        exp = self.exp
        loss_name = exp.loss_name
        p_drop = exp.dropout
        widths = self.arch.sizes[1:-1]
        weights = self.params[0::2]
        l1 = exp.regularizationRate if exp.regularization == "L1" else 0.0
        for i, idx in enumerate(batches):
            rows = torch.from_numpy(idx)
            masks = None
            if p_drop > 0 and widths:
                masks = [torch.from_numpy(m) for m in dropout_masks(dropout_rng, len(idx), widths, p_drop)]
            scores = forward(self.params, self.arch.activations, x[rows], masks,
                             normalize=self.norm.train if self.norm is not None else None)
            loss = data_loss(loss_name, scores, y[rows]) + regularization(
                exp.regularization, exp.regularizationRate, weights
            )
            if not torch.isfinite(loss):
                return i, True
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            before = [w.detach().clone() for w in weights] if l1 else None
            self.optimizer.step()
            if before is not None:
                with torch.no_grad():
                    for w, w0 in zip(weights, before, strict=True):
                        assert w.grad is not None  # every weight is in the loss
                        w.masked_fill_(l1_zeros(w0, w, w.grad, l1), 0.0)
        return len(batches), False
