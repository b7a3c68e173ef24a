"""The agent lab over its socket (TestClient): start from a link, frames with the world and the
brain, live and rebuilding updates, play at a speed, stop and start learning, the pretrained
agent, bad input as named errors, the session cap; its page and settings API; `netplay run` of
an agent-lab link."""

from __future__ import annotations

import json

import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loopback import lab_started, lab_until, receive_lab

from playground_models.rllab.pretrained import pretrained_config
from server.cli import main
from server.rllab import parse_client_message, rl_registry, router


@pytest.fixture(scope="module")
def client():
    torch.set_num_threads(1)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def _until(ws, kind: str) -> dict:
    return lab_until(ws, kind)


def _started(ws, url: str, lang: str = "en") -> tuple[dict, dict]:
    return lab_started(ws, url, "netplay-rl", lang)


def test_a_link_opens_with_its_settings_the_world_and_a_first_frame(client):
    with client.websocket_connect("/ws/rl") as ws:
        config, frame = _started(ws, "layers=20&items=12&seed=3&colour=red")
        assert config["config"]["layers"] == "20" and config["config"]["seed"] == "3"
        assert config["query"].startswith("start=scratch&layers=20&")
        assert "unknown key 'colour' ignored" in config["warnings"]
        world = config["world"]
        assert (world["width"], world["height"], len(world["walls"])) == (700, 500, 10)
        assert len(world["eye_angles"]) == 9 and len(world["actions"]) == 5
        assert frame["tick"] == 0 and frame["agent"] == {"x": 50.0, "y": 50.0, "angle": 0.0}
        assert len(frame["items"]) == 12 and {k for *_, k in frame["items"]} <= {1, 2}
        assert len(frame["eyes"]["kind"]) == 9 and len(frame["q"]) == 5
        assert [len(a) for a in frame["layers"]] == [59, 20, 5]
        assert frame["reward"] == {"last": 0.0, "mean": None} and frame["loss"] is None


def test_steps_move_the_agent_fill_the_memory_and_draw_the_reward_curve(client):
    with client.websocket_connect("/ws/rl") as ws:
        _started(ws, "seed=4&learnStart=100&layers=16")
        ws.send_json({"type": "step", "n": 250})
        frame = _until(ws, "frame")
        assert frame["tick"] == 250 and frame["age"] == 250 and frame["replay"] == 250
        assert frame["agent"] != {"x": 50.0, "y": 50.0, "angle": 0.0}
        assert frame["loss"] is not None and frame["reward"]["mean"] is not None
        assert [p[0] for p in frame["curve"]] == [100, 200]
        assert frame["epsilon"] == 1.0  # still in the burn-in


def test_live_changes_keep_the_agent_and_others_rebuild_it(client):
    with client.websocket_connect("/ws/rl") as ws:
        _started(ws, "seed=5&layers=8")
        ws.send_json({"type": "step", "n": 20})
        _until(ws, "frame")
        ws.send_json({"type": "update", "changes": {"gamma": 0.9, "optimizer": "sgd"}})
        config = _until(ws, "config")
        assert config["changed"] == ["gamma", "optimizer"] and "rebuilt" not in config
        assert "gamma=0.9" in config["query"]
        ws.send_json({"type": "step", "n": 1})
        assert _until(ws, "frame")["tick"] == 21  # the same agent went on
        ws.send_json({"type": "update", "changes": {"items": 5}})
        config = _until(ws, "config")
        assert config["rebuilt"] is True
        frame = _until(ws, "frame")
        assert frame["tick"] == 0 and len(frame["items"]) == 5


def test_play_at_very_fast_streams_frames_and_pause_stops_them(client):
    with client.websocket_connect("/ws/rl") as ws:
        _started(ws, "seed=6&layers=8&learnStart=50")
        ws.send_json({"type": "speed", "speed": "veryfast"})
        assert _until(ws, "state")["speed"] == "veryfast"
        ws.send_json({"type": "play"})
        assert _until(ws, "state")["state"] == "playing"
        first = _until(ws, "frame")
        second = _until(ws, "frame")
        assert second["tick"] > first["tick"] > 0 and second["ticks_per_s"] > 0
        ws.send_json({"type": "pause"})
        last = second
        while (message := receive_lab(ws))["type"] != "state":
            last = message if message["type"] == "frame" else last
        assert message["state"] == "paused"
        ws.send_json({"type": "step", "n": 1})
        assert _until(ws, "frame")["tick"] == last["tick"] + 1  # pausing showed every tick


def test_slow_speed_paces_the_ticks(client):
    with client.websocket_connect("/ws/rl") as ws:
        _started(ws, "seed=6&layers=8")
        ws.send_json({"type": "speed", "speed": "slow"})
        _until(ws, "state")
        ws.send_json({"type": "play"})
        _until(ws, "state")
        frames = [_until(ws, "frame") for _ in range(3)]
        assert [f["tick"] for f in frames] == [1, 2, 3]  # a frame after every tick
        assert 3 < frames[-1]["ticks_per_s"] < 7  # 5 a second, by the wall clock
        ws.send_json({"type": "pause"})
        _until(ws, "state")


def test_learning_can_stop_while_the_world_goes_on(client):
    with client.websocket_connect("/ws/rl") as ws:
        _started(ws, "seed=7&layers=8&epsTest=0")
        ws.send_json({"type": "learn", "on": False})
        state = _until(ws, "state")
        assert state["learning"] is False
        ws.send_json({"type": "step", "n": 30})
        frame = _until(ws, "frame")
        assert frame["tick"] == 30 and frame["age"] == 0 and frame["replay"] == 0
        assert frame["epsilon"] == 0.0 and frame["learning"] is False


