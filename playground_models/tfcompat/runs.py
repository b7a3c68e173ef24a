"""TF Playground mode behind `netplay run` and `netplay sweep`: records in their shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .engine import TfConfig, TfRun


def run_for(state: Any) -> TfRun:
    """The TF run of a parsed link (`urlcodec.SharedState`): hidden features are not inputs."""
    return TfRun(TfConfig.from_experiment(state.experiment, state.hidden))


def epoch_records(state: Any, epochs: int) -> Iterator[dict[str, Any]]:
    """After each epoch: TF's train and test loss unrounded, `loss: "square"` (the mean of
    ½(output − label)², TF's loss), accuracy for classification and `dead_weights`, the links
    L1 has set to 0 for good."""
    run = run_for(state)
    for _ in range(epochs):
        run.train_epoch()
        yield {**run.metrics(), "loss": "square"}


def final_metrics(state: Any, epochs: int, stop: Callable[[], bool] | None,
                  on_stop: Callable[[], Exception]) -> dict[str, Any]:
    """A sweep point: the last epoch's numbers; `stop()` is looked at between epochs."""
    run = run_for(state)
    for _ in range(epochs):
        if stop is not None and stop():
            raise on_stop()
        run.train_epoch()
    m = run.metrics()
    out = {"epochs": epochs, "loss": "square", "dead_weights": m["dead_weights"]}
    for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
        if key in m:
            out[key] = m[key]
    return out
