"""The sequence lab's settings: one table of parameters, validation, and the share-URL form.

A link looks like `/seq?task=remember&cell=lstm&length=20&hidden=32&...`. Unknown keys are
reported and ignored; a bad value is an error naming its key, and a link opens with that key at
its default (`parse_link`).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import quote

from ..imagelab.config import LabParam
from ..messages import said
from ..urlcodec import split_pairs
from .tasks import TASKS

CELLS = ("rnn", "gru", "lstm")
OPTIMIZERS = ("adam", "rmsprop", "sgd", "momentum")

# Live settings apply at the next step with the weights kept; the others rebuild from the seed.
SEQ_PARAMS: tuple[LabParam, ...] = (
    LabParam("task", "choice", "remember", False, "Task", choices=TASKS),
    LabParam("cell", "choice", "lstm", False, "Cell", choices=CELLS),
    LabParam("length", "int", 20, False, "N", min=1, max=200),
    LabParam("noise", "float", 0.1, False, "Noise", min=0.0, max=1.0,
             only_when={"task": ("sine",)}),
    LabParam("hidden", "int", 32, False, "Hidden units", min=1, max=256),
    LabParam("layers", "int", 1, False, "Layers", min=1, max=4),
    LabParam("optimizer", "choice", "rmsprop", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.003, True, "Learning rate", min=1e-6, max=10.0),
    LabParam("clip", "float", 1.0, True, "Gradient clipping", min=0.0, max=100.0),
    LabParam("batchSize", "int", 32, True, "Batch size", min=1, max=256),
    LabParam("seed", "string", "1", False, "Seed"),
)
BY_NAME = {p.name: p for p in SEQ_PARAMS}
LIVE = tuple(p.name for p in SEQ_PARAMS if p.live)
_SEED = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class SeqConfigError(ValueError):
    """A setting that cannot be used; `key` names it, `message` may be a `Said` sentence."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


@dataclass(frozen=True)
class SeqConfig:
    task: str = "remember"
    cell: str = "lstm"
    length: int = 20  # N: distractors after the symbol (remember), or the sequence's steps
    noise: float = 0.1  # sine: standard deviation of the noise added to each input
    hidden: int = 32
    layers: int = 1
    # RMSprop at 0.003 is the default: with Adam (0.001–0.01) the LSTM sat for a thousand
    # updates at 50 % on `remember` at N = 20–30, where RMSprop learned it in 200.
    optimizer: str = "rmsprop"
    learningRate: float = 0.003  # share-URL key names, as the other labs'
    clip: float = 1.0  # largest gradient norm of a step; 0 leaves gradients unclipped
    batchSize: int = 32
    seed: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def query(self) -> str:
        """The canonical share string: every key in table order."""
        return "&".join(
            f"{p.name}={quote(str(getattr(self, p.name)), safe='.-_')}" for p in SEQ_PARAMS
        )

    def with_changes(self, changes: dict[str, Any]) -> SeqConfig:
        """A new config with `changes` checked and applied. Raises `SeqConfigError`."""
        return replace(self, **{k: check(k, v) for k, v in changes.items()})


def _number(p: LabParam, value: Any) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SeqConfigError(p.name, said("err.number", got=repr(value))) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SeqConfigError(p.name, said("err.number", got=repr(value)))
    assert p.min is not None and p.max is not None
    if not math.isfinite(value) or not p.min <= value <= p.max:
        raise SeqConfigError(
            p.name, said("err.between", min=f"{p.min:g}", max=f"{p.max:g}", got=repr(value)))
    if p.kind == "float":
        return float(value)
    if value != int(value):
        raise SeqConfigError(p.name, said("lab.err.whole", got=repr(value)))
    return int(value)


def check(key: str, value: Any) -> Any:
    """One value checked against its table entry, in canonical Python form."""
    p = BY_NAME.get(key)
    if p is None:
        raise SeqConfigError(key, f"unknown setting; known: {', '.join(BY_NAME)}")
    if p.kind == "choice":
        if value not in p.choices:
            raise SeqConfigError(
                key, said("lab.err.oneOf", choices=", ".join(p.choices), got=repr(value)))
        return value
    if p.kind in ("float", "int"):
        return _number(p, value)
    if not isinstance(value, str) or not _SEED.match(value):
        raise SeqConfigError(key, said("seq.err.seed", got=repr(value)))
    return value


def parse_link(text: str) -> tuple[SeqConfig, list[str]]:
    """A sequence-lab link (`?query`, `#hash` or bare `a=1&b=2`) as a page opens it: the config
    and warnings. An unknown key is ignored and a bad value leaves its key at the default, each
    named in a warning; the rest of the link applies."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in split_pairs(text):
        if key == "lang":  # the page's language, not a setting
            continue
        if key not in BY_NAME:
            warnings.append(said("lab.warn.unknownKey", key=repr(key)))
            continue
        try:
            values[key] = check(key, value)
        except SeqConfigError as err:
            warnings.append(said("lab.warn.atDefault", error=err.message, field=err.key))
    return SeqConfig().with_changes(values), warnings


def schema() -> list[dict[str, Any]]:
    return [p.schema() for p in SEQ_PARAMS]
