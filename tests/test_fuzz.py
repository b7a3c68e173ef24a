"""10,000 hostile messages across `/ws` and `/ws/lab` (tests/fuzz_messages.py): every one is
answered with a typed error or a documented reply, nothing is logged as an error, and the
session still trains afterwards."""

from __future__ import annotations

import json
import logging
import time
import zlib
from typing import Any

import pytest
from fuzz_messages import lab_messages, ws_messages
from loopback import LoopbackClient

from server.app import create_app
from server.client import lab_message
from server.frames import FrameError, decode
from server.settings import Settings

WS_COUNT = 8500
BATCH = 25  # /ws messages sent before their answers are read
LAB_COUNT = 1500  # 10,000 in all; a lab message costs three to five times a /ws one

WS_REPLIES = {"hello", "config", "state", "error", "pong"}
WS_CODES = {"bad_json", "bad_message", "bad_value", "too_large", "not_started"}
WS_SILENT = {"ack", "set_weight", "set_bias"}  # no reply (an edit while playing: the next frame)
LAB_REPLIES = {"config", "summary", "state", "error", "pong", "frame", "race_frame",
               "prediction", "dream"}
LAB_CODES = {"bad_json", "bad_message", "bad_value", "too_large", "not_started", "unavailable"}
PAUSE = "\x00pause\x00"  # joins a message and a `pause` sent after it (see Socket)
LAB_SILENT = {"play"}  # on a diverged net `play` changes nothing and says nothing


@pytest.fixture
def fuzz_client(caplog: pytest.LogCaptureFixture):
    """A server without the message-rate limit, its log captured from WARNING up."""
    caplog.set_level(logging.WARNING)
    settings = Settings(workers=2, max_messages_per_second=100_000, idle_timeout_s=600)
    with LoopbackClient(create_app(settings)) as client:
        yield client
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors[:5]]


