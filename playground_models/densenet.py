"""`DenseNet`: dense layers held as plain tensors (weights [in, out], biases), the base of the
painting lab's `Painter` and the autoencoder lab's `Autoencoder`.

The weights start as torch's `nn.Linear` starts them (uniform within ±1/√fan-in) from the
seed's own stream. The update is `torch.optim`'s (`rules.torch_optimizer`, momentum 0.9 where
the rule takes one), with weight decay on the weights only, as ConvNetJS decays them. Live
settings keep the weights; a new optimizer starts fresh. The loss readout is smoothed as
ConvNetJS's (0.99), and a loss that becomes infinite or passes `EXPLODED` is a diverged run.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch

from .rng import stream_seed
from .rules import torch_optimizer

EMA = 0.99
# Past this the run has left any picture or digit behind (a pixel's squared error is at most
# 1): it has diverged, though the number may still be finite.
EXPLODED = 1e4


class DenseNet:
    def __init__(self, config: Any, sizes: list[int], stream: str):
        self.config = config
        init = torch.Generator().manual_seed(stream_seed(config.seed, stream))
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for a, b in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(torch.empty(a, b).uniform_(-bound, bound, generator=init)
                                .requires_grad_())
            self.biases.append(torch.empty(b).uniform_(-bound, bound, generator=init)
                               .requires_grad_())
        self.optimizer = self._optimizer()
        self.updates = 0
        self.loss: float | None = None  # the smoothed training loss
        self.diverged = False

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        groups = [{"params": self.weights, "weight_decay": c.weightDecay},
                  {"params": self.biases, "weight_decay": 0.0}]
        return torch_optimizer(c.optimizer, groups, c.learningRate, momentum=0.9)

    def update(self, config: Any) -> None:
        """Apply live settings with the weights kept; a new optimizer starts fresh."""
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self.optimizer = self._optimizer()
            return
        for group, decay in zip(self.optimizer.param_groups, (config.weightDecay, 0.0),
                                strict=True):
            group["lr"] = config.learningRate
            group["weight_decay"] = decay

    def dense(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Layer `i` (no activation) applied to `x`."""
        return torch.addmm(self.biases[i], x, self.weights[i])

    def learn(self, loss: torch.Tensor) -> bool:
        """One update from `loss`; False once the run has diverged."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        value = loss.item()
        self.updates += 1
        if not math.isfinite(value) or value > EXPLODED:
            self.diverged = True
            return False
        self.loss = value if self.loss is None else EMA * self.loss + (1 - EMA) * value
        return True
