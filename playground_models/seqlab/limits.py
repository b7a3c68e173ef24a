"""What one sequence-lab session may ask of the server, checked from the settings alone before
any tensor exists: the network's parameters and the multiply-adds of one training step (a step
runs whole on a shared worker, so its length is bounded), and through `memory_check` the
process's memory ceiling. Over a limit is a `SeqConfigError` naming the setting to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..messages import said
from . import tasks
from .config import SeqConfig, SeqConfigError
from .network import GATES, parameter_count

MemoryCheck = Callable[[int, str, str], None]  # (bytes, field, what), as the image lab's
BACKWARD = 3  # a training step: the forward pass and about twice its work backward


def parameters(c: SeqConfig) -> int:
    return parameter_count(c.cell, tasks.input_size(c.task), c.hidden, c.layers,
                           tasks.output_size(c.task))


def step_macs(c: SeqConfig) -> int:
    """Multiply-adds of one training step: per sequence and step, each layer's gate blocks
    times hidden × (its inputs + hidden), forward and backward."""
    t = tasks.steps(c.task, c.length)
    per_step = sum(GATES[c.cell] * c.hidden * ((tasks.input_size(c.task) if k == 0 else c.hidden)
                                                + c.hidden) for k in range(c.layers))
    return BACKWARD * c.batchSize * t * per_step


def memory_bytes(c: SeqConfig) -> int:
    """A session's memory: the weights five times (gradients, optimizer state, the reset copy)
    and what autograd keeps of one step (each layer's gates and states per step and sequence,
    for the training batch and the inspected one), float32."""
    t = tasks.steps(c.task, c.length)
    kept = (c.batchSize + 64) * t * c.layers * c.hidden * (GATES[c.cell] + 2)
    return 4 * (5 * parameters(c) + 2 * kept)


@dataclass(frozen=True)
class SeqLimits:
    """The defaults let every cell train at N = 200 with 64 hidden units and a batch of 32."""

    max_parameters: int = 500_000
    max_step_macs: int = 600_000_000  # ~0.1–0.3 s of one core; the default link's: 10 M
    memory_check: MemoryCheck | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_parameters": self.max_parameters, "max_step_macs": self.max_step_macs}

    def check(self, c: SeqConfig) -> None:
        """Raise `SeqConfigError` for the first limit `c` passes."""
        count = parameters(c)
        if count > self.max_parameters:
            raise SeqConfigError("hidden", said("seq.err.parameters", count=f"{count:,}",
                                                limit=f"{self.max_parameters:,}"))
        macs = step_macs(c)
        if macs > self.max_step_macs:
            raise SeqConfigError("length", said("seq.err.stepMacs", macs=f"{macs / 1e6:,.0f}",
                                                limit=f"{self.max_step_macs / 1e6:,.0f}"))
        if self.memory_check is not None:
            self.memory_check(memory_bytes(c), "hidden", "this sequence net")
