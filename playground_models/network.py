"""The 2-D lab's network: a plain MLP held as a flat list of weight and bias tensors.

Weights are `[out, in]` (PyTorch's layout), so `h = act(x @ W.T + b)`. Keeping the parameters
as plain tensors rather than `nn.Module`s lets the reference path (autograd) and the fast path
(hand-written kernels) share them, and lets one forward pass record every neuron for the maps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from .experiment import Experiment
from .rng import stream
from .rules import (
    BATCH_NORM_EPS,
    BATCH_NORM_MOMENTUM,
    HUBER_DELTA,
    LEAKY_RELU_SLOPE,
    parameter_count,
)

ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
    "leakyrelu": lambda z: F.leaky_relu(z, LEAKY_RELU_SLOPE),
    "elu": F.elu,
    # The tanh form of GELU: it has a closed-form derivative the fast path can share.
    "gelu": lambda z: F.gelu(z, approximate="tanh"),
    "sine": torch.sin,
}


@dataclass(frozen=True)
class Architecture:
    """Layer sizes from inputs to outputs, and the activation of each hidden layer."""

    sizes: tuple[int, ...]  # (inputs, hidden..., outputs)
    activations: tuple[str, ...]  # one per hidden layer

    @classmethod
    def of(cls, exp: Experiment) -> Architecture:
        outputs = exp.num_classes if exp.is_classification else 1
        return cls((len(exp.features), *exp.networkShape, outputs), exp.layer_activations)

    @property
    def num_parameters(self) -> int:
        return parameter_count(self.sizes)


def initial_parameters(arch: Architecture, exp: Experiment) -> list[np.ndarray]:
    """[W₁, b₁, W₂, b₂, …] as float32 arrays, drawn from the experiment's own "init" stream."""
    rng = stream(exp.seed, "init")
    params: list[np.ndarray] = []
    for fan_in, fan_out in zip(arch.sizes[:-1], arch.sizes[1:], strict=True):
        shape = (fan_out, fan_in)
        bias = 0.0
        if exp.init == "tf":  # TF Playground: U(−0.5, 0.5) and every bias 0.1
            w = rng.uniform(-0.5, 0.5, shape)
            bias = 0.1
        elif exp.init == "small":  # the course notes' N(0, 0.01²)
            w = rng.normal(0.0, 0.01, shape)
        elif exp.init == "xavier":
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, shape)
        else:  # he: keeps the variance of ReLU activations constant through depth
            w = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)
        if exp.initZero:
            w, bias = np.zeros(shape), 0.0
        params += [w.astype(np.float32), np.full(fan_out, bias, dtype=np.float32)]
    return params


