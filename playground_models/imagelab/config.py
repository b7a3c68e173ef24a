"""The image lab's settings: one table of parameters, validation, and the share-URL form.

A lab link looks like `/lab?data=digits&net=in24x24x1-conv8k5p2-relu-...&optimizer=adam&...`.
`preset=lenet5` is accepted in place of `net`. Unknown keys are reported and ignored; a bad value
is an error that names its key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import quote

from ..experiment import ConfigError
from ..messages import quoted, said
from ..params import BY_NAME as PARAMS_2D
from ..rules import MOMENTUM_OPTIMIZERS, OPTIMIZERS
from ..schedules import Schedule
from .layers import SpecError, parse_net
from .presets import DEFAULT_PRESET, PRESETS, preset_net


@dataclass(frozen=True)
class LabParam:
    name: str
    kind: str  # choice, float, int, string, net
    default: Any
    live: bool  # applied mid-training with the weights kept; otherwise the lab rebuilds
    label: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    # Applies only when another setting has one of these values, as the 2-D lab's `only_when`.
    only_when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, (), {})}


SCHEDULE_KEYS = ("schedule", "lrStepGamma", "lrStepEpochs", "lrDecay", "lrCycleEpochs",
                 "lrWarmupEpochs")


def schedule_param(name: str) -> LabParam:
    """A schedule setting as the 2-D lab's parameter table has it: one rule for both labs."""
    p = PARAMS_2D[name]
    return LabParam(name, p.kind.value, p.default, True, p.label, min=p.min, max=p.max,
                    choices=p.choices, only_when=dict(p.only_when))


LAB_PARAMS: tuple[LabParam, ...] = (
    LabParam("data", "choice", "digits", False, "Data",
             choices=("digits", "synth", "mnist", "shapes", "cifar10")),
    LabParam("samples", "int", 3000, False, "Examples of a generated set or of CIFAR-10",
             min=200, max=20000),
    LabParam("net", "net", PRESETS[DEFAULT_PRESET].net, False, "Network"),
    LabParam("optimizer", "choice", "adam", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.003, True, "Learning rate", min=1e-6, max=10.0),
    LabParam("momentum", "float", 0.9, True, "Momentum", min=0.0, max=0.999,
             only_when={"optimizer": MOMENTUM_OPTIMIZERS}),
    LabParam("batchSize", "int", 32, True, "Batch size", min=1, max=512),
    LabParam("weightDecay", "float", 0.0001, True, "Weight decay (L2)", min=0.0, max=1.0),
    # ConvNetJS's CIFAR-10 demo: each training image shifted by up to 2 px and flipped at random.
    LabParam("augment", "choice", "off", True, "Augment: random flips and ±2 px shifts",
             choices=("off", "on")),
    # Learning-rate schedules: the 2-D lab's settings, taken from its table (`schedule_param`).
    *(schedule_param(name) for name in SCHEDULE_KEYS),
    LabParam("seed", "string", "0", False, "Seed"),
)
BY_NAME = {p.name: p for p in LAB_PARAMS}
_SEED = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


# The 2-D lab's error: a value that cannot be used, with `key` naming the parameter.
LabConfigError = ConfigError


