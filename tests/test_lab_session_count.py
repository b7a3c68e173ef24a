"""The image lab's sessions live in the app's registry of their kind: `/api/health` counts
them, and `lab_max_sessions` caps the lab's sessions of every process sharing the board."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from loopback import LoopbackClient, receive_lab

from server.admission import SessionBoard
from server.app import create_app
from server.settings import Settings


def _health(client: LoopbackClient) -> dict:
    return client.get("/api/health").json()


def test_health_counts_a_lab_session_while_it_is_open(make_client):
    client = make_client()
    assert (_health(client)["lab_sessions"], _health(client)["lab_sessions_per_process"]) == (
        0, [0])
    with client.websocket_connect("/ws/lab") as ws:
        assert receive_lab(ws)["type"] == "hello"
        health = _health(client)
        assert (health["lab_sessions"], health["lab_sessions_per_process"]) == (1, [1])
        assert health["sessions"] == 0  # a lab session is not a /ws one
    deadline = time.monotonic() + 10  # the handler ends once the socket's close is read
    while _health(client)["lab_sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _health(client)["lab_sessions"] == 0


@pytest.fixture
def board() -> Iterator[str]:
    path = SessionBoard.create(1)  # two slots: this app's, and one standing for another process
    yield path
    os.unlink(path)


def test_the_lab_cap_counts_the_other_processes_lab_sessions(board):
    other = SessionBoard(board)  # another slot of the same file, as a second process has
    other.publish(2, "lab")
    other.publish(5, "ws")
    app = create_app(Settings(workers=2, lab_max_sessions=2, max_sessions=64),
                     SessionBoard(board))
    with LoopbackClient(app) as client:
        health = _health(client)
        assert (health["lab_sessions"], sorted(health["lab_sessions_per_process"])) == (2, [0, 2])
        assert health["sessions"] == 5
        with client.websocket_connect("/ws/lab") as ws:  # the lab is full, server-wide
            refusal = receive_lab(ws)
            assert (refusal["type"], refusal["code"]) == ("error", "too_many_sessions")
        with client.websocket_connect("/ws") as ws:  # /ws has its own cap and count
            assert receive_lab(ws)["type"] == "hello"
        other.publish(1, "lab")  # one of the other process's lab sessions ended
        with client.websocket_connect("/ws/lab") as ws:
            assert receive_lab(ws)["type"] == "hello"
            assert _health(client)["lab_sessions"] == 2
            assert other.counts("lab") == app.state.lab_registry.per_process()
