"""Headless training behind `netplay run`: one metrics record per epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .experiment import ConfigError
from .trainer import Trainer
from .urlcodec import parse

ROUND = 6  # digits printed; the bytes are the same run to run, the rounding only keeps lines short


def run_epochs(
    url: str, epochs: int, warn: Callable[[str], None] | None = None
) -> Iterator[dict[str, Any]]:
    """Parse a share link (strictly: a bad value raises `ConfigError`) and train `epochs` epochs.

    Unknown keys are ignored and, if `warn` is given, reported to it one message at a time.

    Yields, after each epoch, `epoch`, `train_loss`, `test_loss`, `reg_loss`, and for
    classification `train_acc`, `test_acc`; losses are null once the run has diverged.
    """
    if epochs < 1:
        raise ConfigError("epochs", f"must be at least 1, got {epochs}")
    state = parse(url, strict=True)
    for message in state.warnings if warn is not None else ():
        warn(message)
    trainer = Trainer(state.experiment)
    for _ in range(epochs):
        trainer.train_epochs(1)
        m = trainer.metrics()
        record: dict[str, Any] = {"epoch": m["epoch"] if trainer.diverged_at is None else _ + 1}
        for key in ("train_loss", "test_loss", "reg_loss", "train_acc", "test_acc"):
            if key in m:
                v = m[key]
                record[key] = None if v is None else round(v, ROUND)
        if trainer.diverged_at is not None:
            record["diverged_at"] = trainer.diverged_at
        yield record
