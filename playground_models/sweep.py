"""Sweeps: one experiment trained headlessly over a range of one parameter.

`netplay sweep "<url>" --param regularizationRate --values 0,0.003,0.03 --epochs 200 --json`
prints one JSON object per value, in the order given, with the final epoch's metrics. Drawn
against the value, train loss and test loss give the capacity curve: with λ or width on the x
axis, train loss moves one way while test loss dips and comes back up (the U).

The points are independent, so they train in parallel, one process per core; each worker uses
one torch thread, because two workers with two threads each on two cores only fight. A point's
numbers are those of `netplay run` on the same link with that value, whatever the worker count.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from .experiment import ConfigError, Experiment
from .params import BY_NAME, Effect, Kind, Param
from .urlcodec import parse, parse_value, serialize

ROUND = 6  # as `netplay run`
MAX_POINTS = 64
MAX_EPOCHS = 100_000
METRIC_KEYS = ("train_loss", "test_loss", "reg_loss", "train_acc", "test_acc")
LIST_KINDS = (Kind.INT_LIST, Kind.CHOICE_LIST, Kind.INDEX_LIST, Kind.POINTS)


def _sweepable(param: str) -> Param:
    p = BY_NAME.get(param)
    if p is None:
        raise ConfigError("--param", f"{param!r} is not a parameter")
    if p.effect is Effect.VIEW:
        raise ConfigError("--param", f"{param} only changes the view, not training")
    return p


def parse_values(param: str, text: str) -> list[Any]:
    """The values of a `--values` argument, each checked against the parameter's table entry.

    Values are separated by commas; for list parameters (`networkShape`) by semicolons, so
    that `8,8;16,16` sweeps two two-layer shapes (a comma list without ';' is read as one-layer
    shapes: `3,6,20`).
    """
    p = _sweepable(param)
    is_list = p.kind in LIST_KINDS
    separator = ";" if is_list and ";" in text else ","
    items = [t.strip() for t in text.split(separator)]
    if not text.strip() or any(t == "" for t in items) and not is_list:
        raise ConfigError("--values", f"give {param} values separated by '{separator}'")
    return value_list(param, items)


def value_list(param: str, items: Sequence[str]) -> list[Any]:
    """Values given one by one, each written as in a link (`8,8` is one two-layer shape)."""
    p = _sweepable(param)
    if not items:
        raise ConfigError("--values", "give at least one value to try")
    if len(items) > MAX_POINTS:
        raise ConfigError("--values", f"at most {MAX_POINTS} values")
    for k, item in enumerate(items, 1):
        if not item.strip() and p.kind not in LIST_KINDS:  # an empty shape: no hidden layer
            raise ConfigError("--values", f"value {k} is empty: give each value to try")
    return [parse_value(p, t.strip()) for t in items]


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def init_worker() -> None:
    """One torch thread per worker process: the points already run one per core."""
    import torch

    torch.set_num_threads(1)


class PointStopped(Exception):
    """A sweep point stopped before its last epoch because `stop()` said so."""


# Work units (see `work`) between two looks at `stop()`: about 30-60 ms of one core.
STOP_CHECK_WORK = 10_000_000


def train_point(
    url: str, epochs: int, stop: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """Final metrics of one canonical link after `epochs` epochs (runs inside a worker).

    With `stop`, the point trains in slices and raises `PointStopped` as soon as `stop()` is
    true between two; the numbers are the same either way."""
    from .trainer import Trainer
    from .work import train_toward

    state = parse(url, strict=True)
    if state.experiment["compat"] == "tf":  # TensorFlow Playground mode: TF's engine
        from .tfcompat.runs import final_metrics

        return final_metrics(state, epochs, stop, lambda: PointStopped(url))
    trainer = Trainer(state.experiment)
    if stop is None:
        trainer.train_epochs(epochs)
    else:
        while True:  # a point queued before its sweep stopped does not start
            if stop():
                raise PointStopped(url)
            if train_toward(trainer, epochs, STOP_CHECK_WORK)[0]:
                break
    m = trainer.metrics()
    out: dict[str, Any] = {"epochs": epochs}
    for key in METRIC_KEYS:
        if key in m:
            out[key] = None if m[key] is None else round(m[key], ROUND)
    if trainer.diverged_at is not None:
        out["diverged_at"] = trainer.diverged_at
    return out


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep: one canonical link per value, each trained `epochs` epochs."""

    param: str
    values: list[Any]
    experiments: list[Experiment]
    epochs: int

    @property
    def links(self) -> list[str]:
        return [serialize(exp) for exp in self.experiments]

    def record(self, k: int, result: dict[str, Any]) -> dict[str, Any]:
        """Point `k` as printed and served: `param`, `value`, then `train_point`'s metrics."""
        return {"param": self.param, "value": _json_value(self.values[k]), **result}


