"""The sequence lab's settings: one table of parameters, validation, and the share-URL form.

A link looks like `/seq?task=remember&cell=lstm&length=20&hidden=32&...`. Unknown keys are
reported and ignored; a bad value is an error naming its key, and a link opens with that key at
its default (`parse_link`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..imagelab.config import LabParam
from ..paramtable import ParamTable
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
        return TABLE.query(self)

    def with_changes(self, changes: dict[str, Any]) -> SeqConfig:
        """A new config with `changes` checked and applied. Raises `SeqConfigError`."""
        return TABLE.with_changes(self, changes)


TABLE = ParamTable(SEQ_PARAMS, SeqConfigError)
check = TABLE.check


def parse_link(text: str) -> tuple[SeqConfig, list[str]]:
    """A sequence-lab link as a page opens it: the config and warnings (`ParamTable`)."""
    return TABLE.parse_link(text, SeqConfig())


def schema() -> list[dict[str, Any]]:
    return TABLE.schema()
