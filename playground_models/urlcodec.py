"""Share URLs: parse `?query` or TF Playground's `#hash` into an `Experiment`, and back.

The canonical form lists every parameter in table order (empty lists left out), then the
`_hide` keys sorted, so the same experiment always gives the same string and parsing it gives
the same experiment back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from . import history
from .experiment import ConfigError, Experiment, coerce
from .messages import quoted, said, shortened
from .params import BY_NAME, PARAMS, VESTIGIAL_KEYS, Kind, Param
from .tfcompat import links as tf_links

# Controls that are not parameters but can still be hidden with `<name>_hide=true`
# (TF Playground's classroom names, plus netplay's own buttons).
HIDEABLE_CONTROLS = frozenset(
    {"playButton", "stepButton", "resetButton", "reseedButton", "speed", "numHiddenLayers",
     "shareButton", "exportButton", "dataEditing", "ownData", "lessons", "sweep"}
    | {f"numNodes{i}" for i in range(1, 9)}
)


@dataclass
class SharedState:
    """What a share link holds: the experiment, hidden controls, and what was wrong with it."""

    experiment: Experiment
    hidden: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)  # unknown keys, ignored
    errors: list[ConfigError] = field(default_factory=list)  # bad values, left at default
    history: list[list[Any]] = field(default_factory=list)  # live changes to replay (`h`)
    start: dict[str, Any] = field(default_factory=dict)  # what they moved was, at the start
    at: int | None = None  # the epoch to open at (`at`)

    def run_start(self) -> Experiment:
        """The experiment the link's run started from: its settings with `start` put back."""
        if not self.start:
            return self.experiment
        try:
            return self.experiment.replace(**self.start)
        except ConfigError as err:
            raise ConfigError(history.KEY, said("err.h.start", error=said("err.field", field=err.key, error=err.message))) from None


def split_pairs(text: str) -> list[tuple[str, str]]:
    """Key/value pairs from a URL, a `?query`, a `#hash` or a bare `a=1&b=2`; hash last."""
    text = text.strip()
    parts: list[str] = []
    if "://" in text:
        u = urlsplit(text)
        parts = [u.query, u.fragment]
    else:
        head, _, frag = text.partition("#")
        parts = [head.lstrip("?"), frag]
    pairs = []
    for part in parts:
        for item in part.split("&"):
            if not item:
                continue
            key, _, value = item.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def _parse_number(p: Param, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(p.name, said("err.number", got=repr(text))) from None
    if not math.isfinite(value):
        raise ConfigError(p.name, said("err.finite", got=repr(text)))
    return value


def parse_value(p: Param, text: str) -> Any:
    """Turn one URL string into a checked Python value for parameter `p`."""
    return coerce(p, _READERS[p.kind](p, text))


def _read_bool(p: Param, text: str) -> bool:
    low = text.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise ConfigError(p.name, said("err.bool", got=repr(text)))


def _read_number(p: Param, text: str) -> float | int:
    value = _parse_number(p, text)
    return int(value) if p.kind is Kind.INT and value.is_integer() else value


def _read_choice(p: Param, text: str) -> str:
    if p.name == "regularization":
        return {"l1": "L1", "l2": "L2", "": "none"}.get(text.lower(), text)
    return text


def _items(p: Param, text: str) -> list[str]:
    return [t for t in text.split(";" if p.kind is Kind.POINTS else ",") if t != ""]


def _read_whole_numbers(p: Param, text: str) -> list[int]:
    values = []
    for t in _items(p, text):
        try:
            values.append(int(t))
        except ValueError:
            raise ConfigError(p.name, said("err.entriesWhole", got=quoted(t))) from None
    return values


def _read_points(p: Param, text: str) -> list[list[float]]:
    points = []
    for t in _items(p, text):
        fields = t.split(",")
        if len(fields) != 3:
            raise ConfigError(p.name, said("err.linkPoint", got=quoted(t)))
        points.append([_parse_number(p, f) for f in fields])
    return points


_READERS = {
    Kind.BOOL: _read_bool,
    Kind.FLOAT: _read_number,
    Kind.INT: _read_number,
    Kind.CHOICE: _read_choice,
    Kind.STRING: lambda p, text: text,
    Kind.INT_LIST: _read_whole_numbers,
    Kind.INDEX_LIST: _read_whole_numbers,
    Kind.CHOICE_LIST: _items,
    Kind.POINTS: _read_points,
}
assert set(_READERS) == set(Kind), "every kind of parameter needs its reader"


def format_value(p: Param, value: Any) -> str:
    k = p.kind
    if k is Kind.BOOL:
        return "true" if value else "false"
    if k is Kind.FLOAT:
        return _short(value)
    if k in (Kind.INT_LIST, Kind.INDEX_LIST, Kind.CHOICE_LIST):
        return ",".join(str(v) for v in value)
    if k is Kind.POINTS:
        return ";".join(",".join(_short(c) for c in pt) for pt in value)
    return str(value)


def _short(x: float) -> str:
    """The shortest text that reads back as the same float; whole numbers without '.0'.

    No '+' in exponents ('1e16', not '1e+16'): a query string decodes '+' as a space.
    """
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x).replace("+", "")


