"""`LoopbackClient`: Starlette's TestClient reaching the app as http://127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.client import lab_message

LOOPBACK = "http://127.0.0.1"
LOOPBACK_WS = "ws://127.0.0.1"


class LoopbackClient(TestClient):
    """A TestClient that reaches the app as http://127.0.0.1, as a browser on this machine
    does. TestClient's own name, `testserver`, is not one the server answers to (it refuses
    unknown Host names, against DNS rebinding), and its WebSockets ignore `base_url`."""

    def __init__(self, app: Any, **kwargs: Any):
        super().__init__(app, base_url=LOOPBACK, **kwargs)

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().websocket_connect(urljoin(LOOPBACK_WS, url), *args, **kwargs)


def receive_lab(ws: Any) -> dict[str, Any]:
    """The next `/ws/lab` message of a TestClient socket as a dict (`server.client.lab_message`:
    JSON text, or a binary message with its arrays in place)."""
    event = ws.receive()
    if event["type"] == "websocket.close":
        raise AssertionError(f"the lab socket closed: {event}")
    return lab_message(event["text"] if event.get("text") is not None else event["bytes"])


def lab_until(ws: Any, kind: str, limit: int = 200) -> dict[str, Any]:
    """The next message of `kind` on a lab socket, skipping up to `limit` others."""
    for _ in range(limit):
        message = receive_lab(ws)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


def lab_started(ws: Any, url: str, server: str, lang: str = "en"
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A lab socket after `hello` (from `server`) and a `start` from `url`: its `config` and
    first `frame`, the run paused."""
    hello = receive_lab(ws)
    assert hello["type"] == "hello" and hello["server"] == server
    ws.send_json({"type": "start", "url": url, "lang": lang})
    config = lab_until(ws, "config")
    frame = lab_until(ws, "frame")
    assert lab_until(ws, "state")["state"] == "paused"
    return config, frame


@contextmanager
def router_client(router: Any) -> Iterator[TestClient]:
    """A TestClient of a bare app with one lab's `router`, torch on one thread as the server's
    workers run."""
    torch.set_num_threads(1)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        yield client
