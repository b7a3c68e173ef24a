"""Attacks by what a client writes rather than how much it asks: numbers too large for any
machine type, JSON nested deeply, a foreign Host (DNS rebinding), a page that frames ours. Each
against a real `netplay serve`, followed by the bars of tests/attack_bars.py."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from attack_bars import before, check_after, run_async
from serverproc import http

from server.client import connect_lab, connect_live

pytestmark = pytest.mark.attack

HUGE = "9" * 5000  # beyond Python's 4,300-digit int parsing limit
TWO_63, TWO_64 = 2**63, 2**64
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
# The error codes the protocols name, and a lab link's warning naming the key it left at its
# default (docs/lab-protocol.md, `start`).
TYPED = {"bad_json", "bad_message", "bad_value", "too_large", "not_started", "warning"}

LIVE_ATTACKS = [
    f'{{"type":"step","n":{HUGE}}}',
    f'{{"type":"step","n":{TWO_64}}}',
    f'{{"type":"speed","steps_per_frame":{-TWO_63 - 1}}}',
    '{"type":"speed","steps_per_frame":1e999}',
    f'{{"type":"set_weight","layer":{TWO_63},"to":0,"from":0,"value":1}}',
    f'{{"type":"set_bias","layer":0,"to":{TWO_64},"value":1}}',
    '{"type":"set_weight","layer":0,"to":0,"from":0,"value":1e999}',
    f'{{"type":"update","changes":{{"removed":[{TWO_63}]}}}}',
    '{"type":"update","changes":{"removed":"99999999999999999999999"}}',
    f'{{"type":"update","changes":{{"numSamples":{TWO_64}}}}}',
    '{"type":"update","changes":{"gridSize":1e999}}',
    f'{{"type":"update","changes":{{"learningRate":{HUGE}}}}}',
    f'{{"type":"reseed","seed":{TWO_64}}}',
    DEEP,
    f'{{"type":"ping","id":{DEEP}}}',
    f'{{"type":"update","changes":{DEEP_OBJECT}}}',
]
LAB_ATTACKS = [
    f'{{"type":"step","n":{HUGE}}}',
    f'{{"type":"step","n":{TWO_64}}}',
    f'{{"type":"select","example":{TWO_64}}}',
    f'{{"type":"dream","layer":{TWO_63},"unit":{TWO_64}}}',
    f'{{"type":"predict","size":{TWO_64},"pixels":""}}',
    f'{{"type":"update","changes":{{"batchSize":{TWO_64}}}}}',
    '{"type":"update","changes":{"samples":1e999}}',
    f'{{"type":"update","changes":{{"learningRate":{HUGE}}}}}',
    f'{{"type":"start","config":{{"samples":{HUGE}}}}}',
    f'{{"type":"start","url":"samples={"9" * 3000}"}}',
    DEEP,
    f'{{"type":"ping","id":{DEEP}}}',
]
HTTP_ATTACKS: list[tuple[str, dict[str, Any] | None]] = [
    ("/api/parse?url=numSamples%3D99999999999999999999999", None),
    ("/api/parse?url=removed%3D99999999999999999999999", None),
    ("/api/preview?max_points=99999999999999999999&url=", None),
    ("/api/preview?url=removed%3D9223372036854775808", None),
    ("/api/lab/summary?net=in99999999999999999999x2x1-fc10", None),
    ("/api/parse", {"config": {"numSamples": TWO_64}}),
    ("/api/parse", {"config": {"removed": [TWO_63]}}),
    ("/api/parse", {"config": {"networkShape": [TWO_64]}}),
    ("/api/compare/step", {"url": "runs=2&removed=99999999999999999999", "client": "x",
                           "epoch": 0, "epochs": 0}),
    ("/api/compare/step", {"url": "runs=2", "client": "x", "epoch": TWO_64, "epochs": 0}),
    ("/api/sweep", {"url": "", "param": "removed", "values": ["99999999999999999999"],
                    "epochs": 1}),
    ("/api/sweep", {"url": "", "param": "numSamples", "values": ["1e999"], "epochs": TWO_64}),
]


async def _answers(client: Any, attacks: list[str]) -> list[list[dict[str, Any]]]:
    """Each attack, then a `ping` with its number: what came back before that `pong`."""
    replies = []
    for k, text in enumerate(attacks):
        await client.send_text(text)
        await client.send(type="ping", id=k)
        got = []
        while True:
            msg = await client.next(10)
            if msg["type"] == "pong" and msg.get("id") == k:
                break
            if msg["type"] == "_closed":  # the rest cannot be sent: the answer ends here
                replies.append([{"code": "_closed", "field": msg.get("code")}])
                return replies
            if msg["type"] == "error":
                got.append({"code": msg["code"], "field": msg["field"]})
            elif msg["type"] == "config":  # a link opens at defaults, naming each bad key
                got += [{"code": "warning", "field": w.split(":")[0]}
                        for w in msg.get("warnings", []) if "opens at its default" in w]
        replies.append(got)
    return replies


def _untyped(attacks: list[str], replies: list[list[dict[str, Any]]]) -> list[str]:
    """The attacks not answered by exactly the typed errors the protocols name."""
    bad = []
    for text, got in zip(attacks, replies, strict=True):
        is_ping = text.startswith('{"type":"ping"')
        if any(r["code"] not in TYPED for r in got) or (not got and not is_ping):
            bad.append(f"{text[:60]}… → {got}")
    return bad


def test_huge_integers_and_deep_json_get_typed_errors(attack_servers, attack_server):
    """Every message above on both sockets gets a typed error (never `internal`), the socket
    stays open, the session still trains, and the HTTP routes answer 4xx, never 500."""
    was = before(attack_server, "lab")

    async def attack() -> dict[str, Any]:
        async with connect_live(attack_server.url) as live:
            await live.start({})
            live_replies = await _answers(live, LIVE_ATTACKS)
            trained = updated = None
            if len(live_replies) == len(LIVE_ATTACKS):
                await live.send(type="step", n=1)
                trained = (await live.until("frame"))["epoch"]
                await live.send(type="update", changes={"learningRate": 0.01})
                updated = (await live.until("config"))["config"]["learningRate"]
        async with connect_lab(attack_server.url) as lab, lab.pinging():
            await lab.start({"preset": "small-digits"}, timeout=20)
            lab_replies = await _answers(lab, LAB_ATTACKS)
            lab_steps = None
            if len(lab_replies) == len(LAB_ATTACKS):
                await lab.send(type="step", n=1)
                lab_steps = (await lab.until("frame"))["steps"]
        return {"live": live_replies, "trained_epoch": trained, "updated_lr": updated,
                "lab": lab_replies, "lab_steps": lab_steps}

    numbers = run_async(attack(), 60)
    statuses = {path: http(attack_server.url + path, body)[0] for path, body in HTTP_ATTACKS}
    failures = _untyped(LIVE_ATTACKS, numbers["live"]) + _untyped(LAB_ATTACKS, numbers["lab"])
    failures += [f"{path} answered {status}" for path, status in statuses.items()
                 if status >= 500]
    if (numbers["trained_epoch"] or 0) < 1 or numbers["updated_lr"] != 0.01:
        failures.append(f"the /ws session no longer trains: epoch {numbers['trained_epoch']}, "
                        f"learning rate {numbers['updated_lr']}")
    if (numbers["lab_steps"] or 0) < 1:
        failures.append("the lab session no longer trains")
    summary = {"live_errors": sum(map(len, numbers["live"])),
               "lab_errors": sum(map(len, numbers["lab"])),
               "http_statuses": sorted(set(statuses.values()))}
    check_after(attack_servers, "huge integers and deep JSON", was, time.perf_counter(),
                summary, failures)


def _handshake(port: int, path: str, host: str, origin: str | None) -> int:
    """The HTTP status a WebSocket handshake with these `Host` and `Origin` headers gets."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13", *([f"Origin: {origin}"] if origin else [])]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_dns_rebinding_a_foreign_host_is_refused(attack_servers, attack_server):
    """A page at http://attacker.example:PORT whose name resolves to 127.0.0.1 sends its own
    Host and a matching Origin: the sockets and the routes must refuse it, while the loopback
    names keep working."""
    was = before(attack_server)
    port = attack_server.port
    evil = f"attacker.example:{port}"
    got = {
        "ws_evil": _handshake(port, "/ws", evil, f"http://{evil}"),
        "ws_lab_evil": _handshake(port, "/ws/lab", evil, f"http://{evil}"),
        "ws_evil_no_origin": _handshake(port, "/ws", evil, None),
        "http_evil": http(f"{attack_server.url}/api/health", headers={"Host": evil})[0],
        "page_evil": http(f"{attack_server.url}/", headers={"Host": evil})[0],
        "ws_loopback": _handshake(port, "/ws", f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"),
        "ws_localhost": _handshake(port, "/ws", f"localhost:{port}", f"http://localhost:{port}"),
        "page_localhost": http(f"{attack_server.url}/", headers={"Host": f"localhost:{port}"})[0],
    }
    failures = [f"{name} answered {status}" for name, status in got.items()
                if ("evil" in name) == (status in (101, 200))]
    check_after(attack_servers, "DNS rebinding Host/Origin", was, time.perf_counter(), got,
                failures)


def test_pages_cannot_be_framed_by_other_sites(attack_servers, attack_server):
    """Every page says `frame-ancestors 'none'` in its Content-Security-Policy."""
    was = before(attack_server)
    policies = {path: http(attack_server.url + path)[1].get("content-security-policy", "")
                for path in ("/", "/lab", "/compare")}
    failures = [f"{path}: {policy!r}" for path, policy in policies.items()
                if "frame-ancestors 'none'" not in policy]
    check_after(attack_servers, "framing header", was, time.perf_counter(),
                {"framed": sorted(p for p in policies if p in str(failures))}, failures)
