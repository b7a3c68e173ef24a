"""What one agent-lab session may ask of the server, checked from the settings alone before any
tensor exists: the value network's parameters, the multiply-adds of one learning tick (a tick
runs whole on a shared worker, so its length is bounded), the replay memory, and through
`memory_check` the process's memory ceiling. Over a limit is an `RLConfigError` naming the
setting to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..messages import said
from .agent import input_size, parameter_count
from .config import RLConfig, RLConfigError
from .pretrained import check_pretrained

MemoryCheck = Callable[[int, str, str], None]  # (bytes, field, what), as the other labs'
BACKWARD = 3  # a learning step: the forward pass and about twice its work backward


def tick_macs(c: RLConfig) -> int:
    """Multiply-adds of one learning tick: the batch's inputs and next inputs forward, the
    inputs backward, and the acting forward pass."""
    weights = parameter_count(c) - sum(c.widths) - 5
    return (BACKWARD * 2 * c.batchSize + 1) * weights


def memory_bytes(c: RLConfig) -> int:
    """A session's memory: the replay (two inputs, an action and a reward per transition) and
    the weights five times (gradients, optimizer state, a copy), float32."""
    return 4 * (c.replay * (2 * input_size(c.window) + 3) + 5 * parameter_count(c))


@dataclass(frozen=True)
class RLLimits:
    """The defaults let 4 layers of 64 learn on batches of 256 with the largest memory."""

    max_parameters: int = 100_000
    max_tick_macs: int = 60_000_000  # ~10–30 ms of one core; the default link's: 2.2 M
    memory_check: MemoryCheck | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_parameters": self.max_parameters, "max_tick_macs": self.max_tick_macs}

    def check(self, c: RLConfig) -> None:
        """Raise `RLConfigError` for the first limit `c` passes, or a pretrained agent that
        does not fit its settings."""
        count = parameter_count(c)
        if count > self.max_parameters:
            raise RLConfigError("layers", said("rl.err.parameters", count=f"{count:,}",
                                               limit=f"{self.max_parameters:,}"))
        macs = tick_macs(c)
        if macs > self.max_tick_macs:
            raise RLConfigError("batchSize", said("rl.err.tickMacs", macs=f"{macs / 1e6:,.0f}",
                                                  limit=f"{self.max_tick_macs / 1e6:,.0f}"))
        if self.memory_check is not None:
            self.memory_check(memory_bytes(c), "replay", "this agent")
        check_pretrained(c)
