"""A seeded generator of hostile client messages for `/ws` (docs/protocol.md) and `/ws/lab`
(docs/lab-protocol.md): every message type of each socket, with huge, tiny, negative,
non-finite, wrong-typed, deeply nested, oversized and garbage values, and now and then a valid
one so that the session has something to act on.

Messages are raw JSON text, so that tokens `json.dumps` cannot write (a 5,000-digit integer,
`NaN`, nesting 1,000 deep, broken syntax) reach the server as an attacker would send them.
"""

from __future__ import annotations

import json
import random
from typing import Any

from playground_models.imagelab.config import LAB_PARAMS
from playground_models.params import PARAMS


class Raw:
    """A JSON token written as is."""

    def __init__(self, text: str):
        self.text = text


def dumps(value: Any) -> str:
    """JSON text with every `Raw` written verbatim."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value))
    for k, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{k}\x00"), raw)
    return text


HUGE = [10**30, 2**63, -(2**63) - 1, 2**64, 2**31, -(2**31) - 1, 10**308, -(10**308),
        Raw("9" * 5000), Raw("-" + "1" * 400), Raw("1" * 309)]
TINY = [0, -1, -0.0, 5e-324, 1e-320, 1e-7, -1e-300]
FLOATS = [1e308, -1e308, 1.5, 0.5, Raw("1e999"), Raw("-1e999"), Raw("1E400")]
NON_FINITE = [Raw("NaN"), Raw("Infinity"), Raw("-Infinity")]
WRONG = ["5", "", "x" * 300, True, False, None, [], {}, [1, 2], {"a": 1}, [[0, 0, 0]], "NaN"]
NESTED = [Raw("[" * 40 + "]" * 40), Raw("[" * 1000 + "]" * 1000),
          Raw('{"a":' * 200 + "1" + "}" * 200)]
VALUES = HUGE + TINY + FLOATS + NON_FINITE + WRONG + NESTED
GARBAGE = ["", "{", "}", "[]", "null", "1", '"start"', "{'type': 'start'}", '{"type":', "\ufeff{}",
           '{"type": "ping"} trailing', '{"type": "ping", "type": "step"}', "[" * 5000,
           '{"type": "' + "x" * 80 + '"}', "\x00\x01", "true"]

# Field → valid values, per message type. Values are small on purpose (see `lab_message`).
WS_FIELDS: dict[str, dict[str, list[Any]]] = {
    "start": {"config": [{}], "url": ["", "learningRate=0.1"], "compression": ["deflate-raw"]},
    "update": {"changes": [{"learningRate": 0.1}, {}]},
    "play": {}, "pause": {}, "reset": {}, "snapshot": {},
    "step": {"n": [1, 2]},
    "reseed": {"seed": ["abc", "7"]},
    "speed": {"steps_per_frame": [1, 25]},
    "set_weight": {"layer": [0], "to": [0, 1], "from": [0, 1], "value": [0.5]},
    "set_bias": {"layer": [0, 1], "to": [0], "value": [-0.5]},
    "ping": {"id": [1, "a"]},
    "ack": {"seq": [0, 3]},
}
LAB_FIELDS: dict[str, dict[str, list[Any]]] = {
    # Valid lab starts and updates are a small net on the small data set only: big nets
    # allocate real memory and take seconds to build (the lab's size limits refuse them), and
    # the barrage must stay fast on a loaded two-core machine.
    "start": {"config": [{"preset": "mlp", "data": "digits"}],
              "url": ["preset=mlp&data=digits"]},
    "update": {"changes": [{"learningRate": 0.01}, {"batchSize": 16}]},
    "play": {}, "pause": {}, "reset": {},
    "step": {"n": [1]},
    "select": {"example": [0, 3]},
    "predict": {"size": [8], "pixels": ["A" * 86 + "=="], "id": [1]},
    "dream": {"layer": [1], "unit": [0]},
    "race": {"action": ["stop"]},
    "ping": {"id": [1, "a"]},
}
WS_PARAMS = [p.name for p in PARAMS]
LAB_PARAMS_NAMES = [p.name for p in LAB_PARAMS] + ["preset"]
# Messages that start costly work when valid: sent valid only rarely.
HEAVY = {"start", "step", "play", "dream", "race", "predict", "reseed", "update", "reset"}


def _hostile(rng: random.Random) -> Any:
    return rng.choice(VALUES)


def _config_values(rng: random.Random, names: list[str]) -> dict[str, Any]:
    return {rng.choice(names + ["unknown", ""]): _hostile(rng) for _ in range(rng.randint(1, 3))}


def _url(rng: random.Random, names: list[str]) -> str:
    value = rng.choice(["9" * 30, str(2**63), "1" * 400, "NaN", "inf", "-1", "1e999",
                        "0,0," + "9" * 23, "x", "", "%00", "1;2;3"])
    return f"{rng.choice(names)}={value}&{rng.choice(names)}={value},{value}"


def message(rng: random.Random, fields: dict[str, dict[str, list[Any]]],
            names: list[str]) -> tuple[str, str]:
    """One message as (its type, its JSON text)."""
    roll = rng.random()
    if roll < 0.04:
        return "garbage", rng.choice(GARBAGE)
    if roll < 0.06:
        return "oversized", dumps({"type": "ping", "id": "x" * rng.choice([70_000, 200_000])})
    kind = rng.choice(sorted(fields))
    spec = fields[kind]
    msg: dict[str, Any] = {"type": kind}
    for name, good in spec.items():
        if rng.random() < 0.7:
            msg[name] = rng.choice(good)
    if rng.random() < (0.97 if kind in HEAVY else 0.8):
        # Corrupt one field (or add an unknown one, or the type itself).
        target = rng.choice([*spec, "extra", "type"] if spec else ["extra", "type", "none"])
        if target == "type":
            msg["type"] = rng.choice([_hostile(rng), kind.upper(), kind + " "])
        elif target == "extra":
            msg[rng.choice(["extra", "n", "id", "config"])] = _hostile(rng)
        elif target in ("config", "changes"):
            msg[target] = _config_values(rng, names) if rng.random() < 0.8 else _hostile(rng)
        elif target == "url":
            msg[target] = _url(rng, names) if rng.random() < 0.8 else _hostile(rng)
        elif target != "none":
            msg[target] = _hostile(rng)
    if kind == "start" and "config" in msg and "url" in msg and rng.random() < 0.5:
        del msg["url"]
    return kind, dumps(msg)


def ws_messages(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [message(rng, WS_FIELDS, WS_PARAMS) for _ in range(count)]


def lab_messages(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [message(rng, LAB_FIELDS, LAB_PARAMS_NAMES) for _ in range(count)]
