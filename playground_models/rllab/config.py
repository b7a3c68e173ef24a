"""The agent lab's settings: one table of parameters, checked by `ParamTable`, and the share form.

A link looks like `/rl?layers=50,50&gamma=0.7&...&seed=1`. The defaults are ConvNetJS's
`rldemo` brain (two layers of 50 ReLUs, a temporal window of 1, γ = 0.7, replay of 30,000,
learning from 1,000 experiences, ε from 1 down to 0.05 after a burn-in of 3,000) except where a
measurement chose otherwise, as noted at the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..imagelab.config import LabParam
from ..paramtable import ParamTable, SettingError, TableConfig, layer_widths

ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
STARTS = ("scratch", "pretrained")
MAX_LAYERS = 4
MAX_WIDTH = 256

# Live settings apply at the next tick with the weights and the memory kept; the others rebuild
# the world and the agent from the seed.
RL_PARAMS: tuple[LabParam, ...] = (
    LabParam("start", "choice", "scratch", False, "Agent", choices=STARTS),
    LabParam("layers", "layers", "50,50", False, "Hidden layers"),
    LabParam("activation", "choice", "relu", False, "Activation", choices=ACTIVATIONS),
    LabParam("window", "int", 1, False, "Temporal window", min=0, max=4),
    LabParam("items", "int", 30, False, "Items", min=0, max=100),
    LabParam("replay", "int", 30000, False, "Replay memory", min=100, max=100_000),
    LabParam("optimizer", "choice", "adam", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.001, True, "Learning rate", min=1e-6, max=1.0),
    LabParam("batchSize", "int", 64, True, "Batch size", min=1, max=256),
    LabParam("weightDecay", "float", 0.0, True, "Weight decay (L2)", min=0.0, max=1.0),
    LabParam("gamma", "float", 0.7, True, "γ (discount)", min=0.0, max=0.99),
    LabParam("learnStart", "int", 1000, True, "Learn after", min=1, max=100_000),
    LabParam("epsBurnin", "int", 3000, True, "ε burn-in", min=0, max=10_000_000),
    LabParam("epsSteps", "int", 30000, True, "ε annealed by", min=1, max=10_000_000),
    LabParam("epsMin", "float", 0.05, True, "ε at the end", min=0.0, max=1.0),
    LabParam("epsTest", "float", 0.05, True, "ε while not learning", min=0.0, max=1.0),
    LabParam("seed", "string", "1", False, "Seed"),
)
BY_NAME = {p.name: p for p in RL_PARAMS}


class RLConfigError(SettingError):
    """A setting of this lab that cannot be used (`key`, `message`)."""


_LAYERS = layer_widths(RLConfigError, "rl.err.layers", MAX_LAYERS, MAX_WIDTH, empty=True)
TABLE = ParamTable(RL_PARAMS, RLConfigError, kinds=(("layers", _LAYERS),))
LIVE = TABLE.live


@dataclass(frozen=True)
class RLConfig(TableConfig):
    table: ClassVar[ParamTable] = TABLE
    start: str = "scratch"  # or the pretrained agent (its network settings must match)
    layers: str = "50,50"
    activation: str = "relu"
    window: int = 1  # past (state, action) pairs the agent sees beside the present state
    items: int = 30
    replay: int = 30000
    # Adam at 0.001, not ConvNetJS's SGD at 0.001: measured on seed 1, SGD's agent was still
    # at the random policy's reward after 30,000 ticks, Adam's well above it (docs/rl-protocol.md).
    optimizer: str = "adam"
    learningRate: float = 0.001  # share-URL key names, as the other labs'
    batchSize: int = 64
    weightDecay: float = 0.0
    gamma: float = 0.7
    learnStart: int = 1000
    epsBurnin: int = 3000
    # ε reaches its floor after 30,000 learning ticks, not ConvNetJS's 200,000: ten minutes of
    # its demo, a few seconds here (the anneal is a setting, so the slow one is one link away).
    epsSteps: int = 30000
    epsMin: float = 0.05
    epsTest: float = 0.05
    seed: str = "1"


def parse_link(text: str) -> tuple[RLConfig, list[str]]:
    """An agent-lab link as a page opens it: the config and warnings (`ParamTable`)."""
    return TABLE.parse_link(text, RLConfig())


def schema() -> list[dict[str, Any]]:
    return TABLE.schema()
