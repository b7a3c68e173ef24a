"""Client messages of docs/protocol.md as pydantic models, and parsing that names the bad field.

Parsing never raises anything but `ProtocolError`, whatever the bytes: broken JSON, NaN, deep
nesting, wrong types, unknown fields and unknown message types all become an error reply with
a code and the field at fault, and the session goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1

# Longest seed a `reseed` may carry; the parameter table checks the characters.
MAX_SEED_CHARS = 32
# Most digits of a JSON integer: every integer up to 308 digits converts to a double, none of
# 310 does, and past 4,300 Python's own parser fails. Bigger ones are refused by field.
MAX_INT_DIGITS = 308
# Largest index or counter a message may carry: a C int, so no index reaches numpy or torch
# out of range whatever the model's size (the model checks the real bound).
MAX_INDEX = 2**31 - 1
# Largest integer a JSON `id` may carry: above 2**53 a browser reads another number back.
MAX_SAFE_INT = 2**53 - 1
DEFAULT_MAX_DEPTH = 32  # the `max_json_depth` setting's default, for parsers run without settings


class ProtocolError(Exception):
    """A client message the server cannot use. Becomes an `error` message; nothing changes."""

    def __init__(self, code: str, field: str | None, message: str):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def reply(self) -> dict[str, Any]:
        return {"type": "error", "code": self.code, "field": self.field, "message": self.message}


class _Message(BaseModel):
    # Strict: "5" is not 5 and true is not 1, so a confused client hears about it.
    # Extra fields are refused rather than ignored, so a typo never passes silently.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Start(_Message):
    type: Literal["start"]
    config: dict[str, Any] | None = None
    url: str | None = Field(None, max_length=65_536)
    # "deflate-raw": every binary message from here on is one raw DEFLATE stream (RFC 1951).
    compression: Literal["deflate-raw"] | None = None


class Update(_Message):
    type: Literal["update"]
    changes: dict[str, Any]


class Play(_Message):
    type: Literal["play"]


class Pause(_Message):
    type: Literal["pause"]


class Step(_Message):
    type: Literal["step"]
    n: int = Field(1, ge=1)  # upper bound is a server setting, checked by the session


class Reset(_Message):
    type: Literal["reset"]


class Reseed(_Message):
    type: Literal["reseed"]
    seed: str | None = Field(None, min_length=1, max_length=MAX_SEED_CHARS)


class Rewind(_Message):
    type: Literal["rewind"]
    epoch: int = Field(ge=0, le=MAX_SAFE_INT)  # at most the run's epoch, checked by the session


class Undo(_Message):
    type: Literal["undo"]


class ShareLive(_Message):
    type: Literal["share_live"]
    name: str = Field("", max_length=40)  # who is teaching, shown to the viewers


class StopSharing(_Message):
    type: Literal["stop_sharing"]


class Speed(_Message):
    type: Literal["speed"]
    steps_per_frame: int = Field(ge=1)  # upper bound is a server setting


class Snapshot(_Message):
    type: Literal["snapshot"]


class Save(_Message):
    type: Literal["save"]


class Load(_Message):
    type: Literal["load"]
    data: str  # a network file (playground_models/netfile.py), base64; within max_message_bytes
    name: str = Field("", max_length=200)


class Ack(_Message):
    type: Literal["ack"]
    seq: int = Field(ge=0, le=MAX_SAFE_INT)  # the last frame the client has drawn


# An index of a hand edit, bounded to a C int here; the trainer checks it against the model
# (a negative one is reported there, by the model's real bounds).
EditIndex = Annotated[int, Field(ge=-MAX_INDEX - 1, le=MAX_INDEX)]


class SetWeight(_Message):
    """One weight set by hand: W[layer][to, from] (layer 0 reads the input features).

    Only the types and a C int's range are checked here: the bounds depend on the model, so
    the trainer checks them and names the field at fault.
    """

    type: Literal["set_weight"]
    layer: EditIndex
    to: EditIndex
    from_: EditIndex = Field(alias="from")
    value: float


class SetBias(_Message):
    """One bias set by hand: b[layer][to]."""

    type: Literal["set_bias"]
    layer: EditIndex
    to: EditIndex
    value: float


class Ping(_Message):
    type: Literal["ping"]
    id: Any = None


ClientMessage = Annotated[
    Start | Update | Play | Pause | Step | Reset | Reseed | Rewind | Undo | ShareLive
    | StopSharing | Speed | Snapshot | SetWeight | SetBias | Save | Load | Ping | Ack,
    Field(discriminator="type"),
]
MESSAGE_TYPES = ("start", "update", "play", "pause", "step", "reset", "reseed", "rewind", "undo",
                 "share_live", "stop_sharing", "speed", "snapshot", "set_weight", "set_bias",
                 "save", "load", "ping", "ack")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)

# pydantic error types that mean "right type, value out of range": reported as `bad_value`.
_RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal",
    "string_too_short", "string_too_long", "too_short", "too_long",
})


class _HugeInt:
    """Stands in for an integer of more than `MAX_INT_DIGITS` digits until its field is known."""

    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str) -> int | _HugeInt:
    digits = len(text.lstrip("-"))
    return _HugeInt(digits) if digits > MAX_INT_DIGITS else int(text)


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity by default; the protocol is strict JSON.
    raise ValueError(f"{name} is not JSON")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth` (strings skipped).

    Checked before parsing: the C parser recurses once per level, so a message of a few
    kilobytes of `[` would otherwise reach the interpreter's recursion limit."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # the common case, in two C-speed scans
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def _find_huge(value: Any, key: str | None = None) -> tuple[str | None, int] | None:
    """The innermost object key above the first oversized integer, and its digit count."""
    if isinstance(value, _HugeInt):
        return key, value.digits
    items: Iterable[tuple[str | None, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((key, v) for v in value)  # a list entry is named by the list's key
    else:
        return None
    for k, v in items:
        found = _find_huge(v, k)
        if found is not None:
            return found
    return None


def load_json(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Strict, bounded JSON, or `ProtocolError`.

    `bad_json`: not JSON, a `NaN`/`Infinity` token, or arrays and objects nested deeper than
    `max_depth`. `bad_value`, naming the innermost key: an integer of more than
    `MAX_INT_DIGITS` digits (no double holds it). Never raises anything else, whatever the text.
    """
    if _too_deep(text, max_depth):
        raise ProtocolError("bad_json", None,
                            f"message is nested too deeply (at most {max_depth} levels)")
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError:
        raise ProtocolError("bad_json", None, "message is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError is a ValueError
        raise ProtocolError("bad_json", None, f"message is not valid JSON: {err}") from None
    huge = _find_huge(data)
    if huge is not None:
        field, digits = huge
        raise ProtocolError("bad_value", field, f"{field or 'a number'}: an integer of {digits} "
                            f"digits is out of range (at most {MAX_INT_DIGITS})")
    return data


# An ack as clients write it, `{"type":"ack","seq":12}`, spaced or not: read without the JSON
# parser and the validator, since every frame of every session brings one. Any other spelling
# (keys the other way round, a seq out of range) goes the whole way and gets its usual answer.
_WS = "[ \t\n\r]*"  # between the tokens: JSON's whitespace, and no other
_ACK = re.compile(rf'\{{{_WS}"type"{_WS}:{_WS}"ack"{_WS},{_WS}"seq"{_WS}:{_WS}'
                  rf'(0|[1-9][0-9]{{0,15}}){_WS}\}}')


def parse_message(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> BaseModel:
    """One text message → a typed client message, or `ProtocolError` naming the field."""
    ack = _ACK.fullmatch(text)
    if ack is not None and int(ack[1]) <= MAX_SAFE_INT:
        return Ack.model_construct(type="ack", seq=int(ack[1]))
    data = load_json(text, max_depth)
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", None, "a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind not in MESSAGE_TYPES:
        shown = repr(kind)[:40]
        raise ProtocolError(
            "bad_message", "type",
            f"unknown message type {shown}; expected one of {', '.join(MESSAGE_TYPES)}",
        )
    try:
        message = _ADAPTER.validate_python(data)
    except ValidationError as err:
        raise _from_validation(err) from None
    if isinstance(message, Start) and (message.config is None) == (message.url is None):
        raise ProtocolError("bad_message", "config", "start needs exactly one of config or url")
    return message


def _from_validation(err: ValidationError) -> ProtocolError:
    first = err.errors(include_url=False)[0]
    # The first location entry is the union tag (the message type); the next is the field.
    loc = [str(part) for part in first["loc"][1:]] or [str(first["loc"][0])]
    field = ".".join(loc)
    code = "bad_value" if first["type"] in _RANGE_ERRORS else "bad_message"
    if first["type"] == "extra_forbidden":
        return ProtocolError(code, field, f"{field} is not a field of this message")
    return ProtocolError(code, field, f"{field}: {first['msg']}")
