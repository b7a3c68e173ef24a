"""The arithmetic of many runs of one architecture stepped as one tensor program.

A pool (`pool.py`) stacks the parameters of R runs into one [R, P] tensor (each row in the flat
layout of `rules.py`: W[out][in] then b[out], layer by layer) and steps them all with a handful
of batched kernels per minibatch: `baddbmm` forward, autograd backward, the optimizer's update
as elementwise tensor arithmetic with per-row rates. The time of a step then hardly depends on R
until the device is full, which is what a GPU wants: one launch sequence for thousands of tiny
models instead of thousands of launch sequences.

Each row follows the semantics of the reference path; numbers agree with it to float rounding
(tests), not bit for bit. Epochs, shuffles, dropout draws and divergence are the trainers'
(`Trainer`); this module only does the arithmetic of the updates it is handed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F

from .network import ACTIVATION_FUNCTIONS, l1_zeros
from .rules import (
    HUBER_DELTA,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZER_RULES,
    constant,
    layer_offsets,
    parameter_count,
)

# The optimizers' constants, as every engine reads them from the rules table.
ADAGRAD_EPS = constant("adagrad", "eps")
ADADELTA_RHO, ADADELTA_EPS = constant("adadelta", "rho"), constant("adadelta", "eps")
RMSPROP_ALPHA, RMSPROP_EPS = constant("rmsprop", "alpha"), constant("rmsprop", "eps")
ADAM_BETA1, ADAM_BETA2 = constant("adam", "beta1"), constant("adam", "beta2")
ADAM_EPS = constant("adam", "eps")


def mean_loss(name: str, scores: torch.Tensor, target: torch.Tensor,
              valid: torch.Tensor | None = None) -> torch.Tensor:
    """Each run's mean loss over its minibatch, [R], from scores [R, B, C] and targets [R, B];
    `valid` [R, B] marks the samples that count (the others are padding). Reduced in the
    reference path's order (`network.data_loss`), so both overflow at the same step."""
    per_sample = _per_sample_loss(name, scores, target)
    if valid is None:
        mean = per_sample.mean(dim=1)
    else:
        mean = torch.where(valid, per_sample, 0.0).sum(dim=1) / valid.sum(dim=1).clamp_min(1)
    return 0.5 * mean if name in ("mse", "square") else mean