class Socket:
    """A client that follows each message with a `ping`: what comes before its pong is that
    message's answer (each socket answers a client's messages in order)."""

    def __init__(self, ws: Any, lab: bool = False):
        """`lab`: a `/ws/lab` socket, whose binary messages are read (`lab_message`)."""
        self.ws = ws
        self.lab = lab
        self.sync = 0

    def exchange(self, text: str) -> list[dict[str, Any]]:
        return self.exchange_many([text])[0]

    def exchange_many(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        """Send every message (each with its ping) before reading: no round trip per message.
        A text ending in PAUSE is followed by a `pause`, whose answer counts as the text's."""
        first = self.sync + 1
        for text in texts:
            self.sync += 1
            self.ws.send_text(text.removesuffix(PAUSE))
            if text.endswith(PAUSE):
                self.ws.send_text(json.dumps({"type": "pause"}))
            self.ws.send_text(json.dumps({"type": "ping", "id": f"sync{self.sync}"}))
        answers: list[list[dict[str, Any]]] = []
        replies: list[dict[str, Any]] = []
        while len(answers) < len(texts):
            event = self.ws.receive()
            assert event["type"] == "websocket.send", f"socket closed: {event}"
            if event.get("bytes") is not None and not self.lab:
                replies.append({"type": "_binary", "bytes": event["bytes"]})
                continue
            reply = lab_message(event.get("text") or event["bytes"])
            if reply == {"type": "pong", "id": f"sync{first + len(answers)}"}:
                answers.append(replies)
                replies = []
            else:
                replies.append(reply)
        return answers


def _check(replies: list[dict[str, Any]], kind: str, text: str, documented: set[str],
           codes: set[str], silent: set[str]) -> int:
    """Asserts each reply is documented and each error typed; returns the number of errors."""
    shown = text[:160]
    assert replies or kind in silent, f"no reply to {shown}"
    errors = 0
    for reply in replies:
        if reply["type"] == "_binary":
            continue
        assert reply["type"] in documented, (reply, shown)
        if reply["type"] == "error":
            errors += 1
            assert reply["code"] in codes, (reply, shown)
            assert isinstance(reply["message"], str) and reply["message"], (reply, shown)
            assert reply["field"] is None or isinstance(reply["field"], str), (reply, shown)
    return errors


def _header(data: bytes) -> dict[str, Any]:
    try:
        return decode(data)[0]
    except FrameError:  # a fuzzed `start` asked for raw DEFLATE frames
        return decode(zlib.decompress(data, wbits=-15))[0]


def _is_step(text: str) -> bool:
    """Whether the server reads `text` as a step (a garbled one can be: duplicate keys)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(message, dict) and message.get("type") == "step"


def _next_binary(ws: Any) -> bytes:
    """The next binary frame, skipping the text messages before it."""
    while True:
        event = ws.receive()
        assert event["type"] == "websocket.send", f"socket closed: {event}"
        if event.get("bytes") is not None:
            return event["bytes"]


def test_ws_answers_a_barrage_of_hostile_messages_and_still_trains(fuzz_client):
    started = time.perf_counter()
    with fuzz_client.websocket_connect("/ws") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        s = Socket(ws)
        s.exchange(json.dumps({"type": "start", "config": {}}))
        errors = 0
        messages = ws_messages(seed=19, count=WS_COUNT)
        for k in range(0, WS_COUNT, BATCH):
            batch = messages[k:k + BATCH]
            # A `step` trains beside the receive loop, so a `ping` may overtake its frame; a
            # `pause` after it ends it (its frame first) before the ping, as documented.
            texts = [t + PAUSE if _is_step(t) else t for _, t in batch]
            for (kind, text), replies in zip(batch, s.exchange_many(texts), strict=True):
                errors += _check(replies, kind, text, WS_REPLIES, WS_CODES, WS_SILENT)
        # Still trains: back to sane rates and the seed's weights, then two more epochs.
        s.exchange(json.dumps({"type": "pause"}))
        s.exchange(json.dumps({"type": "update", "changes": {
            "learningRate": 0.03, "regularizationRate": 0, "batchSize": 10, "numSamples": 200}}))
        s.exchange(json.dumps({"type": "reset"}))
        ws.send_text(json.dumps({"type": "step", "n": 2}))
        frame = _header(_next_binary(ws))
        assert (frame["epoch"], frame["state"]) == (2, "paused")
    assert errors > WS_COUNT // 2  # most of the barrage is refused, by code
    print(f"/ws: {WS_COUNT} messages, {errors} errors, {time.perf_counter() - started:.1f} s")


def test_lab_answers_a_barrage_of_hostile_messages_and_still_trains(fuzz_client):
    started = time.perf_counter()
    with fuzz_client.websocket_connect("/ws/lab") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        s = Socket(ws, lab=True)
        replies = s.exchange(json.dumps({"type": "start", "config": {"preset": "mlp"}}))
        assert [r["type"] for r in replies] == ["config", "frame", "state"]
        errors = 0
        # One at a time: the lab answers a message it cannot parse at once, but the others from
        # its session thread, so a batch's answers could cross the pings.
        for kind, text in lab_messages(seed=19, count=LAB_COUNT):
            errors += _check(s.exchange(text), kind, text, LAB_REPLIES, LAB_CODES, LAB_SILENT)
        s.exchange(json.dumps({"type": "race", "action": "stop"}))
        s.exchange(json.dumps({"type": "update", "changes": {"learningRate": 0.003}}))
        s.exchange(json.dumps({"type": "reset"}))
        frames = [r for r in s.exchange(json.dumps({"type": "step", "n": 3}))
                  if r["type"] == "frame"]
        assert frames and frames[-1]["steps"] == 3
    assert errors > LAB_COUNT // 2
    print(f"/ws/lab: {LAB_COUNT} messages, {errors} errors, {time.perf_counter() - started:.1f} s")
