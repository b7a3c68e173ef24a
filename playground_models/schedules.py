"""Learning-rate schedules: the rate in force at an epoch, with torch.optim.lr_scheduler's
semantics (one scheduler step per epoch), written in closed form so that every engine — the
reference path, the C kernel, the image lab — trains at the very same rate.

- `constant`: the learning rate.
- `step` (StepLR): ×`gamma` every `step_epochs` epochs.
- `exponential` (ExponentialLR): ×`decay` every epoch.
- `cosine` (CosineAnnealingLR, eta_min 0): half a cosine from the rate down to 0 over
  `cycle_epochs`, then back up again (torch's curve is periodic).
- `warmup-cosine` (SequentialLR of LinearLR and CosineAnnealingLR): a linear climb from 10 % of
  the rate over `warmup_epochs`, then the cosine over `cycle_epochs`.

`tests/test_schedules.py` checks every schedule against torch's own schedulers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .params import BY_NAME
from .rules import SCHEDULES, WARMUP_START_FACTOR


@dataclass(frozen=True)
class Schedule:
    # Defaults are the parameter table's (`params.py`), where the links' keys live.
    name: str = BY_NAME["schedule"].default
    gamma: float = BY_NAME["lrStepGamma"].default       # step: the factor at each step
    step_epochs: int = BY_NAME["lrStepEpochs"].default  # step: epochs between steps
    decay: float = BY_NAME["lrDecay"].default           # exponential: the factor per epoch
    cycle_epochs: int = BY_NAME["lrCycleEpochs"].default  # cosine: epochs down to 0
    warmup_epochs: int = BY_NAME["lrWarmupEpochs"].default  # warm-up: epochs of the climb

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.name!r}")

    def factor(self, epoch: int) -> float:
        """The learning rate in force at `epoch` (0 = before the first update), as a factor."""
        if self.name == "step":
            return self.gamma ** (epoch // self.step_epochs)
        if self.name == "exponential":
            return self.decay**epoch
        if self.name == "cosine":
            return _cosine(epoch, self.cycle_epochs)
        if self.name == "warmup-cosine":
            w = self.warmup_epochs
            if epoch < w:
                return WARMUP_START_FACTOR + (1 - WARMUP_START_FACTOR) * epoch / w
            return _cosine(epoch - w, self.cycle_epochs)
        return 1.0

    def rate(self, learning_rate: float, epoch: int) -> float:
        return learning_rate * self.factor(epoch)


def _cosine(epoch: int, cycle: int) -> float:
    return (1 + math.cos(math.pi * epoch / cycle)) / 2
