"""The painting lab over its socket (TestClient): start from a link with the photograph and a
first picture, steps that make the picture more like the photograph, live and rebuilding
updates, a learner's own picture and bad ones refused by name, the session cap; its page and
settings API."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loopback import lab_started, lab_until, receive_lab, router_client
from PIL import Image

from server.paintlab import paint_limits, router
from server.settings import Settings


@pytest.fixture(scope="module")
def client():
    with router_client(router) as c:
        yield c


def _until(ws, kind: str) -> dict:
    return lab_until(ws, kind)


def _started(ws, url: str, lang: str = "en") -> tuple[dict, dict]:
    return lab_started(ws, url, "netplay-paint", lang)


def _image(data_url: str) -> np.ndarray:
    head, b64 = data_url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


def _file(array: np.ndarray, fmt: str = "PNG", **options) -> str:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **options)
    return base64.b64encode(out.getvalue()).decode()


def test_a_link_opens_with_its_photograph_and_the_networks_first_picture(client):
    with client.websocket_connect("/ws/paint") as ws:
        config, frame = _started(ws, "picture=flower&size=64&layers=10,10&seed=3&colour=red")
        c = config["config"]
        assert (c["picture"], c["size"], c["layers"], c["seed"]) == ("flower", 64, "10,10", "3")
        assert config["query"].startswith("picture=flower&size=64&layers=10,10&")
        assert "unknown key 'colour' ignored" in config["warnings"]
        p = config["picture"]
        assert (p["source"], p["name"], p["width"], p["height"]) == ("gallery", "flower", 64, 43)
        original = _image(p["image"])
        assert original.shape == (43, 64, 3) and original.std() > 20  # a photograph, not flat
        assert 11.0 < p["baseline_psnr"] < 14.0
        painted = _image(frame["image"])
        assert painted.shape == (43, 64, 3)
        assert frame["updates"] == 0 and frame["pixels"] == 0 and frame["loss"] is None
        assert frame["psnr"] < p["baseline_psnr"]  # an untrained network paints nothing alike


def test_steps_make_the_picture_like_the_photograph(client):
    with client.websocket_connect("/ws/paint") as ws:
        config, _first = _started(ws, "picture=china&size=48&seed=2")
        ws.send_json({"type": "step", "n": 500})
        frame = _until(ws, "frame")
        assert frame["updates"] == 500 and frame["pixels"] == 50_000
        assert frame["loss"] is not None and frame["loss"] < 0.05
        assert frame["psnr"] > config["picture"]["baseline_psnr"] + 4.0
        assert _until(ws, "state")["state"] == "paused"


def test_the_same_link_paints_the_same_picture(client):
    pictures = []
    for _ in range(2):
        with client.websocket_connect("/ws/paint") as ws:
            _started(ws, "size=32&layers=8,8&seed=7")
            ws.send_json({"type": "step", "n": 50})
            pictures.append(_until(ws, "frame")["image"])
    assert pictures[0] == pictures[1]


def test_live_changes_keep_the_weights_and_others_repaint_from_the_seed(client):
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=32&layers=8&seed=5")
        ws.send_json({"type": "step", "n": 20})
        before = _until(ws, "frame")["updates"]
        ws.send_json({"type": "update", "changes": {"learningRate": 0.01, "optimizer": "rmsprop"}})
        live = _until(ws, "config")
        assert live["changed"] == ["learningRate", "optimizer"] and "rebuilt" not in live
        ws.send_json({"type": "step", "n": 5})
        assert _until(ws, "frame")["updates"] == before + 5
        ws.send_json({"type": "update", "changes": {"fourier": 2}})
        rebuilt = _until(ws, "config")
        assert rebuilt["rebuilt"] and rebuilt["config"]["fourier"] == 2
        assert rebuilt["config"]["learningRate"] == 0.01
        assert _until(ws, "frame")["updates"] == 0


def test_playing_streams_pictures_and_pause_shows_the_last(client):
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=32&layers=8&seed=1")
        ws.send_json({"type": "play"})
        assert _until(ws, "state")["state"] == "playing"
        frames = [_until(ws, "frame") for _ in range(3)]
        assert frames[0]["updates"] < frames[1]["updates"] < frames[2]["updates"]
        assert all(f["pixels_per_s"] > 0 for f in frames)
        ws.send_json({"type": "pause"})
        last = frames[-1]
        while (message := receive_lab(ws))["type"] != "state":  # a last frame, if any since
            last = message if message["type"] == "frame" else last
        assert message["state"] == "paused"
        ws.send_json({"type": "ping", "id": 1})
        assert _until(ws, "pong")["id"] == 1
        ws.send_json({"type": "step", "n": 1})
        assert _until(ws, "frame")["updates"] == last["updates"] + 1  # nothing ran while paused


def test_a_learners_picture_is_shrunk_and_painted_and_a_gallery_choice_lets_it_go(client):
    rng = np.random.default_rng(0)
    picture = np.zeros((300, 600, 4), dtype=np.uint8)
    picture[:, :300] = (255, 0, 0, 255)  # red left half, transparent right half
    picture[:, 300:, :3] = rng.integers(0, 255, (300, 300, 3))
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=64&layers=8&seed=1")
        ws.send_json({"type": "picture", "name": "mine.png", "data": _file(picture)})
        config = _until(ws, "config")
        p = config["picture"]
        assert (p["source"], p["name"], p["width"], p["height"]) == ("own", "mine.png", 64, 32)
        own = _image(p["image"])
        assert tuple(own[16, 5]) == (255, 0, 0)  # red stays red
        assert tuple(own[16, 60]) == (255, 255, 255)  # transparency is painted on white
        assert 0 < p["baseline_psnr"] < 20
        assert config["query"].startswith("picture=china&")  # the link names the gallery
        assert _until(ws, "frame")["updates"] == 0
        ws.send_json({"type": "update", "changes": {"size": 32}})  # the own picture, smaller
        p = _until(ws, "config")["picture"]
        assert (p["source"], p["width"], p["height"]) == ("own", 32, 16)
        one_colour = _file(np.full((20, 20, 3), (9, 99, 199), dtype=np.uint8))
        ws.send_json({"type": "picture", "name": "blue.png", "data": one_colour})
        assert _until(ws, "config")["picture"]["baseline_psnr"] == 99.0  # exact, not infinite
        ws.send_json({"type": "update", "changes": {"picture": "flower"}})
        p = _until(ws, "config")["picture"]
        assert (p["source"], p["name"]) == ("gallery", "flower")


@pytest.mark.parametrize(("data", "says"), [
    (base64.b64encode(b"hello, not a picture").decode(), "not a picture this server can read"),
    ("@@not base64@@", "not base64"),
    ("", "the file is empty"),
])
def test_a_bad_picture_is_refused_by_name_and_changes_nothing(client, data, says):
    with client.websocket_connect("/ws/paint") as ws:
        config, _ = _started(ws, "picture=flower&size=32&layers=8")
        ws.send_json({"type": "picture", "name": "x", "data": data})
        error = _until(ws, "error")
        assert error["field"] == "picture" and says in error["message"]
        ws.send_json({"type": "step", "n": 2})
        frame = _until(ws, "frame")
        assert frame["updates"] == 2 and frame["version"] == config["version"]


def test_a_picture_over_the_pixel_limit_is_refused_before_it_is_decoded(client):
    # A PNG of 5,000 × 4,000 pixels, all one colour: a few kilobytes of file.
    big = _file(np.zeros((4000, 5000, 3), dtype=np.uint8), compress_level=9)
    assert len(big) < 200_000
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=32&layers=8")
        ws.send_json({"type": "picture", "name": "huge.png", "data": big})
        error = _until(ws, "error")
        assert error["field"] == "picture"
        assert "5,000 × 4,000 pixels; this server takes up to 16 megapixels" in error["message"]


def test_bad_settings_are_named_in_the_pages_language(client):
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=32", lang="zh")
        ws.send_json({"type": "update", "changes": {"layers": "128,128,128,128,128,128,128,128"}})
        error = _until(ws, "error")
        assert error["field"] == "layers" and "共 116,355 个权重和偏置；此服务器最多允许 100,000 个" in error["message"]
        ws.send_json({"type": "update", "changes": {"size": 9}})
        error = _until(ws, "error")
        assert error["field"] == "size" and error["message"].startswith("size: ")
        ws.send_json({"type": "update", "changes": {"batchSize": 1000, "layers": "128,128"}})
        assert _until(ws, "error")["field"] == "batchSize"  # 3 × 1,000 × 16,896 multiply-adds


def test_a_link_over_a_limit_keeps_its_other_settings(client):
    with client.websocket_connect("/ws/paint") as ws:
        config, _ = _started(ws, "size=40&layers=128,128,128,128,128,128,128,128&seed=9")
        c = config["config"]
        assert (c["size"], c["seed"], c["layers"]) == (40, "9", "20,20,20,20,20,20,20")
        assert any(w.startswith("layers:") for w in config["warnings"])


def test_a_run_that_diverges_stops_and_says_why(client):
    with client.websocket_connect("/ws/paint") as ws:
        _started(ws, "size=16&layers=32,32&optimizer=sgd&learningRate=1&activation=tanh", "zh")
        ws.send_json({"type": "play"})
        assert _until(ws, "state")["state"] == "playing"
        state = _until(ws, "state")
        assert state["state"] == "diverged"
        assert state["message"] == "经过 8 次更新后损失爆炸——请降低学习率，然后重置"
        ws.send_json({"type": "play"})  # a diverged run stays stopped until it is reset
        ws.send_json({"type": "reset"})
        assert _until(ws, "frame")["updates"] == 0


def test_the_session_cap_is_a_named_refusal():
    app = FastAPI()
    app.include_router(router)
    app.state.settings = Settings(paint_max_sessions=1)
    with TestClient(app) as c, c.websocket_connect("/ws/paint") as first:
        assert receive_lab(first)["type"] == "hello"
        with c.websocket_connect("/ws/paint") as second:
            refusal = receive_lab(second)
            assert refusal["code"] == "too_many_sessions"


def test_the_page_and_its_settings_api(client):
    page = client.get("/paint")
    assert page.status_code == 200 and "/static/paint/main.js" in page.text
    body = client.get("/api/paint/params").json()
    names = [p["name"] for p in body["params"]]
    assert names[:3] == ["picture", "size", "layers"] and "seed" in names
    assert body["limits"] == paint_limits(Settings()).to_json()
    assert body["limits"]["max_upload_bytes"] == 8_000_000
