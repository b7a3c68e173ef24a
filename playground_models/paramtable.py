"""One table of a lab's settings, checked the same way in every lab that has one (the sequence
lab's, the agent lab's): a value against its entry, a share link read as a page opens it, the
canonical share string.

A table is a tuple of `LabParam`s (`imagelab/config.py`) and the lab's error class, whose
instances carry `key` (the setting) and `message` (maybe a `Said` sentence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import quote, urlsplit

from .imagelab.config import LabParam
from .messages import quoted, said
from .urlcodec import split_pairs

SEED = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
C = TypeVar("C")


class SettingError(ValueError):
    """A setting that cannot be used; `key` names it, `message` may be a `Said` sentence. Each
    lab has its own subclass, so a caller can tell whose it is."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def layer_widths(error: type[SettingError], said_key: str, max_layers: int, max_width: int,
                 empty: bool) -> Callable[[LabParam, Any], str]:
    """The check of a hidden-layer list such as "50,50": up to `max_layers` widths of 1 to
    `max_width` (none at all when `empty`), as its canonical text; else `error` saying
    `said_key` with what it got."""

    def check(p: LabParam, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        if not isinstance(value, str):
            raise error(p.name, said(said_key, got=repr(value)))
        text = value.replace(" ", "")
        parts = text.split(",") if text or not empty else []
        if (len(parts) > max_layers or (not parts and not empty)
                or not all(s.isdigit() and 1 <= int(s) <= max_width for s in parts)):
            raise error(p.name, said(said_key, got=repr(value)))
        return ",".join(str(int(s)) for s in parts)

    return check


@dataclass(frozen=True)
class ParamTable:
    params: tuple[LabParam, ...]
    error: Any  # the lab's error class, built as error(key, message)
    # Checks of the kinds the shared rules do not know (a layer list), by kind.
    kinds: tuple[tuple[str, Callable[[LabParam, Any], Any]], ...] = ()

    @property
    def by_name(self) -> dict[str, LabParam]:
        return {p.name: p for p in self.params}

    @property
    def live(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.live)

    def query(self, config: Any) -> str:
        """The canonical share string: every key in table order."""
        return "&".join(
            f"{p.name}={quote(_short(getattr(config, p.name)), safe='.-_,')}" for p in self.params)

    def with_changes(self, config: C, changes: dict[str, Any]) -> C:
        """`config` with `changes` checked and applied; raises the lab's error."""
        return replace(config, **{k: self.check(k, v) for k, v in changes.items()})  # type: ignore[type-var]

    def check(self, key: str, value: Any) -> Any:
        """One value checked against its table entry, in canonical Python form."""
        p = self.by_name.get(key)
        if p is None:
            raise self.error(key, f"unknown setting; known: {', '.join(self.by_name)}")
        if p.kind == "choice":
            if value not in p.choices:
                raise self.error(
                    key, said("lab.err.oneOf", choices=", ".join(p.choices), got=repr(value)))
            return value
        if p.kind in ("float", "int"):
            return self._number(p, value)
        for kind, check in self.kinds:
            if p.kind == kind:
                return check(p, value)
        if not isinstance(value, str) or not SEED.match(value):
            raise self.error(key, said("seq.err.seed", got=repr(value)))
        return value

    def _number(self, p: LabParam, value: Any) -> float | int:
        got = value if isinstance(value, str) else repr(value)  # as the link or message had it
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.error(p.name, said("err.number", got=repr(got))) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(p.name, said("err.number", got=got))
        assert p.min is not None and p.max is not None
        if not math.isfinite(value) or not p.min <= value <= p.max:
            raise self.error(p.name, said("err.between", min=f"{p.min:,g}", max=f"{p.max:,g}",
                                          got=got))
        if p.kind == "float":
            return float(value)
        if value != int(value):
            raise self.error(p.name, said("lab.err.whole", got=got))
        return int(value)

    def parse_link(self, text: str, default: C) -> tuple[C, list[str]]:
        """A link (`?query`, `#hash` or bare `a=1&b=2`) as a page opens it: the config and
        warnings. An unknown key is ignored and a bad value leaves its key at the default, each
        named in a warning; the rest of the link applies."""
        values: dict[str, Any] = {}
        warnings: list[str] = []
        for key, value in split_pairs(text):
            if key == "lang":  # the page's language, not a setting
                continue
            if key not in self.by_name:
                warnings.append(said("lab.warn.unknownKey", key=quoted(key)))
                continue
            try:
                values[key] = self.check(key, value)
            except self.error as err:
                warnings.append(said("lab.warn.atDefault", error=err.message, field=err.key))
        return self.with_changes(default, values), warnings

    def parse_strict(self, url: str, default: C, warn: Callable[[str], None]) -> C:
        """A link for `netplay run`: as `parse_link`, but a bad value is the lab's error (a
        headless run does not silently replace it); unknown keys go to `warn`."""
        query = urlsplit(url).query if "?" in url else url
        values: dict[str, Any] = {}
        for key, value in split_pairs(query):
            if key == "lang":
                continue
            if key not in self.by_name:
                warn(said("lab.warn.unknownKey", key=quoted(key)))
                continue
            values[key] = self.check(key, value)
        return self.with_changes(default, values)

    def within(self, config: C, check: Callable[[C], None], warnings: list[str],
               fallback: C) -> C:
        """`config` with each setting `check` names (a limit it passes) back at its default,
        each named in `warnings` as a bad value in a link is; the rest of the link kept.
        `fallback` when a named setting is none of the table's."""
        for _ in range(len(self.params)):
            try:
                check(config)
                return config
            except self.error as err:
                warnings.append(said("lab.warn.atDefault", error=err.message, field=err.key))
                if err.key not in self.by_name:
                    return fallback
                config = self.with_changes(config, {err.key: self.by_name[err.key].default})
        return fallback

    def schema(self) -> list[dict[str, Any]]:
        return [p.schema() for p in self.params]


def _short(value: Any) -> str:
    """A value as a link writes it: a whole float without its ".0" (`0.0` → `0`)."""
    text = str(value)
    return text[:-2] if isinstance(value, float) and text.endswith(".0") else text


class TableConfig:
    """What a lab's frozen settings dataclass does through its `table`: its dict, its share
    string, a checked change, and its hidden widths (for a lab with a `layers` setting)."""

    table: ClassVar[ParamTable]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @property
    def query(self) -> str:
        return self.table.query(self)

    def with_changes(self, changes: dict[str, Any]) -> Self:
        """A new config with `changes` checked and applied; raises the lab's error."""
        return self.table.with_changes(self, changes)

    @property
    def widths(self) -> list[int]:
        layers: str = getattr(self, "layers", "")
        return [int(s) for s in layers.split(",")] if layers else []
