"""Side-by-side runs: 2 to 6 experiments on the same data and seed, trained in lockstep.

A compare link is an ordinary share link plus per-run overrides:

    runs=3&dataset=xor&noise=30&r1.networkShape=3&r2.networkShape=6&r3.networkShape=20

- Plain keys (`dataset=xor`) are shared: every run gets them, as in a one-run link.
- `r<K>.<key>=<value>` (K = 1..6) overrides one parameter for run K only. Any parameter may be
  overridden, even the seed, but the point of a comparison is usually one or two keys.
- `runs=<N>` is the number of runs; without it, the highest K used. 2 to 6 runs (6 so that the
  optimizer race fits six update rules; the page lays more than four out in two rows).
- `lesson=<id>` names the lesson the link came from (the page shows its text); it does not
  change training. `<key>_hide=true` hides a control in every run, as in a one-run link.

Validation is strict and per run: a bad shared value, a bad override or a run that is not a
trainable experiment raises `ConfigError` whose key names the culprit (`r2.networkShape`).
Runs are independent `Trainer`s; each owns its random streams, so a run's numbers are exactly
those of `netplay run` on that run's own link (`Comparison.run_urls`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .experiment import ConfigError, Experiment
from .gradients import layer_gradient_norms
from .messages import said
from .params import BY_NAME, PARAMS
from .tfcompat.engine import TfConfig
from .tfcompat.live import TfTrainer
from .trainer import Trainer
from .urlcodec import format_value, parse, serialize, split_pairs
from .work import epoch_work, train_toward

MIN_RUNS, MAX_RUNS = 2, 6
RUN_KEY = re.compile(r"^r(\d+)\.(.+)$")
# Keys a compare link may hold beside parameters; the page reads them, training ignores them.
PAGE_KEYS = ("runs", "lesson")
LESSON_ID = re.compile(r"^[a-z0-9-]{1,40}$")


@dataclass(frozen=True)
class CompareSpec:
    """A parsed compare link: the shared experiment, each run's overrides, and page keys."""

    shared: Experiment
    overrides: tuple[dict[str, Any], ...]  # one per run, parameter name → checked value
    hidden: frozenset[str] = frozenset()
    lesson: str | None = None
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def experiments(self) -> list[Experiment]:
        return [self.shared.replace(**o) for o in self.overrides]

    def labels(self) -> list[str]:
        """A short name per run from its overrides, e.g. `networkShape=20` (or `run 2`)."""
        out = []
        for k, o in enumerate(self.overrides, 1):
            parts = [f"{name}={format_value(BY_NAME[name], v)}" for name, v in o.items()]
            out.append(", ".join(parts) or f"run {k}")
        return out

    def to_url(self) -> str:
        """The canonical compare query: runs, lesson, changed shared keys, then overrides.

        Shared keys equal to their default are left out (a compare link is already long);
        parsing the result gives the same spec back.
        """
        parts = [f"runs={len(self.overrides)}"]
        if self.lesson:
            parts.append(f"lesson={self.lesson}")
        for p in PARAMS:
            value = self.shared[p.name]
            if value != p.default:
                parts.append(f"{p.name}={format_value(p, value)}")
        for k, o in enumerate(self.overrides, 1):
            by_table = sorted(o, key=[p.name for p in PARAMS].index)
            parts += [f"r{k}.{name}={format_value(BY_NAME[name], o[name])}" for name in by_table]
        parts += [f"{name}_hide=true" for name in sorted(self.hidden)]
        return "&".join(parts)

    def run_urls(self) -> list[str]:
        """Each run as a one-run share link (what `netplay run` takes)."""
        return [serialize(exp, self.hidden) for exp in self.experiments]