def test_the_pretrained_agent_loads_watching_at_normal_speed(client):
    stored = pretrained_config()
    assert stored is not None
    with client.websocket_connect("/ws/rl") as ws:
        config, frame = _started(ws, "start=pretrained&seed=9")
        assert config["config"]["start"] == "pretrained" and not config["warnings"]
        assert frame["learning"] is False and frame["speed"] == "normal"
        ws.send_json({"type": "update", "changes": {"start": "pretrained", "layers": "20"}})
        error = _until(ws, "error")
        assert error["code"] == "bad_value" and error["field"] == "start"
        assert "layers=50,50" in error["message"]
    with client.websocket_connect("/ws/rl") as ws:  # a link that cannot load it opens at defaults
        config, _ = _started(ws, "start=pretrained&layers=20", lang="zh")
        assert config["config"]["start"] == "scratch"
        assert any("预训练" in w for w in config["warnings"])


@pytest.mark.parametrize(("message", "field"), [
    ({"type": "speed", "speed": "warp"}, "speed"),
    ({"type": "learn", "on": "maybe"}, "on"),
    ({"type": "step", "n": 0}, "n"),
    ({"type": "jump"}, "type"),
])
def test_bad_messages_are_named_errors(message, field):
    reply = parse_client_message(json.dumps(message), 65536, 32)
    assert reply["type"] == "error" and reply["field"] == field


def test_bad_values_are_named_and_change_nothing(client):
    with client.websocket_connect("/ws/rl") as ws:
        ws.send_json({"type": "play"})
        assert _until(ws, "error")["code"] == "not_started"
        ws.send_json({"type": "start", "config": {"layers": "8"}})
        _until(ws, "state")
        for changes, field in [({"layers": "0,x"}, "layers"), ({"gamma": 1.5}, "gamma"),
                               ({"layers": "256,256,256"}, "layers"), ({"nope": 1}, "nope")]:
            ws.send_json({"type": "update", "changes": changes})
            error = _until(ws, "error")
            assert (error["code"], error["field"]) == ("bad_value", field)
        ws.send_json({"type": "step", "n": 1})
        assert _until(ws, "frame")["tick"] == 1  # the session went on


def test_the_session_cap_refuses_by_name():
    app = FastAPI()
    app.include_router(router)
    from server.settings import Settings
    app.state.settings = Settings(rl_max_sessions=1)
    with TestClient(app) as c, c.websocket_connect("/ws/rl") as first:
        assert receive_lab(first)["type"] == "hello"
        assert rl_registry(app).total() == 1
        with c.websocket_connect("/ws/rl") as second:
            assert receive_lab(second)["code"] == "too_many_sessions"


def test_the_page_and_the_settings_api(client):
    page = client.get("/rl")
    assert page.status_code == 200 and 'src="/static/rl/main.js"' in page.text
    body = client.get("/api/rl/params").json()
    assert [p["name"] for p in body["params"]][:3] == ["start", "layers", "activation"]
    assert body["limits"] == {"max_parameters": 100_000, "max_tick_macs": 60_000_000}
    assert body["pretrained"] == {"layers": "50,50", "activation": "relu", "window": 1}


def test_netplay_run_of_an_agent_link_prints_records(capsys):
    assert main(["run", "/rl?seed=3&layers=8&learnStart=1900", "--steps", "2000", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["tick"] for r in lines] == [1000, 2000]
    assert lines[0]["loss"] is None and lines[-1]["loss"] is not None
    assert lines[-1]["replay"] == 2000 and lines[-1]["epsilon"] == 1.0
    assert main(["run", "/rl?layers=0,x", "--steps", "10"]) == 2
    assert "layers: must be up to 4 layer widths" in capsys.readouterr().err


def test_the_biggest_agent_the_limits_allow_learns(client):
    """The widest window, a net just under the weight limit, a batch just under the tick
    limit, the largest memory: it builds, learns from its first ticks, and one more over any
    of them is refused by name."""
    link = "window=4&layers=200,200&batchSize=128&replay=100000&learnStart=1&items=100"
    with client.websocket_connect("/ws/rl") as ws:
        config, frame = _started(ws, link)
        assert not config["warnings"] and len(frame["layers"][0]) == 27 + 4 * 32
        ws.send_json({"type": "step", "n": 20})
        frame = _until(ws, "frame")
        assert frame["tick"] == 20 and frame["loss"] is not None
        for changes, field in [({"batchSize": 256}, "batchSize"), ({"replay": 100001}, "replay"),
                               ({"layers": "256,256"}, "layers")]:
            ws.send_json({"type": "update", "changes": changes})
            error = _until(ws, "error")
            assert (error["code"], error["field"]) == ("bad_value", field)


def test_a_link_over_a_limit_keeps_its_other_settings_and_names_the_one_it_drops(client):
    with client.websocket_connect("/ws/rl") as ws:
        config, frame = _started(ws, "replay=90000&layers=256,256,256&window=4&gamma=0.9")
        c = config["config"]
        assert (c["layers"], c["replay"], c["window"], c["gamma"]) == ("50,50", 90000, 4, 0.9)
        assert config["warnings"] == [
            ("layers: 172,805 weights and biases; this server allows 100,000 (fewer or narrower "
            "layers); it opens at its default")]
        assert "weightDecay=0&" in config["query"]  # a whole float is written short
        assert frame["q"] == pytest.approx(frame["layers"][-1], abs=6e-4)  # the present input
        assert frame["action"] is None  # none taken yet
    with client.websocket_connect("/ws/rl") as ws:  # the limits speak the page's language
        config, _ = _started(ws, "layers=200,200,200,200&seed=4", lang="zh")
        assert config["config"]["seed"] == "4" and "权重" in config["warnings"][0]
