"""Limits: sessions, message size and rate, idle time, model and data size, churn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from starlette.websockets import WebSocketDisconnect

from server.admission import SessionBoard
from server.settings import SettingsError, load


def test_too_many_sessions_is_an_error_then_close_1013(make_client, open_session):
    client = make_client(max_sessions=1)
    first = open_session(client)
    with client.websocket_connect("/ws") as ws:
        err = ws.receive_json()
        assert (err["code"], err["field"]) == ("too_many_sessions", None)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1013
    first.send(type="ping", id=1)  # the first session is untouched
    assert first.next()["type"] == "pong"


def test_oversized_messages_are_refused_and_the_session_goes_on(make_client, open_session):
    s = open_session(make_client(max_message_bytes=1024))
    s.start()
    for size in (2000, 1_000_000):
        s.ws.send_text(json.dumps({"type": "ping", "id": "x" * size}))
        err = s.next()
        assert err["code"] == "too_large" and "1024" in err["message"]
    s.send(type="step", n=1)
    assert s.next()["epoch"] == 1


def test_a_flood_is_rate_limited_then_recovers(make_client, open_session):
    s = open_session(make_client(max_messages_per_second=10))
    for i in range(40):
        s.send(type="ping", id=i)
    replies = [s.next() for _ in range(40)]
    limited = [r for r in replies if r["type"] == "error"]
    assert len(limited) >= 15 and {r["code"] for r in limited} == {"rate_limited"}
    assert replies[0] == {"type": "pong", "id": 0}  # the burst allowance came first
    time.sleep(0.3)
    s.send(type="ping", id="again")
    assert s.next() == {"type": "pong", "id": "again"}


def test_idle_sessions_are_closed(make_client):
    client = make_client(idle_timeout_s=0.3)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        err = ws.receive_json()
        assert err["code"] == "idle_timeout"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1000
    assert client.get("/api/health").json()["sessions"] == 0


def test_model_and_data_size_limits_name_the_field(make_client, open_session):
    s = open_session(make_client(max_parameters=50, max_samples=300))
    s.send(type="start", config={"networkShape": [8, 8], "numSamples": 200})
    err = s.next()
    assert (err["code"], err["field"]) == ("bad_value", "networkShape")
    assert "50" in err["message"]
    s.send(type="start", config={"numSamples": 400})
    assert s.next()["field"] == "numSamples"
    s.start(numSamples=300)
    s.send(type="update", changes={"networkShape": [10]})
    assert s.next()["field"] == "networkShape"


def test_500_malformed_messages_each_get_an_error_and_training_goes_on(make_client, open_session):
    s = open_session(make_client(max_messages_per_second=100_000))
    s.start()
    bad = ['{"type":', "NaN", '{"type":"step","n":-1}', '{"type":"step","n":1e999}',
           '{"type":"warp"}', '{"type":"update","changes":{"learningRate":"fast"}}',
           '{"type":"speed","steps_per_frame":99999999999999999999}', "x" * 70_000,
           '{"type":"update","changes":{"learningRate":1e308}}', "null"]
    for i in range(500):
        s.ws.send_text(bad[i % len(bad)])
    replies = [s.next() for _ in range(500)]
    assert all(r["type"] == "error" for r in replies)
    s.send(type="step", n=2)
    assert s.next()["epoch"] == 2


def test_connect_disconnect_cycles_leave_no_session(client):
    for _ in range(100):
        with client.websocket_connect("/ws") as ws:
            ws.receive_json()
            ws.send_text('{"type":"start","config":{"gridSize":20}}')
            ws.receive_json()
    assert client.get("/api/health").json()["sessions"] == 0


def test_settings_come_from_environment_and_name_bad_values():
    s = load({"NETPLAY_MAX_SESSIONS": "3", "NETPLAY_ALLOWED_ORIGINS": "https://a.example/"})
    assert s.max_sessions == 3 and s.allowed_origins == ("https://a.example",)
    with pytest.raises(SettingsError, match="NETPLAY_MAX_FPS"):
        load({"NETPLAY_MAX_FPS": "-1"})


def test_the_session_board_counts_live_processes_and_reuses_dead_ones_slots():
    path = SessionBoard.create(1)  # two slots
    try:
        mine = SessionBoard(path)
        mine.publish(2)
        other = (
            "import sys; from server.admission import SessionBoard;"
            "b = SessionBoard(sys.argv[1]); b.publish(4); print('up', flush=True);"
            "sys.stdin.readline()"
        )
        child = subprocess.Popen([sys.executable, "-c", other, path], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
        try:
            assert child.stdout.readline().strip() == "up"
            assert mine.counts() == [2, 4] and mine.total() == 6
        finally:
            child.communicate("\n", timeout=30)
        assert mine.total() == 2  # the child is gone: its sessions are too
        again = SessionBoard(path)  # takes the dead child's slot
        again.publish(1)
        assert mine.total() == 3
        with pytest.raises(RuntimeError, match="no free slot"):
            SessionBoard(path)
    finally:
        os.unlink(path)