def is_compare_url(text: str) -> bool:
    """Whether a link holds runs (a `runs=` key or any `r<K>.` override)."""
    return any(key == "runs" or RUN_KEY.match(key) for key, _ in split_pairs(text))


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs back into a query string that `urlcodec.parse` reads as the same pairs."""
    return "&".join(f"{quote(k, safe='._-')}={quote(v, safe=',;.-_')}" for k, v in pairs)


def unknown_keys(text: str) -> list[str]:
    """Warnings for the unknown shared keys of a compare link, read even where a run key or a
    value of the link is wrong, so that an error does not hide them."""
    shared = [(k, v) for k, v in split_pairs(text) if k not in PAGE_KEYS and not RUN_KEY.match(k)]
    try:
        return parse(_query(shared)).warnings
    except ConfigError:
        return []


def parse_compare(text: str) -> CompareSpec:
    """Read a compare link (see the module docstring). Raises `ConfigError` on any bad part."""
    shared_pairs: list[tuple[str, str]] = []
    run_pairs: dict[int, list[tuple[str, str]]] = {}
    count: int | None = None
    lesson: str | None = None
    for key, value in split_pairs(text):
        if key == "runs":
            if not value.isdigit() or not MIN_RUNS <= int(value) <= MAX_RUNS:
                raise ConfigError("runs", said("cmp.err.runsCount", min=MIN_RUNS, max=MAX_RUNS))
            count = int(value)
        elif key == "lesson":
            if not LESSON_ID.match(value):
                raise ConfigError("lesson", said("cmp.err.lessonId"))
            lesson = value
        elif m := RUN_KEY.match(key):
            k, name = int(m.group(1)), m.group(2)
            if not 1 <= k <= MAX_RUNS:
                raise ConfigError(key, said("cmp.err.runNumber", max=MAX_RUNS))
            if name not in BY_NAME:
                raise ConfigError(key, said("cmp.err.notParameter", name=repr(name)))
            run_pairs.setdefault(k, []).append((name, value))
        else:
            shared_pairs.append((key, value))
    highest = max(run_pairs, default=0)
    if count is None:
        count = highest
    if count < MIN_RUNS:
        raise ConfigError("runs", said("cmp.err.needsRuns", min=MIN_RUNS, max=MAX_RUNS))
    if highest > count:
        raise ConfigError(f"r{highest}", said("cmp.err.namesRun", k=highest, count=count))

    state = parse(_query(shared_pairs), strict=True)
    overrides: list[dict[str, Any]] = []
    for k in range(1, count + 1):
        own = run_pairs.get(k, [])
        run_exp = _parse_run(shared_pairs, own, k)
        # Every override is kept, even one equal to the shared value: it names the run.
        overrides.append({name: run_exp[name] for name, _ in own})
        if run_exp["compat"] == "tf":  # checked here, so a bad run is named before training
            try:
                TfConfig.from_experiment(run_exp, state.hidden)
            except ConfigError as err:
                raise ConfigError(f"r{k}.{err.key}" if any(n == err.key for n, _ in own)
                                  else err.key, err.message) from None
    return CompareSpec(state.experiment, tuple(overrides), state.hidden, lesson, state.warnings)


def open_compare(text: str) -> tuple[CompareSpec, list[ConfigError]]:
    """A compare link as a page opens it: as `parse_compare`, but each bad part is left out and
    named — a bad value at its default, `runs` out of range at 2, settings of a run past `runs`
    dropped — and the rest applies. A link that describes no comparison at all still raises."""
    pairs = split_pairs(text)
    errors: list[ConfigError] = []
    while True:
        try:
            return parse_compare(_query(pairs)), errors
        except ConfigError as err:
            kept = _without(pairs, err.key)
            if kept == pairs:
                raise
            errors.append(err)
            pairs = kept


def _without(pairs: list[tuple[str, str]], field: str) -> list[tuple[str, str]]:
    """The link's pairs without the part `field` names (see `open_compare`)."""
    if field == "runs":
        return [("runs", str(MIN_RUNS)) if k == "runs" else (k, v) for k, v in pairs]
    if re.fullmatch(r"r\d+", field):  # "names run 5 but runs=2": that run's settings go
        return [(k, v) for k, v in pairs if not k.startswith(f"{field}.")]
    return [(k, v) for k, v in pairs if k != field]


def _parse_run(
    shared: Sequence[tuple[str, str]], own: Sequence[tuple[str, str]], k: int
) -> Experiment:
    """Run K's experiment, with errors renamed to `r<K>.<key>` when an override caused them."""
    try:
        return parse(_query([*shared, *own]), strict=True).experiment
    except ConfigError as err:
        if any(name == err.key for name, _ in own):
            raise ConfigError(f"r{k}.{err.key}", err.message) from None
        raise


class Comparison:
    """The runs of a `CompareSpec`, stepped together one epoch at a time.

    Each run is its own `Trainer`, so a diverged run stops (its `diverged_at` is set) while the
    others go on. Runs that share an architecture could train as one batched tensor program,
    but that was measured slower than the C kernel run by run below thousands of runs, on a
    CPU and on a GPU alike (docs/benchmarks.md, *Many runs as one program*).
    """

    def __init__(self, spec: CompareSpec):
        self.spec = spec
        # A run in TensorFlow Playground mode (`compat=tf`) trains on TF's engine.
        self.trainers: list[Trainer | TfTrainer] = [
            TfTrainer(exp, spec.hidden) if exp["compat"] == "tf" else Trainer(exp)
            for exp in spec.experiments
        ]

    @classmethod
    def from_url(cls, text: str) -> Comparison:
        return cls(parse_compare(text))

    @property
    def epoch(self) -> int:
        return max(t.epoch for t in self.trainers)

    def train_epochs(self, n: int = 1) -> None:
        """Every run trains `n` more epochs (lockstep: the same epoch count for all)."""
        for _ in range(n):
            for trainer in self.trainers:
                trainer.train_epochs(1)

    def epoch_work(self) -> int:
        """Work units (see `work`) of one epoch of every run: an upper bound, as a run that
        diverges stops training."""
        return sum(epoch_work(trainer) for trainer in self.trainers)

    def train_toward(self, target_epoch: int, work: float) -> bool:
        """Train every run toward epoch `target_epoch`, spending about `work` units at most
        (at least one update). True when every run is there (or diverged). Slices of any size
        give the numbers of `train_epochs`: each run's updates run in the same order."""
        for trainer in self.trainers:
            done, spent = train_toward(trainer, target_epoch, work)
            if not done:
                return False
            work -= spent
        return True

    def reset(self) -> None:
        for trainer in self.trainers:
            trainer.reset()

    def metrics(self, grad_norms: bool = False) -> list[dict[str, Any]]:
        """One metrics dict per run (see `snapshot.evaluate`), with its label and, if asked,
        `grad_norms` (first layer first)."""
        out = []
        for label, trainer in zip(self.spec.labels(), self.trainers, strict=True):
            m = {"label": label, **trainer.metrics()}
            if trainer.diverged_at is not None:
                m["diverged_at"] = trainer.diverged_at
            if grad_norms:
                m["grad_norms"] = (trainer.gradient_norms() if isinstance(trainer, TfTrainer)
                                   else layer_gradient_norms(trainer))
            out.append(m)
        return out
