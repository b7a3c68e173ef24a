"""Headless training behind `netplay run`: one metrics record per epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from . import history
from .compare import Comparison, is_compare_url, parse_compare
from .experiment import ConfigError
from .gradients import layer_gradient_norms
from .tfcompat import runs as tf_runs
from .tfcompat.live import LOSS_NAME, TfTrainer
from .trainer import Trainer
from .urlcodec import parse

ROUND = 6  # digits printed; the bytes are the same run to run, the rounding only keeps lines short


def run_epochs(
    url: str,
    epochs: int,
    warn: Callable[[str], None] | None = None,
    *,
    grad_norms: bool = False,
) -> Iterator[dict[str, Any]]:
    """Parse a share link (strictly: a bad value raises `ConfigError`) and train `epochs` epochs.

    Unknown keys are ignored and, if `warn` is given, reported to it one message at a time.

    Yields, after each epoch, `epoch`, `train_loss`, `test_loss`, `reg_loss`, and for
    classification `train_acc`, `test_acc`; losses are null once the run has diverged. With
    `grad_norms`, also `grad_norms`: the data-loss gradient norm of each weight matrix, first
    layer first (see `gradients`). A compare link (`runs=`, `r<K>.key=`) yields one record per
    run per epoch, each with `run` (1-based) and `label`, runs in order within an epoch. A
    link with a run's history (`h`, see `history`) makes each change when its step comes.
    """
    if epochs < 1:
        raise ConfigError("epochs", f"must be at least 1, got {epochs}")
    if is_compare_url(url):
        yield from _compare_epochs(url, epochs, warn, grad_norms)
        return
    state = parse(url, strict=True)
    if warn is not None:
        for message in state.warnings:
            warn(message)
    if state.experiment["compat"] == "tf":
        if grad_norms:
            raise ConfigError("--grad-norms", "is not available in TensorFlow Playground mode")
        yield from tf_runs.epoch_records(state, epochs)  # TF Playground mode
        return
    trainer = Trainer(state.run_start())
    pending = state.history  # a run's live changes (`h`), each made when its step comes
    for epoch in range(1, epochs + 1):
        if pending:
            done = history.replay(trainer, pending, at_epoch=epoch)
            pending = pending[done:]
        else:
            trainer.train_epochs(1)
        yield _record(trainer, epoch, grad_norms)


def _compare_epochs(
    url: str, epochs: int, warn: Callable[[str], None] | None, grad_norms: bool
) -> Iterator[dict[str, Any]]:
    spec = parse_compare(url)
    if warn is not None:
        for message in spec.warnings:
            warn(message)
    comparison = Comparison(spec)
    labels = spec.labels()
    for epoch in range(1, epochs + 1):
        comparison.train_epochs(1)
        for k, trainer in enumerate(comparison.trainers):
            yield {"run": k + 1, "label": labels[k], **_record(trainer, epoch, grad_norms)}


def _record(trainer: Trainer | TfTrainer, epoch: int, grad_norms: bool) -> dict[str, Any]:
    """One epoch's record; `epoch` is the count of epochs asked for, used once diverged.
    A run in TensorFlow Playground mode gives TF's numbers unrounded, as a TF link alone does
    (`tfcompat.runs.epoch_records`)."""
    if isinstance(trainer, TfTrainer):
        tf = {**trainer.run.metrics(), "loss": LOSS_NAME}
        if grad_norms:
            tf["grad_norms"] = trainer.gradient_norms()
        return tf
    m = trainer.metrics()
    record: dict[str, Any] = {"epoch": m["epoch"] if trainer.diverged_at is None else epoch}
    for key in ("train_loss", "test_loss", "reg_loss", "train_acc", "test_acc"):
        if key in m:
            v = m[key]
            record[key] = None if v is None else round(v, ROUND)
    if trainer.diverged_at is not None:
        record["diverged_at"] = trainer.diverged_at
    if grad_norms:
        # Significant digits, not decimals: a vanished gradient is 1e-9, not 0.
        record["grad_norms"] = [
            None if g is None else float(f"{g:.6g}") for g in layer_gradient_norms(trainer)
        ]
    return record
