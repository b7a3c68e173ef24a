"""Per-layer gradient norms: how strongly the data loss pulls on each weight matrix right now.

This is what makes vanishing gradients visible: in a deep sigmoid net (or one started at
N(0, 0.01²)) the first layer's norm is orders of magnitude below the last layer's, so the first
layer barely moves. The norms are computed with autograd on a detached copy of the current
parameters, over the full training set and without dropout or the penalty, so they are the same
whichever training path (reference or fast kernel) produced those parameters.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .network import data_loss, forward

if TYPE_CHECKING:
    from .trainer import Trainer


def layer_gradient_norms(trainer: Trainer) -> list[float | None]:
    """‖∂L/∂Wₗ‖ (Frobenius) for every weight matrix, first layer first.

    L is the mean data loss over the full training set. A diverged run (non-finite
    parameters) gives None per layer rather than NaN, so the result is always valid JSON.
    """
    exp = trainer.experiment
    # Clones, so that asking for gradients never touches the optimizer's own tensors.
    params = [p.detach().clone().requires_grad_(True) for p in trainer.parameters()]
    with torch.enable_grad():
        # With batch norm, the whole training set is the batch, as in a training step.
        norm = trainer.norm.by_batch if trainer.norm is not None else None
        scores = forward(params, trainer.arch.activations, trainer.x_train, normalize=norm)
        loss = data_loss(exp.loss_name, scores, trainer.y_train)
        grads = torch.autograd.grad(loss, params[0::2], allow_unused=True)
    norms: list[float | None] = []
    for g in grads:
        value = 0.0 if g is None else float(torch.linalg.vector_norm(g))
        norms.append(value if math.isfinite(value) else None)
    return norms