@dataclass(frozen=True)
class LabConfig:
    data: str = "digits"
    samples: int = 3000
    net: str = PRESETS[DEFAULT_PRESET].net
    optimizer: str = "adam"
    learningRate: float = 0.003  # share-URL key names, as in TF Playground
    momentum: float = 0.9
    batchSize: int = 32
    weightDecay: float = 0.0001
    augment: str = "off"
    schedule: str = PARAMS_2D["schedule"].default
    lrStepGamma: float = PARAMS_2D["lrStepGamma"].default
    lrStepEpochs: int = PARAMS_2D["lrStepEpochs"].default
    lrDecay: float = PARAMS_2D["lrDecay"].default
    lrCycleEpochs: int = PARAMS_2D["lrCycleEpochs"].default
    lrWarmupEpochs: int = PARAMS_2D["lrWarmupEpochs"].default
    seed: str = "0"

    @property
    def lr_schedule(self) -> Schedule:
        return Schedule(self.schedule, gamma=self.lrStepGamma, step_epochs=self.lrStepEpochs,
                        decay=self.lrDecay, cycle_epochs=self.lrCycleEpochs,
                        warmup_epochs=self.lrWarmupEpochs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def query(self) -> str:
        """The canonical share string: every key in table order."""
        return "&".join(
            f"{p.name}={quote(str(getattr(self, p.name)), safe='.-_')}" for p in LAB_PARAMS
        )

    def with_changes(self, changes: dict[str, Any]) -> LabConfig:
        """A new config with `changes` checked and applied. Raises `LabConfigError`."""
        return replace(self, **{k: check(k, v) for k, v in _expand_preset(changes).items()})


def _expand_preset(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "preset" in values:
        name = values.pop("preset")
        try:
            values.setdefault("net", preset_net(str(name)))
        except KeyError as err:
            raise LabConfigError("preset", str(err.args[0])) from None
    return values


def check(key: str, value: Any) -> Any:
    """One value checked against its table entry, in canonical Python form."""
    p = BY_NAME.get(key)
    if p is None:
        raise LabConfigError(key, f"unknown setting; known: {', '.join(BY_NAME)}")
    if p.kind == "choice":
        if value not in p.choices:
            raise LabConfigError(key, said("lab.err.oneOf", choices=", ".join(p.choices), got=repr(value)))
        return value
    if p.kind in ("float", "int"):
        got = value if isinstance(value, str) else repr(value)  # as the link or message had it
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise LabConfigError(key, said("err.number", got=repr(value))) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LabConfigError(key, said("err.number", got=got))
        if not math.isfinite(value) or not p.min <= value <= p.max:  # type: ignore[operator]
            raise LabConfigError(key, said("err.between", min=f"{p.min:g}", max=f"{p.max:g}", got=got))
        if p.kind == "int":
            if value != int(value):
                raise LabConfigError(key, said("lab.err.whole", got=got))
            return int(value)
        return float(value)
    if p.kind == "net":
        if not isinstance(value, str):
            raise LabConfigError(key, "must be a layer string like conv8k5p2-relu-maxpool2-fc10")
        try:
            return parse_net(value).text  # canonical spelling
        except SpecError as err:
            raise LabConfigError(key, err.message) from None
    if not isinstance(value, str) or not _SEED.match(value):
        raise LabConfigError(key, "must be 1–32 letters, digits, '.', '_' or '-'")
    return value


def parse_query(text: str) -> tuple[LabConfig, list[str]]:
    """A lab link, `?query`, `#hash` or bare `a=1&b=2` to a config and warnings (unknown keys).

    Raises `LabConfigError` for the first bad value.
    """
    from playground_models.urlcodec import split_pairs  # same URL splitting as the 2-D lab

    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in split_pairs(text):
        if key in BY_NAME or key == "preset":
            values[key] = value
        else:
            warnings.append(said("lab.warn.unknownKey", key=quoted(key)))
    return LabConfig().with_changes(values), warnings


def parse_link(text: str) -> tuple[LabConfig, list[str]]:
    """A lab link as a page opens it: as `parse_query`, but a bad value leaves its key at the
    default, with a warning naming it, and the rest of the link applies."""
    from playground_models.urlcodec import split_pairs

    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in split_pairs(text):
        if key not in BY_NAME and key != "preset":
            warnings.append(said("lab.warn.unknownKey", key=quoted(key)))
            continue
        try:
            LabConfig().with_changes({**values, key: value})
        except LabConfigError as err:
            warnings.append(said("lab.warn.atDefault", error=err.message, field=err.key))
            continue
        values[key] = value
    return LabConfig().with_changes(values), warnings


def schema() -> list[dict[str, Any]]:
    return [p.schema() for p in LAB_PARAMS]
