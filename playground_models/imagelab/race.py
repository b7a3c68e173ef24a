"""The optimizer race: one net, six optimizers, lockstep on the same examples.

As ConvNetJS's trainer comparison: every racer starts from the same initial weights and sees
the same minibatch at every step, so the curves differ only by the update rule. Each optimizer
uses a learning rate that suits it (SGD needs a larger one than Adam).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import LabConfig
from .parts import Parts, drain
from .trainer import LabTrainer, forward_chunks, make_optimizer

RACERS: dict[str, float] = {  # optimizer → its learning rate in the race
    "sgd": 0.05,
    "momentum": 0.01,
    "adagrad": 0.01,
    "adadelta": 1.0,
    "rmsprop": 0.001,
    "adam": 0.001,
}


@dataclass
class RacePoint:
    examples: int
    loss: dict[str, float | None]  # mean training loss since the previous point
    val_acc: dict[str, float]


class OptimizerRace:
    """Holds one copy of the net per optimizer; `step` advances all of them on one batch."""

    def __init__(self, config: LabConfig, device: torch.device | None = None):
        # The trainer supplies the data, the batches and the shared initial weights.
        self.base = LabTrainer(config, device)
        self.nets = {name: copy.deepcopy(self.base.net) for name in RACERS}
        self.optimizers = {
            name: make_optimizer(name, net, RACERS[name], config.momentum, config.weightDecay)
            for name, net in self.nets.items()
        }
        self._sums = {name: torch.zeros((), device=self.base.device) for name in RACERS}
        self._seen = 0
        self.examples = 0

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            xb, yb = self.base._next_batch()  # the same examples for every racer
            for name, net in self.nets.items():
                net.train()
                loss = F.cross_entropy(net(xb), yb)
                optimizer = self.optimizers[name]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self._sums[name] += loss.detach()
            self._seen += 1
            self.examples += len(yb)

    def point(self) -> RacePoint:
        """Training loss since the last point and validation accuracy now, per optimizer."""
        return drain(self.point_in_parts())

    def point_in_parts(self) -> Parts[RacePoint]:
        """`point`, yielding after each racer's evaluation (see `parts`)."""
        losses: dict[str, float | None] = {}
        accs: dict[str, float] = {}
        x, y = self.base.x["val"], self.base.y["val"]
        for name, net in self.nets.items():
            value = float(self._sums[name]) / max(self._seen, 1)
            losses[name] = value if math.isfinite(value) else None
            self._sums[name].zero_()
            with torch.no_grad():  # within the piece: grad mode belongs to the thread
                logits = forward_chunks(net, x, self.base.eval_chunk())
                accs[name] = float((logits.argmax(1) == y).float().mean())
            yield
        self._seen = 0
        return RacePoint(self.examples, losses, accs)
