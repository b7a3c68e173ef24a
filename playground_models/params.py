"""The one table of experiment parameters.

Every hyperparameter of the 2-D lab is one `Param` entry below. The table drives validation
(`Experiment`), the share-URL codec (`urlcodec`), the JSON schema the server publishes, and the
controls the page builds. Adding a hyperparameter is one entry here plus its effect, and its
label and help in each message catalogue (`locales/*.json`, `param.<name>.label` and `.help`):
the catalogues are the one source of every text shown.

Names are the share-URL keys: TF Playground's where the concept is the same (`learningRate`,
`networkShape`, ...), netplay's own beside them (`dropout`, `optimizer`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .messages import catalogue

# The names and order of the training rules are the engines' (`rules.py`); re-exported here.
from .rules import (
    ACTIVATIONS,
    CLASSIFY_LOSSES,
    INITS,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
    REGRESS_LOSSES,
    REGULARIZATIONS,
    SCHEDULES,
)


class Kind(StrEnum):
    """How a value is typed in the URL and on the page."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"
    INT_LIST = "int_list"  # e.g. networkShape=4,2
    CHOICE_LIST = "choice_list"  # e.g. layerActivations=relu,tanh
    STRING = "string"  # the seed
    POINTS = "points"  # user-placed points: x,y,label;x,y,label
    INDEX_LIST = "index_list"  # removed generated points: 3,17,42


