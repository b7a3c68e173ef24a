"""Clients that leave, freeze or never read, against a real uvicorn on 127.0.0.1 (raw sockets
where the behaviour needs them). Every wait is bounded."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
import websockets
from aio import run_async
from serverproc import wait_for_health

from server.app import TRANSPORT_MAX_BYTES, create_app
from server.live import LiveRun
from server.settings import Settings
from server.wsproto import ws_setting

IDLE_S = 2.0




# The server's kernel send buffer per connection. Loopback grows it to 4 MB, which a
# non-reading client takes half a minute to fill at a few frames a second; a slow network
# fills the path sooner. Accepted sockets inherit it from the listening one (Linux).
SEND_BUFFER = 65_536


@contextlib.contextmanager
def serving(**settings: Any) -> Iterator[str]:
    """A real server with these settings, as `netplay serve` runs it; its `ws://` URL."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(Settings(**{"workers": 2, **settings}))
    config = uvicorn.Config(app, log_level="warning", ws_max_size=TRANSPORT_MAX_BYTES,
                            ws=ws_setting())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_for_health(f"http://127.0.0.1:{port}", 20)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


class RawClient:
    """A WebSocket client on a bare socket: it completes the handshake, sends what it is told,
    and reads nothing else, with a small receive buffer so the server's sends back up soon."""

    def __init__(self, url: str):
        host, port = url.removeprefix("ws://").split("/")[0].split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:  # only the handshake's answer; never a message
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, **message: Any) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        size = len(payload)
        head = struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else struct.pack(
            "!BBH", 0x81, 0x80 | 126, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def closed_by_server(self, deadline: float) -> bool:
        """Drain what the server sent; True once it has closed or dropped the connection
        (before `time.monotonic()` reaches `deadline`)."""
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(1 << 20):
                    return True
            except TimeoutError:
                continue
            except OSError:  # reset: the server aborted the connection
                return True
        return False

    def close(self) -> None:
        self.sock.close()


async def _admitted(url: str) -> bool:
    """Whether a new learner gets a session (its `start` answered with a config)."""
    async with websockets.connect(url, open_timeout=5) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if hello["type"] != "hello":
            return False
        await ws.send(json.dumps({"type": "start", "config": {"gridSize": 20}}))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "config"


def _wait_until_admitted(url: str, seconds: float) -> float:
    """Seconds until a new learner is admitted; fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if run_async(_admitted(url)):
            return time.monotonic() - started
        time.sleep(0.25)
    pytest.fail(f"no new learner admitted within {seconds} s")


# Big frames (a 200 × 200 grid, about 50 kB each) fill a non-reading client's buffers in a
# few frames, so the server's sends block well within the idle timeout.
BIG_FRAMES = {"gridSize": 200}


def _open_stuck(url: str, count: int, play: bool) -> list[RawClient]:
    """`count` raw clients that start (and play) and then never read.

    Opening many takes a while on a loaded machine: the first ones ping while the last ones
    connect, so that all of them go idle together, when the last has been opened.
    """
    clients: list[RawClient] = []
    refreshed = time.monotonic()
    for _ in range(count):
        c = RawClient(url)
        c.send(type="start", config=BIG_FRAMES)
        if play:
            c.send(type="play")
        clients.append(c)
        if time.monotonic() - refreshed > IDLE_S / 4:
            for other in clients:
                other.send(type="ping")
            refreshed = time.monotonic()
    for c in clients:
        c.send(type="ping")
    return clients


def _talk(clients: list[RawClient], seconds: float) -> None:
    """Ping, never reading: the server's frames pile up until its sends block, as they do
    after a minute or so on a real network, before the clients go quiet."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(IDLE_S / 4)
        for c in clients:
            with contextlib.suppress(OSError):  # a session already closed for not reading
                c.send(type="ping")


def test_64_clients_that_play_and_never_read_are_closed_after_the_idle_timeout():
    with serving(idle_timeout_s=IDLE_S, max_sessions=64) as url:
        clients: list[RawClient] = []
        try:
            clients = _open_stuck(url, 64, play=True)
            assert not run_async(_admitted(url))  # the server is full: too_many_sessions
            _talk(clients, 2 * IDLE_S)
            last_message = time.monotonic()
            _wait_until_admitted(url, IDLE_S + 10)
            assert time.monotonic() - last_message <= IDLE_S + 5
            # And their connections are gone, not left draining into a client that never reads
            # (one closed with the idle timeout's farewell waits uvicorn's 10 s for the echo).
            deadline = time.monotonic() + 20
            assert all(c.closed_by_server(deadline) for c in clients)
        finally:
            for c in clients:
                c.close()


@pytest.mark.parametrize("play", [False, True])
def test_a_frozen_client_loses_its_session_after_the_idle_timeout(play):
    with serving(idle_timeout_s=IDLE_S, max_sessions=1) as url:
        # It never reads, not even its hello, as a SIGSTOPped tab would not.
        frozen = _open_stuck(url, 1, play)
        try:
            last_message = time.monotonic()
            assert not run_async(_admitted(url))
            _wait_until_admitted(url, IDLE_S + 10)
            assert time.monotonic() - last_message <= IDLE_S + 5
        finally:
            frozen[0].close()


def test_a_big_step_stops_when_its_client_leaves(monkeypatch):
    slices = [0]
    real = LiveRun.train_toward

    def counted(self: LiveRun, *args: Any) -> bool:
        slices[0] += 1
        return real(self, *args)

    monkeypatch.setattr(LiveRun, "train_toward", counted)
    # The largest net at batch 1 on 5,000 points: 250,000 updates, about a minute of work.
    heavy = {"numSamples": 5000, "batchSize": 1, "networkShape": [8] * 8, "gridSize": 20}

    async def attack(url: str) -> None:
        for _ in range(2):
            async with websockets.connect(url) as ws:
                await ws.recv()
                await ws.send(json.dumps({"type": "start", "config": heavy}))
                for _ in range(4):
                    await asyncio.wait_for(ws.recv(), 20)
                await ws.send(json.dumps({"type": "step", "n": 100}))
                while slices[0] < 3:
                    await asyncio.sleep(0.01)

    async def frame_latency(url: str) -> float:
        async with websockets.connect(url) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "start", "config": {}}))
            for _ in range(4):
                await asyncio.wait_for(ws.recv(), 20)
            sent = time.monotonic()
            await ws.send(json.dumps({"type": "snapshot"}))
            await asyncio.wait_for(ws.recv(), 20)
            return time.monotonic() - sent

    with serving(max_step_updates=1_000_000) as url:
        run_async(attack(url))
        left = time.monotonic()
        settled = _settle(lambda: slices[0], 10)
        # Each slice is one frame budget (50 ms): after the close at most the slice in
        # progress runs, where the whole step would have been thousands of slices.
        assert settled < 100, settled
        assert time.monotonic() - left < 10
        assert run_async(frame_latency(url)) < 2.0  # the workers are free for others


def _settle(count: Callable[[], int], seconds: float) -> int:
    """The counter's value once it has not moved for a second (within `seconds`)."""
    deadline = time.monotonic() + seconds
    seen = count()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = count()
        if now == seen:
            return now
        seen = now
    pytest.fail(f"still counting after {seconds} s: {seen}")