def _per_sample_loss(name: str, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each sample's loss, [R, B] (for mse and square without their ½, applied after the mean)."""
    if name == "softmax":
        r, b, c = scores.shape
        return F.cross_entropy(scores.reshape(r * b, c), target.reshape(r * b),
                               reduction="none").view(r, b)
    if name == "hinge":
        correct = scores.gather(2, target[..., None])
        margins = (scores - correct + 1.0).clamp_min(0.0)
        return margins.sum(dim=2) - 1.0
    if name == "square":  # each sample's mean over its outputs; the ½ as in `network.data_loss`
        signs = 2.0 * F.one_hot(target, scores.shape[2]).to(scores.dtype) - 1.0
        return ((torch.tanh(scores) - signs) ** 2).mean(dim=2)
    out = scores[..., 0]
    if name == "mse":
        return (out - target) ** 2
    if name == "mae":
        return (out - target).abs()
    if name == "huber":
        return F.huber_loss(out, target, delta=HUBER_DELTA, reduction="none")
    raise ValueError(f"unknown loss {name!r}")


def weight_mask(sizes: Sequence[int], device: torch.device) -> torch.Tensor:
    """1 where the flat layout holds a weight, 0 where it holds a bias (penalties skip biases)."""
    mask = torch.zeros(parameter_count(sizes), device=device)
    for w_at, b_at in layer_offsets(sizes):
        mask[w_at:b_at] = 1.0
    return mask


def penalty(weights: torch.Tensor, l1: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
    """Each run's penalty, [R], on its weights [R, P] (biases masked to 0): λΣ|w| or ½λΣw².
    A run without a penalty adds exactly 0, as on the reference path, even where Σw² is inf."""
    l1, l2 = l1[:, 0], l2[:, 0]
    return (torch.where(l1 != 0, l1 * weights.abs().sum(dim=1), 0.0)
            + torch.where(l2 != 0, 0.5 * l2 * (weights * weights).sum(dim=1), 0.0))


def layer_views(sizes: Sequence[int], flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(W [R, out, in], b [R, out]) per layer, as views of the flat rows [R, P]."""
    r = flat.shape[0]
    return [
        (flat[:, w_at:b_at].view(r, n_out, n_in), flat[:, b_at : b_at + n_out])
        for (n_in, n_out), (w_at, b_at) in zip(pairwise(sizes), layer_offsets(sizes), strict=True)
    ]


class BatchedRows:
    """A pool's arithmetic: one row of `params` per run, every row's minibatch loss in one
    forward pass, and torch.optim's update rules as elementwise tensor arithmetic.

    A subclass keeps `params`, `s1`, `s2` ([R, P] state), `steps` ([R, 1] int64), `lr` and
    `momentum` ([R, 1] float64), `l1` and `l2` ([R, 1] float32), `weight_mask` [P], and the
    architecture's `sizes`, `activations`, `loss_name` and `optimizer`, all on one device.
    """

    sizes: Sequence[int]
    activations: Sequence[str]
    loss_name: str
    weight_mask: torch.Tensor
    l1: torch.Tensor
    l2: torch.Tensor
    params: torch.Tensor
    s1: torch.Tensor
    s2: torch.Tensor
    steps: torch.Tensor
    lr: torch.Tensor
    momentum: torch.Tensor
    optimizer: str

    def _losses(self, x: torch.Tensor, target: torch.Tensor,
                masks: Sequence[torch.Tensor] | None, valid: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(params as an autograd leaf, each run's loss [R]) for inputs x [R, B, F]."""
        flat = self.params.detach().requires_grad_(True)
        layers = layer_views(self.sizes, flat)
        h = x
        for i, (w, b) in enumerate(layers):
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
            if i < len(layers) - 1:
                h = ACTIVATION_FUNCTIONS[self.activations[i]](h)
                if masks is not None:
                    h = h * masks[i]
        loss = mean_loss(self.loss_name, h, target, valid)
        return flat, loss + penalty(flat * self.weight_mask, self.l1, self.l2)

    def _update(self, g: torch.Tensor, live: torch.Tensor) -> None:
        """One torch.optim step per run (rows where `live` is False keep their values), then
        L1's exact zeros on the weights of L1 runs (`network.l1_zeros`)."""
        has_l1 = bool((self.l1 > 0).any())
        before = self.params.clone() if has_l1 else None
        self._optimizer_step(g, live)
        if before is not None:
            zero = l1_zeros(before, self.params, g, self.l1)
            zero &= (self.weight_mask > 0) & (self.l1 > 0) & live
            self.params.masked_fill_(zero, 0.0)

    def _optimizer_step(self, g: torch.Tensor, live: torch.Tensor) -> None:
        p, s1, s2, name = self.params, self.s1, self.s2, self.optimizer
        lr = self.lr.float()
        if name in MOMENTUM_OPTIMIZERS:
            mom = self.momentum.float()
            has_buffer = self.momentum != 0  # torch keeps no buffer at momentum 0: plain SGD
            buf = torch.where(self.steps == 0, g, s1 * mom + g)
            d = g + mom * buf if OPTIMIZER_RULES[name].nesterov else buf
            d = torch.where(has_buffer, d, g)
            s1.copy_(torch.where(live & has_buffer, buf, s1))
            self.steps += (live & has_buffer).long()
            p.copy_(torch.where(live, p - lr * d, p))
            return
        if name == "sgd":
            p.copy_(torch.where(live, p - lr * g, p))
            return
        self.steps += live.long()
        if name == "adagrad":
            new1 = s1 + g * g
            new_p = p - (lr * g) / (new1.sqrt() + ADAGRAD_EPS)
        elif name == "adadelta":
            new1 = s1 * ADADELTA_RHO + ((1 - ADADELTA_RHO) * g) * g
            delta = (s2 + ADADELTA_EPS).sqrt() / (new1 + ADADELTA_EPS).sqrt() * g
            s2.copy_(torch.where(live, s2 * ADADELTA_RHO + ((1 - ADADELTA_RHO) * delta) * delta, s2))
            new_p = p - lr * delta
        elif name == "rmsprop":
            new1 = s1 * RMSPROP_ALPHA + ((1 - RMSPROP_ALPHA) * g) * g
            new_p = p - (lr * g) / (new1.sqrt() + RMSPROP_EPS)
        elif name == "adam":
            t = self.steps.double()
            step_size = (self.lr / (1 - ADAM_BETA1**t)).float()
            bc2_sqrt = (1 - ADAM_BETA2**t).sqrt().float()
            new1 = s1 + (1 - ADAM_BETA1) * (g - s1)
            new2 = s2 * ADAM_BETA2 + ((1 - ADAM_BETA2) * g) * g
            s2.copy_(torch.where(live, new2, s2))
            new_p = p - (step_size * new1) / (new2.sqrt() / bc2_sqrt + ADAM_EPS)
        else:
            raise NotImplementedError(f"batched rows: no update rule for {name!r}")
        s1.copy_(torch.where(live, new1, s1))
        p.copy_(torch.where(live, new_p, p))
