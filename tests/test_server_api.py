"""The JSON routes, the page route, security headers and the WebSocket origin check."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from frontend import STATIC, TEMPLATES
from playground_models.datasets import generate
from playground_models.experiment import Experiment
from playground_models.params import PARAMS


def test_schema_lists_every_parameter_in_table_order_with_limits(make_client):
    client = make_client(max_sessions=5)
    body = client.get("/api/schema").json()
    assert [p["name"] for p in body["params"]] == [p.name for p in PARAMS]
    lr = next(p for p in body["params"] if p["name"] == "learningRate")
    assert (lr["effect"], lr["min"], lr["max"], lr["default"]) == ("live", 1e-6, 10.0, 0.03)
    assert "playButton" in body["hideable"]
    assert body["limits"]["max_sessions"] == 5 and body["protocol"] == 1


def test_parse_reads_a_tf_playground_hash(client):
    url = ("https://playground.tensorflow.org/#activation=relu&batchSize=20&dataset=spiral"
           "&learningRate=0.01&networkShape=6,6&seed=0.123&noise=101&cosX=false&what=1"
           "&seed_hide=true")
    body = client.get("/api/parse", params={"url": url}).json()
    c = body["config"]
    assert (c["activation"], c["batchSize"], c["dataset"], c["networkShape"]) == (
        "relu", 20, "spiral", [6, 6])
    assert c["noise"] == 0  # 101 is out of range: left at the default and reported
    assert body["errors"] == [{"field": "noise", "message": "noise: must be between 0 and 80, "
                                                             "got 101"}]
    assert body["warnings"] == ["unknown key 'what', ignored"]
    assert body["hidden"] == ["seed"] and body["query"].endswith("seed_hide=true")


def test_parse_post_checks_a_config_strictly(client):
    ok = client.post("/api/parse", json={"config": {"dropout": 0.5}}).json()
    assert ok["config"]["dropout"] == 0.5 and "dropout=0.5" in ok["query"]
    bad = client.post("/api/parse", json={"config": {"dropout": 2}})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "dropout"
    both = client.post("/api/parse", json={"config": {}, "url": "a=1"})
    assert both.status_code == 422 and both.json()["error"]["code"] == "bad_message"
    via_url = client.post("/api/parse", json={"url": "?learningRate=0.3"}).json()
    assert via_url["config"]["learningRate"] == 0.3


def test_preview_returns_the_generated_points(client):
    body = client.get("/api/preview", params={"url": "dataset=moons&noise=20",
                                              "max_points": 30}).json()
    split = generate(Experiment(dataset="moons", noise=20))
    assert len(body["train"]) == 30 and len(body["test"]) == 30
    assert body["num_classes"] == 2 and body["one_d"] is False
    for (x1, x2, label), pos, y in zip(body["train"], split.train_x, split.train_y, strict=False):
        assert abs(x1 - pos[0]) < 1e-3 and abs(x2 - pos[1]) < 1e-3 and label == y


def test_preview_errors_name_the_key(make_client):
    client = make_client(max_samples=100)
    bad = client.get("/api/preview", params={"url": "dataset=nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "dataset"
    big = client.get("/api/preview", params={"url": "numSamples=500"})
    assert big.status_code == 422 and big.json()["error"]["field"] == "numSamples"


def test_health_counts_live_sessions(client):
    assert client.get("/api/health").json()["sessions"] == 0
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        health = client.get("/api/health").json()
        assert (health["status"], health["sessions"], health["sessions_per_process"]) == (
            "ok", 1, [1])
    assert client.get("/api/health").json()["sessions"] == 0


def test_every_response_forbids_third_party_requests(client):
    for path in ("/api/health", "/"):
        csp = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "http" not in csp.replace("https", "")  # no outside host is named
    assert client.get("/api/health").headers["x-content-type-options"] == "nosniff"
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


@pytest.mark.skipif(not (TEMPLATES / "index.html").is_file(), reason="page not built yet")
def test_page_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    if files:
        path = files[0].relative_to(STATIC).as_posix()
        assert client.get(f"/static/{path}").content == files[0].read_bytes()


def test_foreign_origins_cannot_open_the_websocket(make_client):
    client = make_client()
    foreign = {"origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws",
                                                                                headers=foreign):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect("/ws", headers={"origin": "http://127.0.0.1"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_allow_listed_origins_can_open_the_websocket(make_client):
    client = make_client(allowed_origins="https://school.example, https://b.example")
    with client.websocket_connect("/ws", headers={"origin": "https://school.example"}) as ws:
        assert ws.receive_json()["type"] == "hello"
