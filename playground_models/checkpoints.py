"""Checkpoints: copies of a run's whole training state at some of its epoch ends, so that going
back to an earlier moment (`Trainer.go_back`, the page's rewind and undo) replays from the
nearest one before it rather than from the start — the same numbers, bit for bit, either way.

At most `CAP` are kept, and at most `MAX_BYTES` of them, spread over the whole run: one every
`every` epochs, the spacing doubling (and every other checkpoint dropped) when they would be
more. A checkpoint holds the weights, biases and optimizer state (two more arrays of that size at
most: Adam's moments), the random streams' states and the settings, counted as 12 bytes per
parameter: the default net's 32 take 11 kB; the largest net a session may have (the server's
`max_parameters`, 100,000 by default) keeps 6 of 1.2 MB, so a session holds 8 MB of them at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .experiment import Experiment

CAP = 32
MAX_BYTES = 8 * 1024 * 1024  # of checkpoints per run
BYTES_PER_PARAMETER = 12  # float32 weights and up to two optimizer moments
FIRST_EVERY = 4  # epochs between checkpoints until there are CAP of them


@dataclass(frozen=True)
class Checkpoint:
    epoch: int
    steps: int
    applied: int  # how many of the run's live changes were made before it
    experiment: Experiment
    learning_rate: float
    backend: Any  # what `Backend.checkpoint` returned
    shuffle: Mapping[str, Any]  # the random streams' states (numpy bit generators)
    dropout: Mapping[str, Any]


class Checkpoints:
    """The run's checkpoints, oldest first; see the module docstring."""

    def __init__(self, parameters: int = 0) -> None:
        self.items: list[Checkpoint] = []
        self.every = FIRST_EVERY
        each = max(1, parameters * BYTES_PER_PARAMETER)
        self.cap = max(2, min(CAP, MAX_BYTES // each))  # how many this run's size allows

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def add(self, cp: Checkpoint) -> None:
        self.items.append(cp)
        while len(self.items) > self.cap:
            self.every *= 2
            self.items = [c for c in self.items if c.epoch % self.every == 0]

    def before(self, epoch: int | None, step: int | None, applied: int) -> Checkpoint | None:
        """The latest checkpoint at or before epoch `epoch` (or update `step`) made with at
        most `applied` of the run's changes; None when there is none."""
        best = None
        for c in self.items:
            if c.applied > applied or (epoch is not None and c.epoch > epoch) or (
                    step is not None and c.steps > step):
                break
            best = c
        return best

    def keep_until(self, cp: Checkpoint) -> None:
        """Forget the checkpoints after `cp`: a future that is no longer the run's."""
        self.items = [c for c in self.items if c.steps <= cp.steps]

    def clear(self) -> None:
        self.items = []
        self.every = FIRST_EVERY
