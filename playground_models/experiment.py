"""`Experiment`: one validated, immutable set of values for every parameter in `params.PARAMS`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import owndata
from .messages import in_lang, said
from .params import (
    BY_NAME,
    CLASSIFY_LOSSES,
    FEATURES,
    ONE_D_DATASETS,
    PARAMS,
    REGRESS_LOSSES,
    X2_FEATURES,
    Effect,
    Kind,
    Param,
)
from .schedules import Schedule

SEED_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")


class ConfigError(ValueError):
    """A parameter value that cannot be used. `key` names the parameter."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message

    def in_lang(self, lang: str) -> str:
        """`key: message`, the message said in `lang` where the catalogue has it."""
        return f"{self.key}: {in_lang(self.message, lang)}"


def _bounds(p: Param) -> dict[str, str]:
    return {"min": _num(p.min), "max": _num(p.max)}


def _shown(value: Any) -> str:
    """A bad value for a message, cut short: a 4,000-digit integer is not worth echoing."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text)} characters)"


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    if abs(x) >= 1e15:  # 1e308 as a whole number is 309 digits: keep messages readable
        return f"{float(x):g}"
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: float) -> bool:
    """Whether a number is finite as a double: an integer too large for one is not."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past 1.8e308
        return False


def coerce(p: Param, value: Any) -> Any:
    """Check one value against its table entry and return it in canonical Python form.

    Accepts Python values (from JSON or code), not URL strings: see `urlcodec` for those.
    Lists come back as tuples so that an `Experiment` is hashable and immutable.
    """
    if p.kind in _LIST_KINDS:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(p.name, said("err.list", got=_shown(value)))
        if p.max_len is not None and len(value) > p.max_len:
            raise ConfigError(p.name, said("err.tooManyEntries", n=len(value), most=p.max_len))
    return _COERCERS[p.kind](p, value)


