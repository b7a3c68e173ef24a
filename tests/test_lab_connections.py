"""Image-lab connections against a real `netplay serve` on 127.0.0.1: nothing of a session
outlives its socket, and clients that never read cost a bounded amount and are closed.

Clients are written from docs/lab-protocol.md with the `websockets` library. Every wait is
bounded; the server's threads, memory and CPU time are read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import websockets
from serverproc import free_port

from server.client import lab_message

ROOT = Path(__file__).resolve().parents[1]
SMALL = "in8x8x1-conv8k3p1-relu-maxpool2-fc10"

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")




class Server:
    """`netplay serve` in a process of its own, with some settings as flags."""

    def __init__(self, **settings: Any):
        self.port = free_port()
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), *flags],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.lab = f"ws://127.0.0.1:{self.port}/ws/lab"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/api/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def status(self, key: str) -> int:
        """A number from /proc/PID/status: `Threads`, `VmRSS` (kB)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


@pytest.fixture
def make_server() -> Iterator[Any]:
    started: list[Server] = []

    def make(**settings: Any) -> Server:
        started.append(Server(**settings))
        return started[-1]

    yield make
    for server in started:
        log = server.stop()
        assert "Traceback" not in log, log


def run_loop(coroutine: Any, seconds: float = 60) -> Any:
    """On a thread of its own: another test may leave a loop running on this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, asyncio.wait_for(coroutine, seconds)).result()


def connect(url: str, reading: bool = True) -> Any:
    """A lab client; one that does not read keeps its receive buffer small, so that the
    server's writes block soon, as they would for a frozen tab after the kernel's buffers."""
    sock = socket.socket()
    if not reading:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])))
    return websockets.connect(url, sock=sock, max_size=None, max_queue=1 if not reading else 16,
                              origin=url.replace("ws://", "http://").rsplit("/ws", 1)[0],
                              compression=None, close_timeout=1)


async def receive_until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = lab_message(await asyncio.wait_for(ws.recv(), 30))
        if message["type"] == kind:
            return message
        assert message["type"] != "error", message


async def start(ws: Any, preset: str) -> None:
    """`start`, pinging while it builds: the server's first start imports and loads data for
    seconds, longer than the short idle timeouts of these tests."""
    await ws.send(json.dumps({"type": "start", "url": f"preset={preset}"}))
    while True:
        try:
            message = lab_message(await asyncio.wait_for(ws.recv(), 0.5))
        except TimeoutError:
            await ws.send(json.dumps({"type": "ping"}))
            continue
        assert message["type"] != "error", message
        if message["type"] == "state":
            return


def test_lab_sessions_that_connect_step_and_leave_leave_no_thread_memory_or_cpu(make_server):
    server = make_server()

    async def cycle() -> None:
        async with connect(server.lab) as ws:
            await ws.send(json.dumps({"type": "start", "url": "preset=resnet-mini"}))
            await receive_until(ws, "state")
            await ws.send(json.dumps({"type": "step", "n": 1000}))  # leave while it trains
            await ws.send(json.dumps({"type": "play"}))

    run_loop(cycle())  # the first one starts the shared workers and loads the data
    time.sleep(1.0)
    threads, rss = server.status("Threads"), server.status("VmRSS")

    async def cycles() -> None:
        for _ in range(20):
            await cycle()

    run_loop(cycles(), 120)
    deadline = time.monotonic() + 10
    while server.status("Threads") > threads and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.status("Threads") == threads
    cpu = server.cpu_seconds()
    time.sleep(1.0)
    assert server.cpu_seconds() - cpu < 0.2  # nothing trains once everyone has left
    assert server.status("VmRSS") < rss * 1.1 + 20_000  # kB; within 10 % (+20 MB of slack)


def test_sixteen_lab_clients_that_never_read_are_closed_after_the_idle_timeout(make_server):
    idle = 2.0
    server = make_server(idle_timeout_s=idle)

    async def scenario() -> tuple[str, float]:
        stuck: list[Any] = []
        async with contextlib.AsyncExitStack() as stack:
            try:
                for _ in range(16):  # start and play, then never read nor send
                    ws = await stack.enter_async_context(connect(server.lab, reading=False))
                    stuck.append(ws)
                    await ws.send(json.dumps({"type": "start", "url": "preset=small-digits"}))
                    await ws.send(json.dumps({"type": "play"}))
                started = time.monotonic()
                await asyncio.sleep(0.5)
                async with connect(server.lab) as ws:
                    full = lab_message(await asyncio.wait_for(ws.recv(), 10))
                assert full["code"] == "too_many_sessions"
                while True:  # a new learner is admitted once the stuck sessions are closed
                    async with connect(server.lab) as ws:
                        first = lab_message(await asyncio.wait_for(ws.recv(), 10))
                    if first["type"] == "hello":
                        return first["type"], time.monotonic() - started
                    assert time.monotonic() - started < idle + 10, "the lab stayed full"
                    await asyncio.sleep(0.25)
            finally:
                # No closing handshake with clients that do not read: each would wait out
                # its close timeout in turn.
                for ws in stuck:
                    ws.transport.abort()

    kind, waited = run_loop(scenario())
    assert kind == "hello" and waited < idle + 5


def test_a_lab_client_that_sends_but_never_reads_costs_bounded_memory_and_is_closed(
        make_server):
    idle = 2.0
    server = make_server(idle_timeout_s=idle)

    async def scenario() -> tuple[list[int], int, bool]:
        for reading in (True, False):  # first warm: data loaded, some frames of this net made
            async with connect(server.lab, reading=reading) as ws:
                await start(ws, "tiny-vgg")
                for _ in range(3):
                    await ws.send(json.dumps({"type": "step"}))
                    await receive_until(ws, "state")
                if reading:
                    continue
                rss = [server.status("VmRSS")]
                for i in range(60):  # 12 s; steps in the first 4 s (a ~170 KB frame each), unread
                    if i < 20:
                        for _ in range(4):
                            await ws.send(json.dumps({"type": "step"}))
                    await asyncio.sleep(0.2)
                    rss.append(server.status("VmRSS"))
                frames, closed = 0, False
                try:
                    while True:  # read what is left: the server closed the session meanwhile
                        if lab_message(await asyncio.wait_for(ws.recv(), 5))["type"] == "frame":
                            frames += 1
                except websockets.ConnectionClosed:
                    closed = True
                except TimeoutError:
                    pass
        return rss, frames, closed

    rss, frames, closed = run_loop(scenario())
    # 80 steps sent: the session answered only those that fit its queues and the socket's
    # buffers (about 4 MB in the kernel here), then its writes stalled and it was closed.
    assert closed and frames <= 50, frames
    # The server's memory stayed within a bound, and stopped growing.
    assert max(rss) - rss[0] < 60_000, rss  # kB
    # Over the last 5 s nothing grew past where it stood before them (giving back is fine).
    assert max(rss[-25:]) - rss[-26] < 10_000, rss