class BatchNorm:
    """Batch normalization of every hidden layer's pre-activation, in front of its activation,
    as `torch.nn.BatchNorm1d` does it: in training a batch is normalized by its own mean and
    (biased) variance and the running estimates move towards them (momentum 0.1, unbiased
    variance); everywhere else (the boundary, the neuron maps, losses and accuracy) the running
    estimates are used. γ (`gamma`) and β (`beta`) are trained with the weights. A batch of one
    sample has no spread to normalize by: it is normalized with the running estimates."""

    def __init__(self, widths: Sequence[int]):
        self.gamma = [torch.ones(w, requires_grad=True) for w in widths]
        self.beta = [torch.zeros(w, requires_grad=True) for w in widths]
        self.mean = [torch.zeros(w) for w in widths]
        self.var = [torch.ones(w) for w in widths]

    def parameters(self) -> list[torch.Tensor]:
        return [*self.gamma, *self.beta]

    def train(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """Layer `i`'s pre-activations [n, width] normalized by their batch, moving the running
        estimates: what a training step does."""
        if z.shape[0] < 2:
            return F.batch_norm(z, self.mean[i], self.var[i], self.gamma[i], self.beta[i],
                                training=False, eps=BATCH_NORM_EPS)
        return F.batch_norm(z, self.mean[i], self.var[i], self.gamma[i], self.beta[i],
                            training=True, momentum=BATCH_NORM_MOMENTUM, eps=BATCH_NORM_EPS)

    def by_batch(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """As `train`, leaving the running estimates alone (a look at training's gradients)."""
        if z.shape[0] < 2:
            return self.infer(i, z)
        return F.batch_norm(z, None, None, self.gamma[i], self.beta[i], training=True,
                            eps=BATCH_NORM_EPS)

    def infer(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """Layer `i`'s pre-activations [n, width] normalized by the running estimates."""
        return F.batch_norm(z, self.mean[i], self.var[i], self.gamma[i].detach(),
                            self.beta[i].detach(), training=False, eps=BATCH_NORM_EPS)

    def scale_shift(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer `i`'s normalization with the running estimates, as z·scale + shift (for
        pre-activations laid out as columns)."""
        scale = self.gamma[i].detach() / torch.sqrt(self.var[i] + BATCH_NORM_EPS)
        return scale, self.beta[i].detach() - self.mean[i] * scale


def forward(
    params: Sequence[torch.Tensor],
    activations: Sequence[str],
    x: torch.Tensor,
    masks: Sequence[torch.Tensor] | None = None,
    record: list[torch.Tensor] | None = None,
    normalize: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Output scores [n, outputs] for inputs [n, features].

    `masks` (one per hidden layer, already scaled by 1/(1−p)) apply dropout; `record` receives
    every hidden layer's activations [n, width]; `normalize(i, z)` (a `BatchNorm` method)
    normalizes hidden layer i's pre-activations.
    """
    h = x
    n_hidden = len(activations)
    for i in range(n_hidden):
        z = h @ params[2 * i].T + params[2 * i + 1]
        if normalize is not None:
            z = normalize(i, z)
        h = ACTIVATION_FUNCTIONS[activations[i]](z)
        if record is not None:
            record.append(h)
        if masks is not None:
            h = h * masks[i]
    return h @ params[2 * n_hidden].T + params[2 * n_hidden + 1]


def data_loss(name: str, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss over the batch. `target`: class indices (int64) or values [n] (float)."""
    if name == "softmax":
        return F.cross_entropy(scores, target)
    if name == "hinge":
        # Multi-class SVM (Weston–Watkins): Σ_{j≠y} max(0, s_j − s_y + 1), as in the course.
        correct = scores.gather(1, target[:, None])
        margins = (scores - correct + 1.0).clamp_min(0.0)
        return (margins.sum(dim=1) - 1.0).mean()  # the j = y term contributes exactly 1
    if name == "square":
        signs = 2.0 * F.one_hot(target, scores.shape[1]).to(scores.dtype) - 1.0
        return 0.5 * ((torch.tanh(scores) - signs) ** 2).mean()
    out = scores[:, 0]
    if name == "mse":
        return 0.5 * ((out - target) ** 2).mean()  # ½(o − t)², as TF Playground reports it
    if name == "mae":
        return (out - target).abs().mean()
    if name == "huber":
        return F.huber_loss(out, target, delta=HUBER_DELTA)
    raise ValueError(f"unknown loss {name!r}")


def l1_zeros(before: torch.Tensor, after: torch.Tensor, grad: torch.Tensor,
             rate: float | torch.Tensor) -> torch.Tensor:
    """Where L1 makes a weight exactly 0 after an update, whatever the optimizer: the update
    carried it across zero (it stops at zero), or it was 0 and L1's pull λ is at least its
    gradient (at 0 the penalty's subgradient is 0, so `grad` is the data gradient alone)."""
    crossed = ((before > 0) & (after < 0)) | ((before < 0) & (after > 0))
    return crossed | ((before == 0) & (grad.abs() <= rate))


def regularization(kind: str, rate: float, weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """The penalty on weights (biases are never penalized): L1 = λΣ|w|, L2 = ½λΣw²."""
    if kind == "none" or rate == 0.0:
        return torch.zeros(())
    # `sum` of tensors is a tensor (there is always a weight matrix), whatever its stub says
    if kind == "L1":
        return cast(torch.Tensor, rate * sum(w.abs().sum() for w in weights))
    return cast(torch.Tensor, 0.5 * rate * sum((w * w).sum() for w in weights))
