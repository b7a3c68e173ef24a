"""Shared fixtures for the server tests: an app with small limits and a WebSocket reader."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loopback import LoopbackClient

from server.app import create_app
from server.frames import decode
from server.settings import Settings

# The attack tests' server fixtures (a real `netplay serve`, started only when a test asks).
pytest_plugins = ("attack_bars",)




@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """`make_client(max_sessions=1, ...)`: a TestClient on an app with those settings."""
    opened: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        client = LoopbackClient(create_app(Settings(**{"workers": 2, **settings})))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class Reader:
    """Reads a TestClient WebSocket: JSON messages as dicts, binary ones decoded."""

    def __init__(self, ws: Any):
        self.ws = ws

    def next(self) -> dict[str, Any]:
        """The next message; binary ones come back as their header plus `_arrays`."""
        event = self.ws.receive()
        if event["type"] == "websocket.close":
            return {"type": "_closed", "code": event.get("code")}
        if event.get("bytes") is not None:
            header, arrays = decode(event["bytes"])
            return {**header, "_arrays": arrays}
        return json.loads(event["text"])

    def until(self, kind: str, limit: int = 2000) -> dict[str, Any]:
        """Skip messages (frames of a running session, mostly) until one of type `kind`."""
        for _ in range(limit):
            msg = self.next()
            if msg["type"] == kind:
                return msg
            if msg["type"] in ("_closed", "error") and kind not in ("_closed", "error"):
                raise AssertionError(f"wanted {kind}, got {msg}")
        raise AssertionError(f"no {kind} within {limit} messages")

    def send(self, **message: Any) -> None:
        self.ws.send_text(json.dumps(message))

    def start(self, **config: Any) -> dict[str, Any]:
        """Start with `config`; returns the first frame after checking the reply sequence."""
        self.send(type="start", config=config)
        assert self.next()["type"] == "config"
        assert self.next()["type"] == "data"
        frame = self.next()
        assert frame["type"] == "frame"
        assert self.next() == {"type": "state", "state": "paused", "epoch": 0,
                               "steps_per_frame": frame["steps_per_frame"]}
        return frame


@pytest.fixture
def open_session(client: TestClient) -> Iterator[Callable[..., Reader]]:
    """`open_session()` → a connected `Reader` whose `hello` was already read."""
    contexts = []

    def connect(on: TestClient | None = None) -> Reader:
        ctx = (on or client).websocket_connect("/ws")
        reader = Reader(ctx.__enter__())
        contexts.append(ctx)
        hello = reader.next()
        assert hello["type"] == "hello"
        return reader

    yield connect
    for ctx in reversed(contexts):
        ctx.__exit__(None, None, None)


@pytest.fixture
def read_ws() -> Callable[[Any], Reader]:
    """`read_ws(ws)`: a `Reader` over a socket the test opened itself (a path other than /ws)."""
    return Reader