def _coerce_bool(p: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(p.name, said("err.bool", got=_shown(value)))
    return value


def _coerce_number(p: Param, value: Any) -> float | int:
    if not _is_number(value):
        raise ConfigError(p.name, said("err.numberBetween", **_bounds(p), got=_shown(value)))
    if not _finite(value):
        raise ConfigError(p.name, said("err.finiteBetween", **_bounds(p)))
    if p.kind is Kind.INT:
        if float(value) != int(value):
            raise ConfigError(p.name, said("err.wholeBetween", **_bounds(p)))
        value = int(value)
    else:
        value = float(value)
    if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
        raise ConfigError(p.name, said("err.between", **_bounds(p), got=_num(value)))
    return value


def _coerce_choice(p: Param, value: Any) -> str:
    if value not in p.choices:
        raise ConfigError(p.name, said("err.oneOf", choices=", ".join(p.choices), got=_shown(value)))
    return value


def _coerce_string(p: Param, value: Any) -> str:
    if value == "" and p.min_len == 0:
        return value
    if not isinstance(value, str) or not SEED_PATTERN.match(value):
        raise ConfigError(p.name, said("err.seedChars"))
    if not p.min_len <= len(value) <= (p.max_len or 10**9):
        raise ConfigError(p.name, said("err.seedLength", min=p.min_len, max=p.max_len))
    return value


def _coerce_int_list(p: Param, value: Any) -> tuple[int, ...]:
    out = []
    for v in value:
        if not _is_number(v) or not _finite(v) or float(v) != int(v):
            raise ConfigError(p.name, said("err.entriesWhole", got=_shown(v)))
        if not p.min <= v <= p.max:
            raise ConfigError(p.name, said("err.entriesBetween", **_bounds(p), got=_num(v)))
        out.append(int(v))
    return tuple(out)


def _coerce_choice_list(p: Param, value: Any) -> tuple[str, ...]:
    for v in value:
        if v not in p.choices:
            raise ConfigError(p.name, said("err.entriesOneOf", choices=", ".join(p.choices)))
    return tuple(value)


def _coerce_index_list(p: Param, value: Any) -> tuple[int, ...]:
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(
                p.name, said("err.entriesIndex", got=_shown(v))
            )
        if p.max is not None and v > p.max:
            raise ConfigError(p.name, said("err.entriesAtMost", max=_num(p.max), got=_shown(v)))
    return tuple(sorted(set(value)))


def _coerce_points(p: Param, value: Any) -> tuple[tuple[float, float, float], ...]:
    out = []
    for pt in value:
        if not isinstance(pt, (list, tuple)) or len(pt) != 3:
            raise ConfigError(p.name, said("err.pointShape", got=_shown(pt)))
        x, y, label = pt
        for c in (x, y):
            if not _is_number(c) or not _finite(c):
                raise ConfigError(p.name, said("err.pointFinite", got=_shown(c)))
            if not -6.0 <= c <= 6.0:
                raise ConfigError(p.name, said("err.pointRange"))
        if not _is_number(label) or not _finite(label):
            raise ConfigError(p.name, said("err.labelFinite", got=_shown(label)))
        out.append((round(float(x), 3), round(float(y), 3), float(label)))
    return tuple(out)


_COERCERS = {
    Kind.BOOL: _coerce_bool,
    Kind.FLOAT: _coerce_number,
    Kind.INT: _coerce_number,
    Kind.CHOICE: _coerce_choice,
    Kind.STRING: _coerce_string,
    Kind.INT_LIST: _coerce_int_list,
    Kind.CHOICE_LIST: _coerce_choice_list,
    Kind.INDEX_LIST: _coerce_index_list,
    Kind.POINTS: _coerce_points,
}
_LIST_KINDS = frozenset({Kind.INT_LIST, Kind.CHOICE_LIST, Kind.INDEX_LIST, Kind.POINTS})
assert set(_COERCERS) == set(Kind), "every kind of parameter needs its coercer"


class Experiment(Mapping[str, Any]):
    """A complete, validated experiment: every parameter has a value.

    Read values as `exp["learningRate"]` or `exp.learningRate`; derive a changed copy with
    `exp.replace(learningRate=0.1)`. Cross-parameter rules (loss vs. problem, batch vs. data
    size, feature count) are checked here too, so an `Experiment` is always trainable.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, **kwargs: Any):
        given = dict(values or {}, **kwargs)
        unknown = sorted(set(given) - set(BY_NAME))
        if unknown:
            raise ConfigError(unknown[0], "is not a parameter")
        merged = {}
        for p in PARAMS:
            merged[p.name] = coerce(p, given[p.name]) if p.name in given else p.default
        object.__setattr__(self, "_values", merged)
        self._check_together()

    def _check_together(self) -> None:
        v = self._values
        if not self.features:
            raise ConfigError("x", said("err.noFeature1d" if self.one_d else "err.noFeature"))
        if v["data"]:
            try:
                _, _, classes = owndata.decode(v["data"])
            except owndata.DataError as err:
                raise ConfigError("data", err.message) from None
            if classes != (v["problem"] == "classification"):
                raise ConfigError("data", said("err.dataHoldsClasses" if classes
                                               else "err.dataHoldsTargets"))
        loss = v["loss"]
        if v["problem"] == "classification" and loss not in ("auto",) + CLASSIFY_LOSSES:
            raise ConfigError("loss", said("err.regressionLoss", loss=loss, choices=", ".join(CLASSIFY_LOSSES)))
        if v["problem"] == "regression" and loss not in ("auto",) + REGRESS_LOSSES:
            raise ConfigError("loss", said("err.classificationLoss", loss=loss, choices=", ".join(REGRESS_LOSSES)))
        acts = v["layerActivations"]
        if acts and len(acts) != len(v["networkShape"]):
            raise ConfigError("layerActivations", said("err.layerActivations", n=len(acts),
                                                        layers=len(v["networkShape"])))
        for _x, _y, label in v["points"]:
            if v["problem"] == "classification" and (
                label != int(label) or not 0 <= label < self.num_classes
            ):
                raise ConfigError("points", said("err.pointLabels", most=self.num_classes - 1))

    # --- Mapping -------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Experiment is immutable; use replace()")

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and self._values == other._values

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != BY_NAME[k].default}
        return f"Experiment({changed})"

    def replace(self, **changes: Any) -> Experiment:
        return Experiment({**self._values, **changes})

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (lists, not tuples)."""
        return {
            k: [list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v
            for k, v in self._values.items()
        }

    # --- derived -------------------------------------------------------------------------
    @property
    def is_classification(self) -> bool:
        return self._values["problem"] == "classification"

    @property
    def data_name(self) -> str:
        if self._values["data"]:
            return "own"  # points from a CSV (`owndata.py`)
        return self._values["dataset"] if self.is_classification else self._values["regDataset"]

    @property
    def num_classes(self) -> int:
        """Output classes (1 for regression)."""
        if not self.is_classification:
            return 1
        if self._values["data"]:
            return max(2, int(owndata.decode(self._values["data"])[1].max()) + 1)
        d = self._values["dataset"]
        if d == "blobs":
            return self._values["numClasses"]
        return 3 if d == "spiral3" else 2

    @property
    def one_d(self) -> bool:
        """Whether the data is a 1-D curve: x₁ only, so no feature of x₂ is an input."""
        return (not self.is_classification and not self._values["data"]
                and self._values["regDataset"] in ONE_D_DATASETS)

    @property
    def feature_choices(self) -> tuple[str, ...]:
        """The features that can be inputs for this data."""
        return tuple(f for f in FEATURES if not (self.one_d and f in X2_FEATURES))

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(f for f in self.feature_choices if self._values[f])

    @property
    def lr_schedule(self) -> Schedule:
        v = self._values
        return Schedule(v["schedule"], gamma=v["lrStepGamma"], step_epochs=v["lrStepEpochs"],
                        decay=v["lrDecay"], cycle_epochs=v["lrCycleEpochs"],
                        warmup_epochs=v["lrWarmupEpochs"])

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate in force at `epoch`, after the schedule."""
        return self.lr_schedule.rate(self._values["learningRate"], epoch)

    @property
    def loss_name(self) -> str:
        loss = self._values["loss"]
        if loss == "auto":
            return "softmax" if self.is_classification else "mse"
        return loss

    @property
    def layer_activations(self) -> tuple[str, ...]:
        return self._values["layerActivations"] or (self._values["activation"],) * len(
            self._values["networkShape"]
        )

    def changes_from(self, other: Experiment) -> dict[str, Effect]:
        """The parameters that differ from `other`, with what each change does."""
        return {k: BY_NAME[k].effect for k in self._values if self._values[k] != other[k]}