class Effect(StrEnum):
    """What a change of the parameter does to a running trainer."""

    LIVE = "live"  # applied mid-training, weights kept
    REBUILD = "rebuild"  # data/model rebuilt from the same seed
    DATA = "data"  # the data changes (points added or removed); weights and epoch kept
    VIEW = "view"  # display only; training is untouched


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    default: Any
    effect: Effect
    group: str  # where the page puts it: data, features, network, training, view
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None  # lists: most entries; strings: most characters
    min_len: int = 0
    unit: str = ""
    # Suggested values for a select on the page (TF Playground's dropdown steps).
    steps: tuple[float, ...] = ()
    # Applies only when another parameter has one of these values, e.g. {"problem": ("classification",)}.
    only_when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The English label, from the message catalogue (`param.<name>.label`)."""
        return catalogue("en")[f"param.{self.name}.label"]

    @property
    def help(self) -> str:
        """The English help text, from the message catalogue (`param.<name>.help`)."""
        return catalogue("en")[f"param.{self.name}.help"]

    def schema(self) -> dict[str, Any]:
        """A JSON-ready description for the page and `/api/schema`."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind.value,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "effect": self.effect.value,
            "group": self.group,
            "label": self.label,
            "help": self.help,
        }
        for key in ("min", "max", "max_len", "unit"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        if self.min_len:
            out["min_len"] = self.min_len
        if self.choices:
            out["choices"] = list(self.choices)
        if self.steps:
            out["steps"] = list(self.steps)
        if self.only_when:
            out["only_when"] = {k: list(v) for k, v in self.only_when.items()}
        return out


CLASSIFY_DATASETS = (
    "circle", "xor", "gauss", "spiral", "moons", "checkerboard", "blobs", "spiral3", "random",
)
REGRESS_DATASETS = ("reg-plane", "reg-gauss", "reg-sine")
FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
# A 1-D curve has only x₁ (its x₂ is 0): the features of x₂ are no inputs there.
ONE_D_DATASETS = ("reg-sine",)
X2_FEATURES = ("y", "ySquared", "xTimesY", "sinY")

# TF Playground's dropdown values, kept as the page's suggested steps.
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REG_RATES = (0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)

CLASSIFY = {"problem": ("classification",)}
REGRESS = {"problem": ("regression",)}

P, K, E = Param, Kind, Effect

PARAMS: tuple[Param, ...] = (
    # --- data ---------------------------------------------------------------------------
    P("problem", K.CHOICE, "classification", E.REBUILD, "data",
      choices=("classification", "regression")),
    P("dataset", K.CHOICE, "circle", E.REBUILD, "data", choices=CLASSIFY_DATASETS,
      only_when=CLASSIFY),
    P("regDataset", K.CHOICE, "reg-plane", E.REBUILD, "data",
      choices=REGRESS_DATASETS, only_when=REGRESS),
    P("numClasses", K.INT, 3, E.REBUILD, "data", min=2, max=6, only_when={"dataset": ("blobs",)}),
    P("numSamples", K.INT, 500, E.REBUILD, "data", min=50, max=5000),
    P("percTrainData", K.INT, 50, E.REBUILD, "data", min=10, max=90, unit="%"),
    P("noise", K.INT, 0, E.REBUILD, "data", min=0, max=80, unit="%"),
    P("jitter", K.FLOAT, 0.0, E.REBUILD, "data", min=0.0, max=3.0),
    P("labelFlip", K.FLOAT, 0.0, E.REBUILD, "data", min=0.0, max=0.5, only_when=CLASSIFY),
    P("seed", K.STRING, "1", E.REBUILD, "data", max_len=32, min_len=1),
    P("points", K.POINTS, (), E.DATA, "data", max_len=500),
    # Your own points from a CSV, packed (`owndata.py`): when set they are the data, and
    # `dataset` / `regDataset`, `numSamples` and `noise` step aside.
    P("data", K.STRING, "", E.REBUILD, "data", max_len=16_000),
    # `max` keeps each index within a C int, so none overflows numpy; an index past the data
    # drops nothing.
    P("removed", K.INDEX_LIST, (), E.DATA, "data", max=2**31 - 1, max_len=5000),
    # --- features -----------------------------------------------------------------------
    P("x", K.BOOL, True, E.REBUILD, "features"),
    P("y", K.BOOL, True, E.REBUILD, "features"),
    P("xSquared", K.BOOL, False, E.REBUILD, "features"),
    P("ySquared", K.BOOL, False, E.REBUILD, "features"),
    P("xTimesY", K.BOOL, False, E.REBUILD, "features"),
    P("sinX", K.BOOL, False, E.REBUILD, "features"),
    P("sinY", K.BOOL, False, E.REBUILD, "features"),
    P("preprocess", K.CHOICE, "none", E.REBUILD, "features",
      choices=("none", "center", "standardize")),
    # --- network ------------------------------------------------------------------------
    P("networkShape", K.INT_LIST, (4, 2), E.REBUILD, "network", min=1, max=64, max_len=8),
    P("activation", K.CHOICE, "tanh", E.REBUILD, "network", choices=ACTIVATIONS),
    P("layerActivations", K.CHOICE_LIST, (), E.REBUILD, "network", choices=ACTIVATIONS, max_len=8),
    P("init", K.CHOICE, "tf", E.REBUILD, "network", choices=INITS),
    P("initZero", K.BOOL, False, E.REBUILD, "network"),
    P("dropout", K.FLOAT, 0.0, E.LIVE, "network", min=0.0, max=0.9),
    P("batchNorm", K.BOOL, False, E.REBUILD, "network"),
    P("loss", K.CHOICE, "auto", E.LIVE, "network",
      choices=("auto",) + CLASSIFY_LOSSES + REGRESS_LOSSES),
    # --- training -----------------------------------------------------------------------
    P("optimizer", K.CHOICE, "sgd", E.LIVE, "training", choices=OPTIMIZERS),
    P("learningRate", K.FLOAT, 0.03, E.LIVE, "training", min=1e-6, max=10.0, steps=LEARNING_RATES),
    P("momentum", K.FLOAT, 0.9, E.LIVE, "training", min=0.0, max=0.999,
      only_when={"optimizer": MOMENTUM_OPTIMIZERS}),
    P("batchSize", K.INT, 10, E.LIVE, "training", min=1, max=1000),
    P("schedule", K.CHOICE, "constant", E.LIVE, "training", choices=SCHEDULES),
    P("lrStepGamma", K.FLOAT, 0.5, E.LIVE, "training", min=0.01, max=1.0,
      steps=(0.1, 0.2, 0.3, 0.5, 0.7, 0.9), only_when={"schedule": ("step",)}),
    P("lrStepEpochs", K.INT, 100, E.LIVE, "training", min=1, max=100_000,
      steps=(10, 20, 50, 100, 200, 500, 1000), only_when={"schedule": ("step",)}),
    P("lrDecay", K.FLOAT, 0.99, E.LIVE, "training", min=0.5, max=1.0,
      steps=(0.9, 0.95, 0.98, 0.99, 0.995, 0.999), only_when={"schedule": ("exponential",)}),
    P("lrCycleEpochs", K.INT, 500, E.LIVE, "training", min=1, max=100_000,
      steps=(50, 100, 200, 500, 1000, 2000, 5000), only_when={"schedule": ("cosine", "warmup-cosine")}),
    P("lrWarmupEpochs", K.INT, 20, E.LIVE, "training", min=1, max=10_000,
      steps=(5, 10, 20, 50, 100, 200), only_when={"schedule": ("warmup-cosine",)}),
    P("regularization", K.CHOICE, "none", E.LIVE, "training", choices=REGULARIZATIONS),
    P("regularizationRate", K.FLOAT, 0.0, E.LIVE, "training", min=0.0, max=10.0, steps=REG_RATES,
      only_when={"regularization": ("L1", "L2")}),  # with none, λ does nothing: not shown
    # --- mode (no control: a link key, shown as a badge) ----------------------------------
    P("compat", K.CHOICE, "netplay", E.REBUILD, "mode", choices=("netplay", "tf")),
    # --- view ---------------------------------------------------------------------------
    P("showTestData", K.BOOL, False, E.VIEW, "view"),
    P("discretize", K.BOOL, False, E.VIEW, "view"),
    P("knn", K.INT, 0, E.VIEW, "view", min=0, max=50),
    P("gridSize", K.INT, 100, E.VIEW, "view", min=20, max=200),
    P("hideText", K.BOOL, False, E.VIEW, "view"),
    P("lang", K.CHOICE, "en", E.VIEW, "view", choices=("en", "zh")),
)

BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}

# TF Playground keys that mean nothing here; accepted silently so its links open cleanly.
# `lesson` names the lesson a link came from: the page shows its text, training ignores it.
VESTIGIAL_KEYS = frozenset({"cosX", "cosY", "collectStats", "tutorial", "lesson"})

# Hard limits on a model, beside the per-parameter bounds above.
MAX_PARAMETERS = 100_000

DOMAIN = (-6.0, 6.0)  # the 2-D data domain, as TF Playground's
