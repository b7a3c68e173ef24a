"""The lab's HTTP API, its WebSocket session through TestClient, and `netplay summary`."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loopback import receive_lab

from server.imagelab import lab_registry, parse_client_message, router

ROOT = Path(__file__).resolve().parents[1]
SMALL = "in8x8x1-conv8k3p1-relu-maxpool2-fc10"


@pytest.fixture(scope="module")
def client():
    torch.set_num_threads(1)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def _until(ws, kind: str, limit: int = 50) -> dict:
    for _ in range(limit):
        message = receive_lab(ws)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


def test_summary_api_gives_the_table_and_per_layer_errors(client):
    body = client.get("/api/lab/summary", params={"preset": "lenet5"}).json()
    assert body["total_params"] == 61_706 and body["fits"]
    assert body["layers"][1]["output_shape"] == [28, 28, 6]
    bad = client.get("/api/lab/summary", params={"net": "in8x8x1-conv4k9-fc10"}).json()
    assert not bad["fits"] and "larger than its input" in bad["layers"][1]["error"]
    unreadable = client.get("/api/lab/summary", params={"net": "conv-what"})
    assert unreadable.status_code == 422 and unreadable.json()["field"] == "net"


def test_presets_api_lists_presets_and_data_availability(client):
    body = client.get("/api/lab/presets").json()
    names = {p["name"] for p in body["presets"]}
    assert {"convnetjs-mnist", "lenet5", "tiny-vgg", "mlp"} <= names
    assert {d["name"]: d["available"] for d in body["data"]}["digits"] is True


def test_the_settings_table_shows_momentum_only_for_optimizers_that_use_it(client):
    params = {p["name"]: p for p in client.get("/api/lab/presets").json()["params"]}
    assert params["momentum"]["only_when"] == {"optimizer": ["momentum", "nesterov"]}
    assert "only_when" not in params["learningRate"]


def test_summary_api_leaves_what_follows_a_layer_that_does_not_fit_unknown(client):
    net = "in24x24x1-conv8k29p2-relu-maxpool2-conv16k5p2-relu-maxpool3-fc10"
    body = client.get("/api/lab/summary", params={"net": net}).json()
    assert body["total_params"] is None and not body["fits"]
    conv = body["layers"][4]
    assert conv["layer"] == "conv16k5p2" and conv["params"] is None
    assert conv["output_shape"] is None and conv["formula"] == ""
    assert conv["note"] == "unknown until layer 1 fits"


def test_lab_page_renders_and_links_back_to_the_2d_lab(client):
    page = client.get("/lab")
    assert page.status_code == 200
    assert 'href="/"' in page.text and "/static/lab/main.js" in page.text


def test_bad_messages_name_their_field():
    assert parse_client_message("{")["code"] == "bad_json"
    assert parse_client_message('{"type": "fly"}')["field"] == "type"
    assert parse_client_message('{"type": "step", "n": 0}')["field"] == "n"
    assert parse_client_message('{"type": "predict", "size": 2, "pixels": ""}')["field"] == "size"
    assert parse_client_message('{"type": "play"}') == {"type": "play"}


def test_websocket_session_trains_updates_live_predicts_and_survives_errors(client):
    with client.websocket_connect("/ws/lab") as ws:
        assert receive_lab(ws)["type"] == "hello"
        ws.send_json({"type": "play"})
        assert _until(ws, "error")["code"] == "not_started"
        ws.send_json({"type": "start", "url": f"net={SMALL}&seed=7&unknown=1"})
        config = _until(ws, "config")
        assert config["summary"]["total_params"] == (9 + 1) * 8 + (128 + 1) * 10
        assert config["warnings"] == ["unknown key 'unknown' ignored"]
        first = _until(ws, "frame")
        assert first["steps"] == 0 and first["filters"][0]["weights"]["shape"] == [8, 1, 3, 3]

        ws.send_json({"type": "step", "n": 5})
        stepped = _until(ws, "frame")
        assert stepped["steps"] == 5
        ws.send_text("not json")
        assert _until(ws, "error")["code"] == "bad_json"
        ws.send_json({"type": "update", "changes": {"learningRate": 99}})
        assert _until(ws, "error")["field"] == "learningRate"

        ws.send_json({"type": "update", "changes": {"learningRate": 0.01, "batchSize": 16}})
        live = _until(ws, "config")
        assert live["changed"] == ["batchSize", "learningRate"] and "summary" not in live
        ws.send_json({"type": "step", "n": 1})
        after = _until(ws, "frame")
        assert after["steps"] == 6 and after["examples"] == stepped["examples"] + 16
        assert after["live"]["learningRate"] == 0.01

        drawing = np.zeros((28, 28), np.uint8)
        drawing[4:24, 12:16] = 255
        ws.send_json(
            {"type": "predict", "size": 28, "pixels": base64.b64encode(drawing.tobytes()).decode()}
        )
        prediction = _until(ws, "prediction")
        assert len(prediction["probs"]) == 10 and abs(sum(prediction["probs"]) - 1) < 1e-3

        ws.send_json({"type": "update", "changes": {"net": "in8x8x1-conv4k9-fc10"}})
        error = _until(ws, "error")
        assert error["field"] == "net" and "larger than its input" in error["message"]

        ws.send_json({"type": "play"})
        assert _until(ws, "state")["state"] == "playing"
        playing = _until(ws, "frame")
        assert playing["examples"] > after["examples"]
        ws.send_json({"type": "pause"})
        assert _until(ws, "state")["state"] == "paused"


def test_a_nesterov_link_at_momentum_zero_trains_over_the_socket(client):
    # torch refuses Nesterov without momentum when building the optimizer; the lab must not.
    with client.websocket_connect("/ws/lab") as ws:
        ws.send_json({"type": "start", "url": f"net={SMALL}&optimizer=nesterov&momentum=0"})
        started = _until_any(ws, ("config", "error"))
        assert started["type"] == "config", started  # was an `internal` error
        assert started["config"]["momentum"] == 0.0
        _until(ws, "frame")
        ws.send_json({"type": "step", "n": 3})
        message = _until_any(ws, ("frame", "error"))
        assert message["type"] == "frame", message
        assert message["steps"] == 3 and message["live"]["optimizer"] == "nesterov"
        ws.send_json({"type": "update", "changes": {"optimizer": "sgd"}})
        _until(ws, "config")
        ws.send_json({"type": "update", "changes": {"optimizer": "nesterov"}})  # built live too
        assert _until_any(ws, ("config", "error"))["type"] == "config"
        ws.send_json({"type": "step", "n": 1})
        message = _until_any(ws, ("frame", "error"))
        assert message["type"] == "frame" and message["steps"] == 4, message


def _until_any(ws, kinds: tuple[str, ...], limit: int = 50) -> dict:
    for _ in range(limit):
        message = receive_lab(ws)
        if message["type"] in kinds:
            return message
    raise AssertionError(f"none of {kinds}")


def test_websocket_race_streams_every_optimizer(client):
    with client.websocket_connect("/ws/lab") as ws:
        ws.send_json({"type": "start", "config": {"net": SMALL}})
        _until(ws, "state")
        ws.send_json({"type": "race", "action": "start"})
        frame = _until(ws, "race_frame")
        assert set(frame["val_acc"]) == {
            "sgd",
            "momentum",
            "adagrad",
            "adadelta",
            "rmsprop",
            "adam",
        }
        ws.send_json({"type": "race", "action": "stop"})
        assert _until(ws, "state")["state"] == "paused"


def test_closing_the_socket_ends_the_session_and_frees_its_trainer(client):
    # The router on a bare app (no create_app): the app gets a lab registry of its own.
    with client.websocket_connect("/ws/lab") as ws:
        ws.send_json({"type": "start", "config": {"net": SMALL}})
        _until(ws, "state")
        threads = threading.active_count()
        ws.send_json({"type": "play"})
        _until(ws, "frame")  # training, in slices on the shared workers
        assert threading.active_count() == threads  # no thread of its own
        registry = lab_registry(client.app)
        assert (len(registry), registry.total(), registry.per_process()) == (1, 1, [1])
        (session,) = registry.sessions
    deadline = time.monotonic() + 5
    # The socket's handler ends once the job in progress (one slice) has ended.
    while registry.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert registry.total() == 0
    assert session.trainer is None and session.race is None and not session.busy


def _netplay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "summary", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_netplay_summary_json_for_lenet5():
    done = _netplay("--preset", "lenet5", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["total_params"] == 61_706
    assert [row["params"] for row in body["layers"]][:2] == [0, 156]
    assert body["layers"][-1]["output_shape"] == [10]


def test_netplay_summary_table_and_url_with_a_bad_layer():
    done = _netplay("--preset", "convnetjs-mnist")
    assert done.returncode == 0 and "Total params: 5,994" in done.stdout
    assert "(5·5·8 + 1)·16 = 3,216" in done.stdout
    bad = _netplay("http://localhost:8000/lab?net=in8x8x1-conv4k9-fc10")
    assert bad.returncode == 1 and "ERROR: kernel 9×9 is larger" in bad.stdout
    assert "Total params: unknown" in bad.stdout


def test_the_lab_socket_refuses_foreign_origins(make_client):
    from starlette.websockets import WebSocketDisconnect

    client = make_client()
    foreign = {"origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(
            "/ws/lab", headers=foreign):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect("/ws/lab", headers={"origin": "http://127.0.0.1"}) as ws:
        assert receive_lab(ws)["type"] == "hello"


def test_the_lab_socket_limits_message_rate_and_closes_when_idle(make_client):
    client = make_client(max_messages_per_second=2, idle_timeout_s=0.5)
    with client.websocket_connect("/ws/lab") as ws:
        hello = receive_lab(ws)
        assert hello["limits"]["max_messages_per_second"] == 2
        assert hello["limits"]["idle_timeout_s"] == 0.5
        for _ in range(6):  # a burst of 4 (two seconds' worth) passes, then the bucket is dry
            ws.send_json({"type": "pause"})
        codes = []
        while len(codes) < 6:
            message = receive_lab(ws)
            if message["type"] == "error":
                codes.append(message["code"])
        assert sorted(codes) == ["not_started"] * 4 + ["rate_limited"] * 2
        started = time.monotonic()
        while (message := ws.receive())["type"] != "websocket.close":
            last = json.loads(message["text"])
        assert last["code"] == "idle_timeout" and "0.5 s" in last["message"]
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(("link", "field", "setting"), [
    ("preset=nope&seed=4", "preset", "net"),
    ("learningRate=100&batchSize=16", "learningRate", "learningRate"),
    ("net=in24x24x1-conv8k99-fc10", "net", "net"),
    ("net=in8x8x1-conv8k9-fc10&data=digits", "net", "net"),  # a kernel larger than its input
    ("data=mnist&preset=lenet5", "data", "data"),  # without the optional extra (or with it)
])
def test_a_bad_lab_link_opens_at_defaults_naming_the_key_and_trains(client, link, field, setting):
    from playground_models.imagelab import data as labdata
    from playground_models.imagelab.config import LabConfig

    if field == "data" and labdata.available()["mnist"]:
        pytest.skip("MNIST is installed here: the link is good")
    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": link})
        ws.send_json({"type": "ping", "id": "started"})  # answered after the start's replies
        replies = []
        while not replies or replies[-1]["type"] != "pong":
            replies.append(receive_lab(ws))
        (config,) = [m for m in replies if m["type"] == "config"]
        assert any(w.startswith(f"{field}: ") and w.endswith("it opens at its default")
                   for w in config["warnings"]), config["warnings"]
        assert config["config"][setting] == getattr(LabConfig(), setting)
        if "batchSize=16" in link:
            assert config["config"]["batchSize"] == 16  # the rest of the link applies
        ws.send_json({"type": "step", "n": 1})
        frame = _until(ws, "frame")
        while frame["steps"] != 1:
            frame = _until(ws, "frame")


def test_a_bad_number_in_a_lab_link_is_quoted_as_the_link_wrote_it():
    """`samples=1e9` was quoted back as "1000000000.0" and `batchSize=NaN` as "nan"."""
    from playground_models.imagelab.config import parse_link

    assert parse_link("samples=1e9")[1] == [
        "samples: must be between 200 and 20000, got 1e9; it opens at its default"]
    assert parse_link("batchSize=NaN")[1] == [
        "batchSize: must be between 1 and 512, got NaN; it opens at its default"]
