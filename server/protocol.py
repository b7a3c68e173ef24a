"""Client messages of docs/protocol.md as pydantic models, and parsing that names the bad field.

Parsing never raises anything but `ProtocolError`, whatever the bytes: broken JSON, NaN, deep
nesting, wrong types, unknown fields and unknown message types all become an error reply with
a code and the field at fault, and the session goes on.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1

# Longest seed a `reseed` may carry; the parameter table checks the characters.
MAX_SEED_CHARS = 32


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


class Speed(_Message):
    type: Literal["speed"]
    steps_per_frame: int = Field(ge=1)  # upper bound is a server setting


class Snapshot(_Message):
    type: Literal["snapshot"]


class Ack(_Message):
    type: Literal["ack"]
    seq: int = Field(ge=0)  # the last frame the client has drawn


class SetWeight(_Message):
    """One weight set by hand: W[layer][to, from] (layer 0 reads the input features).

    Only the types are checked here: the bounds depend on the model, so the trainer checks
    them and names the field at fault.
    """

    type: Literal["set_weight"]
    layer: int
    to: int
    from_: int = Field(alias="from")
    value: float


class SetBias(_Message):
    """One bias set by hand: b[layer][to]."""

    type: Literal["set_bias"]
    layer: int
    to: int
    value: float


class Ping(_Message):
    type: Literal["ping"]
    id: Any = None


ClientMessage = Annotated[
    Start | Update | Play | Pause | Step | Reset | Reseed | Speed | Snapshot | SetWeight
    | SetBias | Ping | Ack,
    Field(discriminator="type"),
]
MESSAGE_TYPES = ("start", "update", "play", "pause", "step", "reset", "reseed", "speed",
                 "snapshot", "set_weight", "set_bias", "ping", "ack")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientMessage)

# pydantic error types that mean "right type, value out of range": reported as `bad_value`.
_RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal",
    "string_too_short", "string_too_long", "too_short", "too_long",
})


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity by default; the protocol is strict JSON.
    raise ValueError(f"{name} is not JSON")


def load_json(text: str) -> Any:
    """Strict JSON, or `ProtocolError(bad_json)`."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ProtocolError("bad_json", None, "message is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError is a ValueError
        raise ProtocolError("bad_json", None, f"message is not valid JSON: {err}") from None


def parse_message(text: str) -> BaseModel:
    """One text message → a typed client message, or `ProtocolError` naming the field."""
    data = load_json(text)
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
