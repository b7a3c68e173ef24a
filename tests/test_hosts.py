"""The Host allow-list (DNS rebinding) and framing: through TestClient and a real uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server import hosts
from server.app import create_app
from server.hosts import HostPolicy, host_name
from server.imagelab import router as lab_router
from server.settings import Settings, SettingsError, load

EVIL = {"host": "evil.example", "origin": "http://evil.example"}


# --- the policy ---------------------------------------------------------------------------
def test_loopback_names_and_ip_literals_are_allowed_with_any_port():
    policy = HostPolicy()
    for host in ("localhost", "localhost:8000", "127.0.0.1", "127.0.0.1:18200", "[::1]",
                 "[::1]:8000", "LOCALHOST:80", "localhost.", "10.0.0.5:8000", "192.168.1.20",
                 "[fe80::1]:8000"):
        assert policy.allows(host), host


def test_foreign_and_malformed_hosts_are_refused():
    policy = HostPolicy()
    for host in ("evil.example", "evil.example:8000", "testserver", "localhost.evil.example",
                 "evil@127.0.0.1", "127.0.0.1 evil", "::1", "127.0.0.1:99999", "", "a/b",
                 "127.0.0.1.evil.example"):
        assert not policy.allows(host), host
    assert policy.allows(None)  # no Host header at all: not a browser


def test_the_bound_name_is_allowed_and_a_wildcard_adds_this_machines_hostname(monkeypatch):
    assert HostPolicy(bound="netplay.lan").allows("netplay.lan:8000")
    assert not HostPolicy(bound="127.0.0.1").allows("netplay.lan:8000")
    monkeypatch.setattr(hosts.socket, "gethostname", lambda: "Classroom-PC")
    for bound in ("0.0.0.0", "::"):
        policy = HostPolicy(bound=bound)
        assert policy.allows("classroom-pc:8000") and policy.allows("10.1.2.3:8000")
        assert not policy.allows("evil.example:8000")
    assert not HostPolicy(bound="127.0.0.1").allows("classroom-pc:8000")


def test_allowed_hosts_add_names_subdomains_or_any():
    policy = HostPolicy(("school.example", ".example.org"))
    assert policy.allows("school.example:443") and policy.allows("example.org")
    assert policy.allows("lab.example.org:8000")
    assert not policy.allows("evilexample.org") and not policy.allows("evil.example")
    assert HostPolicy(("*",)).allows("evil.example")


def test_the_setting_comes_from_the_environment_and_bad_entries_are_named():
    settings = load({"NETPLAY_ALLOWED_HOSTS": "school.example, .example.org"})
    assert settings.allowed_hosts == ("school.example", ".example.org")
    with pytest.raises(SettingsError, match="NETPLAY_ALLOWED_HOSTS"):
        load({"NETPLAY_ALLOWED_HOSTS": "evil example"})
    assert host_name("[::1]:8000") == "::1" and host_name("Example.ORG.:80") == "example.org"


# --- through the app ----------------------------------------------------------------------
def test_a_foreign_host_is_refused_with_a_message_naming_it_and_the_setting(make_client):
    client = make_client()
    for path in ("/", "/api/health", "/api/schema", "/static/nothing.js", "/lab", "/seq"):
        refused = client.get(path, headers={"host": "evil.example"})
        assert refused.status_code == 400, path
        assert '"evil.example"' in refused.text and "--allowed-hosts evil.example" in refused.text
        assert "NETPLAY_ALLOWED_HOSTS" in refused.text
        assert refused.headers["x-content-type-options"] == "nosniff"
    served = client.get("/api/health", headers={"host": "127.0.0.1:18200"})
    assert served.status_code == 200 and served.json()["status"] == "ok"
    assert client.get("/api/health", headers={"host": "localhost:8000"}).status_code == 200


def test_testclients_own_name_is_not_a_production_default(make_client):
    app = make_client().app
    assert TestClient(app).get("/api/health").status_code == 400  # Host: testserver
    allowed = make_client(allowed_hosts="testserver").app
    assert TestClient(allowed).get("/api/health").status_code == 200


@pytest.mark.parametrize("path", ["/ws", "/ws/lab", "/ws/seq"])
def test_a_socket_whose_host_and_origin_are_both_foreign_is_refused(make_client, path):
    client = make_client()
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path,
                                                                                headers=EVIL):
        pass
    assert refused.value.code == 1008
    ours = {"host": "127.0.0.1:18200", "origin": "http://127.0.0.1:18200"}
    with client.websocket_connect(path, headers=ours) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_allowed_hosts_let_that_name_in_on_pages_and_sockets(make_client):
    client = make_client(allowed_hosts="netplay.school.example")
    page = {"host": "netplay.school.example", "origin": "http://netplay.school.example"}
    assert client.get("/api/health", headers={"host": page["host"]}).status_code == 200
    with client.websocket_connect("/ws", headers=page) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_the_origin_check_itself_refuses_a_foreign_origin_host():
    # The lab's router on a bare app: no Host middleware, so the Origin check alone decides.
    client = TestClient(_bare_lab_app())
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/lab",
                                                                                headers=EVIL):
        pass
    assert refused.value.code == 1008
    ours = {"host": "localhost:8000", "origin": "http://localhost:8000"}
    with client.websocket_connect("/ws/lab", headers=ours) as ws:
        assert ws.receive_json()["type"] == "hello"


def _bare_lab_app() -> FastAPI:
    app = FastAPI()
    app.include_router(lab_router)
    return app


# --- framing ------------------------------------------------------------------------------
def test_no_page_may_frame_netplay_by_default(client):
    for path in ("/", "/api/health"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


def test_frame_ancestors_setting_allows_the_named_sites(make_client):
    own = make_client(frame_ancestors="self").get("/")
    assert "frame-ancestors 'self'" in own.headers["content-security-policy"]
    assert own.headers["x-frame-options"] == "SAMEORIGIN"
    course = make_client(frame_ancestors="https://course.example, 'self'").get("/")
    csp = course.headers["content-security-policy"]
    assert "frame-ancestors https://course.example 'self'" in csp
    assert "x-frame-options" not in course.headers  # it cannot name another site


@pytest.mark.parametrize("bad", ["https://a.example; script-src *", "none, self", "'unsafe-inline'",
                                 ""])
def test_a_frame_ancestors_value_that_could_bend_the_policy_is_refused(bad):
    with pytest.raises(SettingsError, match="NETPLAY_FRAME_ANCESTORS"):
        load({"NETPLAY_FRAME_ANCESTORS": bad})


# --- a real server ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_server() -> Iterator[int]:
    import uvicorn

    from server.wsproto import ws_setting

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(Settings(workers=1), bound_host="127.0.0.1"),
                            host="127.0.0.1", port=port, log_level="warning", ws=ws_setting())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _raw(port: int, request: str) -> str:
    """The status line and headers the server answers a hand-written request with."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode("latin-1")


def _get(host: str, path: str = "/api/health") -> str:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"


def _handshake(host: str, path: str) -> str:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def test_a_real_server_refuses_a_rebound_name_and_serves_its_own(real_server):
    port = real_server
    assert _raw(port, _get("evil.example")).startswith("HTTP/1.1 400")
    assert _raw(port, _get(f"127.0.0.1:{port}")).startswith("HTTP/1.1 200")
    assert _raw(port, _get(f"localhost:{port}")).startswith("HTTP/1.1 200")
    for path in ("/ws", "/ws/lab", "/ws/seq"):
        assert _raw(port, _handshake(f"evil.example:{port}", path)).startswith("HTTP/1.1 403")
        assert _raw(port, _handshake(f"127.0.0.1:{port}", path)).startswith("HTTP/1.1 101")
