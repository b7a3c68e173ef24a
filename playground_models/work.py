"""Training work: what an epoch costs, counted before it runs, and training in slices of it.

Work that a request may ask for (a compare replay, a sweep point) is bounded and sliced by a
count that does not depend on the machine: one **work unit** is one weight's share of one
training example's pass, plus a fixed share per example for what does not scale with the
weights (activations, the loss, the kernel call). An epoch of a run costs

    training examples × (parameters + EXAMPLE_OVERHEAD)

Measured on this project's 2-core CPU with the C kernel and one torch thread, a unit costs
2.7 to 5 ns whatever the net: 2.7 ns for the default net (28 weights, batch 10), 4.4 ns for
21,122 weights at batch 1, 2.9 ns at batch 30. Counting updates alone would not do: one
update of that net costs 1 µs at batch 1 of a tiny net and 1.9 ms at batch 30 of the big one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported lazily where it trains: `netplay sweep` starts without torch
    from .experiment import Experiment
    from .network import Architecture


class Trainer(Protocol):
    """What counting and slicing work needs of a trainer: netplay's `trainer.Trainer` and TF
    Playground mode's `tfcompat.live.TfTrainer` both have it."""

    experiment: Experiment
    arch: Architecture
    epoch: int
    diverged_at: int | None

    @property
    def y_train(self) -> Any: ...

    def train_steps(self, n: int, stop_at_epoch_end: bool = False) -> int: ...

# A pass over one example costs about this many weights' worth beyond its own weights:
# fitted so that the default net's 28 weights (22 ns per weight-example measured) and the
# 21,122-weight net (3–4 ns) cost the same few ns per unit.
EXAMPLE_OVERHEAD = 200


def example_work(trainer: Trainer) -> int:
    """Work units of one example's pass through `trainer`'s net."""
    return trainer.arch.num_parameters + EXAMPLE_OVERHEAD


def epoch_work(trainer: Trainer) -> int:
    """Work units of one epoch of `trainer` (every training example once)."""
    return len(trainer.y_train) * example_work(trainer)


def train_toward(trainer: Trainer, target_epoch: int, work: float) -> tuple[bool, float]:
    """Train `trainer` toward the end of epoch `target_epoch`, stopping once about `work` units
    are spent (at least one update). Returns (whether it is there or diverged, units spent).

    The numbers are those of `trainer.train_epochs`: the updates run in the same order on the
    same batches, only in more calls.
    """
    per_update = min(trainer.experiment.batchSize, len(trainer.y_train)) * example_work(trainer)
    spent = 0.0
    while trainer.epoch < target_epoch and trainer.diverged_at is None:
        if spent >= work:
            return False, spent
        updates = max(1, int((work - spent) // per_update))
        ran = trainer.train_steps(updates, stop_at_epoch_end=True)
        spent += max(1, ran) * per_update  # a diverged first update still counts
    return True, spent
