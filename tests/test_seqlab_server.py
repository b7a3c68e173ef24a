"""The sequence lab over its socket (TestClient): start from a link, live and rebuilding
updates, frames with the inside views, the RNN-vs-LSTM comparison, bad input as named errors,
the session cap; its page and settings API; `netplay run` of a sequence link."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loopback import receive_lab

from playground_models.seqlab.findings import FINDINGS
from server.cli import main
from server.seqlab import parse_client_message, router, seq_registry


@pytest.fixture(scope="module")
def client():
    torch.set_num_threads(1)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def _arrays(value):
    """A message with each array as its numpy array (`lab_message` gives dtype, shape, array)."""
    if isinstance(value, dict):
        if set(value) == {"dtype", "shape", "array"}:
            return value["array"]
        return {k: _arrays(v) for k, v in value.items()}
    return value


def _until(ws, kind: str, limit: int = 60) -> dict:
    for _ in range(limit):
        message = _arrays(receive_lab(ws))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


def _started(ws, url: str) -> tuple[dict, dict]:
    assert receive_lab(ws)["type"] == "hello"
    ws.send_json({"type": "start", "url": url})
    config = _until(ws, "config")
    frame = _until(ws, "frame")
    assert _until(ws, "state")["state"] == "paused"
    return config, frame


def test_a_link_opens_with_its_settings_and_a_frame_of_the_inside_views(client):
    with client.websocket_connect("/ws/seq") as ws:
        config, frame = _started(ws, "task=remember&cell=lstm&length=12&hidden=8&seed=3")
        assert config["config"]["length"] == 12 and config["config"]["hidden"] == 8
        assert config["query"].startswith("task=remember&cell=lstm&length=12&")
        assert frame["steps"] == 0 and frame["train"] == {"loss": None, "acc": None}
        assert frame["hidden"].shape == (13, 8)  # T = N + 1 steps × the hidden units
        assert frame["grad"].shape == (13,) and frame["gates"].shape == (3, 13)
        assert np.all((frame["gates"] > 0) & (frame["gates"] < 1))  # sigmoids
        assert 0.0 <= frame["test"]["acc"] <= 1.0


def test_bad_values_in_a_link_open_at_their_defaults_and_are_named(client):
    with client.websocket_connect("/ws/seq") as ws:
        config, _ = _started(ws, "cell=lstmm&length=900&hidden=8&colour=red")
        c = config["config"]
        assert (c["cell"], c["length"], c["hidden"]) == ("lstm", 20, 8)
        text = "; ".join(config["warnings"])
        assert "cell: must be one of rnn, gru, lstm" in text and "length: must be between 1" in text
        assert "unknown key 'colour'" in text


def test_warnings_are_said_in_the_page_language(client):
    with client.websocket_connect("/ws/seq") as ws:
        assert receive_lab(ws)["type"] == "hello"
        ws.send_json({"type": "start", "url": "length=0&hidden=8", "lang": "zh"})
        config = _until(ws, "config")
        assert config["config"]["length"] == 20
        assert "默认" in config["warnings"][0] and config["warnings"][0].startswith("length")


def test_a_live_change_keeps_the_weights_and_a_rebuild_starts_again(client):
    with client.websocket_connect("/ws/seq") as ws:
        _started(ws, "length=5&hidden=8&cell=gru")
        ws.send_json({"type": "step", "n": 20})
        assert _until(ws, "frame")["steps"] == 20
        ws.send_json({"type": "update", "changes": {"learningRate": 0.03, "clip": 0.5}})
        live = _until(ws, "config")
        assert live["changed"] == ["clip", "learningRate"] and "rebuilt" not in live
        ws.send_json({"type": "step", "n": 1})
        assert _until(ws, "frame")["live"]["learningRate"] == 0.03
        assert _until(ws, "state")["state"] == "paused"
        ws.send_json({"type": "update", "changes": {"hidden": 4}})
        rebuilt = _until(ws, "config")
        assert rebuilt["rebuilt"] and rebuilt["config"]["hidden"] == 4
        frame = _until(ws, "frame")
        assert frame["steps"] == 0 and frame["hidden"].shape == (6, 4)
        assert "gates" not in frame  # a GRU's gates are not drawn


def test_bad_messages_get_named_errors_and_the_session_goes_on(client):
    with client.websocket_connect("/ws/seq") as ws:
        assert receive_lab(ws)["type"] == "hello"
        ws.send_json({"type": "play"})
        assert _until(ws, "error")["code"] == "not_started"
        ws.send_json({"type": "start", "config": {"hidden": 8, "length": 4}})
        _until(ws, "state")
        ws.send_json({"type": "update", "changes": {"hidden": 9999}})
        error = _until(ws, "error")
        assert (error["code"], error["field"]) == ("bad_value", "hidden")
        ws.send_json({"type": "compare", "action": "race"})
        assert _until(ws, "error")["field"] == "action"
        ws.send_text("{not json")
        assert _until(ws, "error")["code"] == "bad_json"
        ws.send_json({"type": "step", "n": 2})
        assert _until(ws, "frame")["steps"] == 2  # still the session it was


def test_a_net_over_the_step_limit_is_refused_before_it_is_built(client):
    with client.websocket_connect("/ws/seq") as ws:
        assert receive_lab(ws)["type"] == "hello"
        ws.send_json({"type": "start", "config": {"hidden": 8}})
        _until(ws, "state")
        ws.send_json({"type": "update", "changes": {
            "hidden": 256, "layers": 4, "length": 200, "batchSize": 256}})
        error = _until(ws, "error")
        assert error["field"] == "hidden" and "weights and biases" in error["message"]
        ws.send_json({"type": "update", "changes": {"hidden": 128, "length": 200,
                                                    "batchSize": 256}})
        error = _until(ws, "error")
        assert error["field"] == "length" and "multiply-adds" in error["message"]


def test_compare_trains_an_rnn_and_an_lstm_side_by_side(client):
    with client.websocket_connect("/ws/seq") as ws:
        _started(ws, "length=4&hidden=8")
        ws.send_json({"type": "compare", "action": "start"})
        assert _until(ws, "state")["state"] == "comparing"
        frame = _until(ws, "compare_frame")
        assert set(frame["runs"]) == {"rnn", "lstm"}
        assert frame["runs"]["rnn"]["steps"] == frame["runs"]["lstm"]["steps"] > 0
        assert frame["runs"]["rnn"]["grad"].shape == (5,) and "gates" in frame["runs"]["lstm"]
        ws.send_json({"type": "compare", "action": "stop"})
        assert _until(ws, "state")["state"] == "paused"


def test_parse_names_the_field_of_a_bad_message():
    assert parse_client_message('{"type": "step", "n": 0}', 65536, 32)["field"] == "n"
    assert parse_client_message('{"type": "dream"}', 65536, 32)["field"] == "type"
    assert parse_client_message('{"type": "compare", "action": "start"}', 65536, 32) == {
        "type": "compare", "action": "start"}


def test_the_session_cap_refuses_one_more(client):
    registry = seq_registry(client.app)
    fillers = [object() for _ in range(16)]
    for f in fillers:
        registry.add(f)
    try:
        with client.websocket_connect("/ws/seq") as ws:
            assert receive_lab(ws)["code"] == "too_many_sessions"
    finally:
        for f in fillers:
            registry.discard(f)


def test_page_and_settings_api(client):
    page = client.get("/seq?lang=zh")
    assert page.status_code == 200 and "/static/seq/main.js" in page.text
    assert "序列实验室" in page.text and 'href="/lab?lang=zh"' in page.text
    body = client.get("/api/seq/params").json()
    params = {p["name"]: p for p in body["params"]}
    assert params["cell"]["choices"] == ["rnn", "gru", "lstm"]
    assert params["noise"]["only_when"] == {"task": ["sine"]}
    assert body["limits"]["max_step_macs"] > 0
    assert body["findings"] == json.loads(json.dumps(FINDINGS))  # what the page's note says


def test_netplay_run_trains_a_sequence_link_and_prints_the_same_json_each_time(capsys):
    url = "http://127.0.0.1:8000/seq?task=sine&cell=gru&length=10&hidden=8&seed=2"
    assert main(["run", url, "--steps", "200", "--json"]) == 0
    printed = capsys.readouterr().out
    records = [json.loads(line) for line in printed.splitlines()]
    assert [r["step"] for r in records] == [100, 200]
    assert records[-1]["test_loss"] < 0.5 * records[0]["train_loss"]
    assert main(["run", url, "--steps", "200", "--json"]) == 0
    assert capsys.readouterr().out == printed  # the same link, the same records


def test_netplay_run_names_a_bad_value_in_a_sequence_link(capsys):
    assert main(["run", "/seq?cell=tree"]) == 2
    assert "cell: must be one of rnn, gru, lstm" in capsys.readouterr().err


HOSTILE = [
    ('{"type": "update", "changes": {"length": 1e400}}', "length"),
    ('{"type": "update", "changes": {"hidden": "NaN"}}', "hidden"),
    ('{"type": "update", "changes": {"task": ["remember"]}}', "task"),
    ('{"type": "update", "changes": {"seed": "../../etc"}}', "seed"),
    ('{"type": "update", "changes": {"layers": true}}', "layers"),
    ('{"type": "update", "changes": {"nope": 1}}', "nope"),
    ('{"type": "update", "changes": []}', "changes"),
    ('{"type": "step", "n": 99999999999999999999999}', "n"),
    ('{"type": "step", "n": 5, "extra": 1}', "extra"),
    ('{"type": "compare"}', "action"),
    ('{"type": "ping", "id": 9007199254740993}', "id"),
    ('{"type": "start", "url": "' + "x" * 5000 + '"}', "url"),
    ("[" * 100 + "]" * 100, None),
]


def test_hostile_messages_get_an_error_naming_the_field_and_the_session_goes_on(client):
    with client.websocket_connect("/ws/seq") as ws:
        _started(ws, "length=3&hidden=4")
        for text, field in HOSTILE:
            ws.send_text(text)
            error = _until(ws, "error")
            assert error["field"] == field and error["code"] != "internal", (text[:60], error)
        ws.send_json({"type": "ping", "id": 7})
        assert _until(ws, "pong")["id"] == 7


def test_the_socket_refuses_foreign_origins_and_health_counts_its_sessions(make_client):
    from starlette.websockets import WebSocketDisconnect

    app_client = make_client(workers=1)
    with pytest.raises(WebSocketDisconnect) as refused, app_client.websocket_connect(
            "/ws/seq", headers={"origin": "https://evil.example"}):
        pass
    assert refused.value.code == 1008
    assert app_client.get("/api/health").json()["seq_sessions"] == 0
    with app_client.websocket_connect("/ws/seq", headers={"origin": "http://127.0.0.1"}) as ws:
        assert receive_lab(ws)["type"] == "hello"
        assert app_client.get("/api/health").json()["seq_sessions"] == 1


def test_a_link_over_a_limit_keeps_its_other_settings_and_names_the_one_it_drops(client):
    with client.websocket_connect("/ws/seq") as ws:
        config, _ = _started(ws, "length=200&hidden=256&layers=4&seed=5")
        c = config["config"]
        assert (c["hidden"], c["layers"], c["length"], c["seed"]) == (32, 4, 200, "5")
        assert len(config["warnings"]) == 1
        assert config["warnings"][0].startswith("hidden: ") and "weights and biases" in \
            config["warnings"][0] and config["warnings"][0].endswith("it opens at its default")
    with client.websocket_connect("/ws/seq") as ws:  # the limits speak the page's language
        assert receive_lab(ws)["type"] == "hello"
        ws.send_json({"type": "start", "url": "hidden=256&layers=4&seed=5", "lang": "zh"})
        config = _until(ws, "config")
        assert config["config"]["seed"] == "5" and "权重" in config["warnings"][0]