def parse(text: str, *, strict: bool = False) -> SharedState:
    """Read a share link. Unknown keys become warnings; bad values become errors.

    With `strict=True` the first bad value raises `ConfigError`; otherwise the bad key is left
    at its default and reported in `errors`, and the rest of the link still applies.
    """
    values: dict[str, Any] = {}
    hidden: set[str] = set()
    warnings: list[str] = []
    errors: list[ConfigError] = []
    pairs = split_pairs(text)
    tf_mode = tf_links.is_tf_link(pairs)  # TF Playground mode reads a link as TF does
    run: dict[str, Any] = {"history": [], "start": {}, "at": None}
    for key, text_value in pairs:
        if key in (history.KEY, history.AT_KEY) and not tf_mode:
            _read_run_key(key, text_value, run, errors, strict)
            continue
        if key.endswith("_hide"):
            _read_hide(key, text_value, tf_mode, hidden, warnings)
            continue
        if key in VESTIGIAL_KEYS:
            note = tf_links.unimplemented_warning(key, text_value) if tf_mode else None
            if note:
                warnings.append(note)
            continue
        p = BY_NAME.get(key)
        if p is None:
            warnings.append(said("warn.unknownKey", key=quoted(key)))
            continue
        if tf_mode and key in tf_links.TF_KEYS and key != "networkShape" and not text_value.strip():
            continue  # TF leaves a key with an empty value at its default
        try:
            if tf_mode and p.kind is Kind.BOOL:
                values[key] = tf_links.tf_bool(text_value)
                continue
            values[key] = parse_value(p, text_value)
        except ConfigError as err:
            if strict:
                raise
            errors.append(err)
    while True:
        try:
            exp = Experiment(values)
            break
        except ConfigError as err:
            if strict or err.key not in values:
                raise
            errors.append(err)
            del values[err.key]
    if tf_mode:
        # netplay's keys at their defaults ask for nothing (a shared link writes every key)
        warnings += tf_links.netplay_only_warnings(
            {k: v for k, v in values.items() if v != BY_NAME[k].default})
    state = SharedState(exp, frozenset(hidden), warnings, errors, run["history"], run["start"], run["at"])
    return _checked_start(state, strict)


def _checked_start(state: SharedState, strict: bool) -> SharedState:
    """`state`, its history dropped (and named) when the run's start cannot be."""
    try:
        state.run_start()
    except ConfigError as err:
        if strict:
            raise
        state.errors.append(err)
        state.history, state.start = [], {}
    return state


def _read_run_key(
    key: str, text: str, run: dict[str, Any], errors: list[ConfigError], strict: bool
) -> None:
    """The run's history (`h`) or the epoch to open at (`at`) into `run`; a bad one is an error."""
    try:
        if key == history.KEY:
            run["start"], run["history"] = history.decode(text)
        elif not text.isdigit() or int(text) > history.MAX_AT:
            raise ConfigError(key, said("err.at.range", max=f"{history.MAX_AT:,}", got=repr(text)))
        else:
            run["at"] = int(text)
    except ConfigError as err:
        if strict:
            raise
        errors.append(err)


def run_query(trainer: Any, hidden: frozenset[str] | set[str] = frozenset()) -> tuple[str, dict[str, Any]]:
    """A trainer's link: its settings now, and the changes made since its run started with what
    they moved was then (`h`), so that the link replays the run. Returns the query and what it carries: `changes` made,
    `carried` in the link, and `at`, the epoch it opens at when not all of them fit."""
    changes = getattr(trainer, "history", None)
    if not changes:  # also TensorFlow Playground mode, whose runs keep no history
        return serialize(trainer.experiment, hidden), {"changes": 0, "carried": 0, "at": None}
    start = history.start_values(changes, trainer.base)
    carried = history.fits(changes, start)
    query = serialize(trainer.experiment, hidden)
    if carried:
        query += f"&{history.KEY}={history.encode(changes[:carried], start)}"
    at = None
    if carried < len(changes):  # the epoch before the first change the link cannot carry
        at = trainer.history_epochs[carried]
        query += f"&{history.AT_KEY}={at}"
    return query, {"changes": len(changes), "carried": carried, "at": at}


def _read_hide(
    key: str, text_value: str, tf_mode: bool, hidden: set[str], warnings: list[str]
) -> None:
    """A `<control>_hide` key: hide the control when true (TF mode reads only `true`, as TF)."""
    base = key[: -len("_hide")]
    if base not in BY_NAME and base not in HIDEABLE_CONTROLS:
        warnings.append(said("warn.unknownControl", name=quoted(base), key=quoted(key)))
    elif text_value == "true" or (not tf_mode and text_value.lower() == "1"):
        hidden.add(base)
    elif text_value.lower() not in ("false", "0", ""):
        warnings.append(said("warn.hideValue", key=shortened(key), got=shortened(text_value)))


def serialize(exp: Experiment, hidden: frozenset[str] | set[str] = frozenset()) -> str:
    """The canonical `key=value&...` string (no leading '?' or '#')."""
    parts = []
    for p in PARAMS:
        value = exp[p.name]
        if isinstance(value, tuple) and not value and p.name != "networkShape":
            continue
        if p.name == "compat" and value == p.default:
            continue  # only a mode link names its mode, so netplay's links stay as they were
        parts.append(f"{p.name}={format_value(p, value)}")
    parts += [f"{name}_hide=true" for name in sorted(hidden)]
    return "&".join(parts)
