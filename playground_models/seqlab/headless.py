"""The sequence lab without a server: `netplay run "/seq?…"` and the RNN-vs-LSTM measurement.

A run reports every `every` updates the mean training loss and accuracy since the last report
and the test set's, as one JSON-ready record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from .config import TABLE, SeqConfig
from .trainer import SeqTrainer

REPORT_EVERY = 100  # updates between two records of `netplay run`


def is_seq_link(url: str) -> bool:
    """Whether `url` is a sequence-lab link (its path is `/seq`)."""
    return urlsplit(url).path.rstrip("/").endswith("/seq") or url.startswith("seq?")


def run_steps(config: SeqConfig, steps: int, every: int = REPORT_EVERY) -> Iterator[dict[str, Any]]:
    """Train `steps` updates of `config`, a record after each `every` (and the last)."""
    trainer = SeqTrainer(config)
    while trainer.steps < steps and not trainer.diverged:
        trainer.step(min(every, steps - trainer.steps))
        train, test = trainer.take_train_metrics(), trainer.evaluate()
        yield {
            "step": trainer.steps,
            "examples": trainer.examples,
            "train_loss": train.loss,
            "train_acc": train.acc,
            "test_loss": test.loss,
            "test_acc": test.acc,
            "grad_norm": trainer.grad_norm,
            "diverged": trainer.diverged,
        }


def run_link(url: str, steps: int, warn: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """`netplay run` of a sequence-lab link. A bad value is an error (`SeqConfigError`), as a
    2-D link's is; unknown keys are warnings."""
    config = TABLE.parse_strict(url, SeqConfig(), warn)
    yield from run_steps(config, steps)


def final_accuracy(config: SeqConfig, steps: int) -> float:
    """Test accuracy after `steps` updates (0 for a run that diverged)."""
    acc = 0.0
    for record in run_steps(config, steps, every=steps):
        acc = 0.0 if record["diverged"] else record["test_acc"]
    return acc