def plan_sweep(url: str, param: str, values: list[Any], epochs: int) -> SweepPlan:
    """Check a sweep before any training: raises `ConfigError` naming the bad link key,
    `--param`, `--epochs` or the value that breaks the experiment."""
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ConfigError("--epochs", f"must be from 1 to {MAX_EPOCHS}, got {epochs}")
    base = parse(url, strict=True).experiment
    if param not in BY_NAME:
        raise ConfigError("--param", f"{param!r} is not a parameter")
    return SweepPlan(param, list(values), [_with_value(base, param, v) for v in values], epochs)


def sweep(
    url: str, param: str, values: list[Any], epochs: int, workers: int | None = None
) -> list[dict[str, Any]]:
    """Train `url` once per value of `param`, in parallel; results in the order of `values`.

    Each result: `param`, `value`, `epochs`, `train_loss`, `test_loss`, `reg_loss` and, for
    classification, `train_acc`, `test_acc` (losses None if that point diverged). Every value
    is validated before any training starts: a bad one raises `ConfigError` naming it.
    """
    return list(iter_sweep(url, param, values, epochs, workers))


def iter_sweep(
    url: str, param: str, values: list[Any], epochs: int, workers: int | None = None
) -> Iterator[dict[str, Any]]:
    """`sweep`, yielding each point as soon as it and all points before it are done."""
    plan = plan_sweep(url, param, values, epochs)
    links = plan.links
    workers = max(1, min(len(links), workers or os.cpu_count() or 1))
    if workers == 1:  # in-process: no pool to start, and the caller's thread setting stands
        for k, link in enumerate(links):
            yield plan.record(k, train_point(link, epochs))
        return
    # fork: workers start in milliseconds and inherit the imported modules; the parent has not
    # started any torch thread pool (it has only parsed links).
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker) as pool:
        for k, r in enumerate(pool.map(train_point, links, [epochs] * len(links))):
            yield plan.record(k, r)


def _with_value(base: Experiment, param: str, value: Any) -> Experiment:
    try:
        return base.replace(**{param: value})
    except ConfigError as err:
        raise ConfigError(err.key, f"{err.message} (with {param}={_json_value(value)})") from None


def cli_sweep(args: argparse.Namespace) -> int:
    """`netplay sweep`: exit 0 after printing every point, 2 on a bad link, param or value."""
    try:
        values = parse_values(args.param, args.values)
        for record in iter_sweep(args.url, args.param, values, args.epochs):
            if args.json:
                print(json.dumps(record, separators=(",", ":")), flush=True)
            else:
                print(_pretty(record), flush=True)
    except ConfigError as err:  # raised before the first point trains, so nothing was printed
        print(f"netplay sweep: {err}", file=sys.stderr)
        return 2
    return 0


def _pretty(record: dict[str, Any]) -> str:
    parts = [f"{record['param']}={record['value']}"]
    for key in METRIC_KEYS:
        if key in record:
            v = record[key]
            parts.append(f"{key} {'diverged' if v is None else f'{v:.4f}'}")
    return "  ".join(parts)
