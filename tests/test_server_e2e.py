"""End to end: a real uvicorn on 127.0.0.1 and the `websockets` client, written from
docs/protocol.md alone; and the `netplay` command itself. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from serverproc import free_port, wait_for_health

from server.app import TRANSPORT_MAX_BYTES, create_app
from server.client import LiveClient, lab_message
from server.settings import Settings
from server.wsproto import ws_setting

ROOT = Path(__file__).resolve().parents[1]






@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(Settings(workers=2)), host="127.0.0.1", port=port,
                            log_level="warning", ws_max_size=TRANSPORT_MAX_BYTES,
                            ws=ws_setting())  # as `netplay serve` runs it
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, 20)
    yield url
    server.should_exit = True
    thread.join(10)


async def session_script(url: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with websockets.connect(url.replace("http", "ws") + "/ws", max_size=2**24) as ws:
        c = LiveClient(ws, arrays=True, inflate=True)  # start below asks for deflate-raw
        assert ws.protocol.extensions == []  # /ws frames are compressed on the worker threads
        assert (await c.next())["type"] == "hello"
        await c.send(type="start", config={}, compression="deflate-raw")
        assert (await c.next())["type"] == "config"
        assert (await c.next())["type"] == "data"
        assert (await c.next())["epoch"] == 0
        assert (await c.next())["state"] == "paused"

        await c.send(type="play")
        assert (await c.next())["state"] == "playing"
        t0, frames, first = time.perf_counter(), 0, None
        while time.perf_counter() - t0 < 1.5:
            frame = await c.until("frame")
            first = first or frame
            frames += 1
        figures["frames_per_s"] = frames / (time.perf_counter() - t0)
        assert frame["steps"] > first["steps"] and frame["state"] == "playing"
        assert frame["_arrays"]["output"].shape == (100, 100)

        # λ changed live: the next frames carry it, with the weights still training on.
        sent = time.perf_counter()
        await c.send(type="update", changes={"regularization": "L2", "regularizationRate": 0.03})
        while True:
            msg = await c.next()
            if msg["type"] == "frame" and msg["live"]["regularizationRate"] == 0.03:
                break
        figures["update_to_frame_ms"] = (time.perf_counter() - sent) * 1000
        assert msg["epoch"] >= frame["epoch"] and msg["metrics"]["reg_loss"] > 0

        await c.send(type="pause")
        assert (await c.until("state"))["state"] == "paused"
        await c.send(type="step", n=2)
        stepped = await c.next()
        assert stepped["type"] == "frame" and stepped["epoch"] >= msg["epoch"] + 2
        await c.send(type="reset")
        reset = await c.next()
        assert (reset["epoch"], reset["steps"]) == (0, 0)
        assert (await c.next())["state"] == "paused"
    return figures


async def negotiated_extensions(url: str) -> list[str]:
    async with websockets.connect(url) as ws:
        return [e.name for e in ws.protocol.extensions]


def test_only_the_image_lab_socket_negotiates_permessage_deflate(server_url):
    # A room's viewers are sent the teacher's frames, deflated once: not again per viewer.
    base = server_url.replace("http", "ws")
    with ThreadPoolExecutor(1) as pool:
        lab = pool.submit(asyncio.run, negotiated_extensions(base + "/ws/lab")).result()
        live = pool.submit(asyncio.run, negotiated_extensions(base + "/ws")).result()
        room = pool.submit(asyncio.run, negotiated_extensions(base + "/ws/room/x")).result()
    assert (lab, live, room) == (["permessage-deflate"], [], [])


def test_a_protocol_client_trains_live_against_uvicorn(server_url):
    # A thread of its own: the browser tests' Playwright keeps an event loop on the main thread.
    with ThreadPoolExecutor(1) as pool:
        figures = pool.submit(
            asyncio.run, asyncio.wait_for(session_script(server_url), 60)
        ).result()
    print(f"\ne2e figures: {figures}")
    # Loose bounds: the machine is shared; benchmarks measure speed, this checks the flow.
    assert figures["frames_per_s"] >= 10
    assert figures["update_to_frame_ms"] < 1000
    deadline = time.monotonic() + 5
    while wait_for_health(server_url, 5)["sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wait_for_health(server_url, 5)["sessions"] == 0  # close freed the session


def test_the_netplay_command_serves_and_prints_its_url():
    port = free_port()
    env = {**os.environ, "NETPLAY_MAX_SESSIONS": "7"}
    proc = subprocess.Popen(  # serve's flags alone mean serve: `netplay --port N`
        [sys.executable, "-m", "server.cli", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        wait_for_health(f"http://127.0.0.1:{port}", 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schema", timeout=5) as r:
            assert json.load(r)["limits"]["max_sessions"] == 7
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_serve_with_two_processes_passes_its_settings_and_shares_the_session_counts():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--processes", "2",
         "--max-sessions", "3", "--lab-max-sessions", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while len(wait_for_health(url, 60)["sessions_per_process"]) < 2:  # both are up
            assert time.monotonic() < deadline, "the second process never started"
            time.sleep(0.2)
        for _ in range(4):  # whichever process answers, the flag reached it
            with urllib.request.urlopen(f"{url}/api/schema", timeout=5) as r:
                assert json.load(r)["limits"]["max_sessions"] == 3

        async def fill() -> list[dict[str, Any]]:
            replies = []
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(4):  # the 4th is one too many, whichever process it reaches
                    ws = await stack.enter_async_context(
                        websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10))
                    replies.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                    await asyncio.sleep(0.1)  # its process has published its count
                for _ in range(2):  # the image lab's: the 2nd is one too many, on either process
                    lab = await stack.enter_async_context(
                        websockets.connect(f"ws://127.0.0.1:{port}/ws/lab", open_timeout=10))
                    replies.append(lab_message(await asyncio.wait_for(lab.recv(), 10)))
                    await asyncio.sleep(0.1)
                health = [wait_for_health(url, 5) for _ in range(6)]
            return replies, health

        with ThreadPoolExecutor(1) as pool:  # a thread of its own: the browser tests' loop
            replies, health = pool.submit(asyncio.run, fill()).result()
        assert [r["type"] for r in replies] == ["hello"] * 3 + ["error", "hello", "error"]
        assert replies[3]["code"] == replies[5]["code"] == "too_many_sessions"
        assert {h["sessions"] for h in health} == {3}  # every process counts them all
        assert {h["lab_sessions"] for h in health} == {1}  # the lab's too, apart from /ws's
        assert all(len(h["sessions_per_process"]) == 2 for h in health)
        assert all(sorted(h["lab_sessions_per_process"]) == [0, 1] for h in health)
    finally:
        proc.terminate()
        proc.wait(20)


def test_bad_settings_stop_the_command_with_a_named_error():
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--max-fps", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 2 and "--max-fps" in out.stderr


async def room_script(url: str) -> dict[str, Any]:
    """A teacher plays and shares; one viewer reads every message, another reads nothing until
    the teacher pauses."""
    base = url.replace("http", "ws")

    def kind(message: bytes) -> str:
        raw = zlib.decompressobj(-15).decompress(message, 64)
        return json.loads(raw[4:64].split(b",")[0] + b"}")["type"]

    out: dict[str, Any] = {"quick": 0, "slow": 0}
    async with websockets.connect(base + "/ws", max_size=2**24) as teacher:
        await teacher.recv()  # hello
        await teacher.send(json.dumps({"type": "start", "config": {}, "compression": "deflate-raw"}))
        await teacher.send(json.dumps({"type": "share_live", "name": "t"}))
        while True:
            message = await teacher.recv()
            if isinstance(message, str) and json.loads(message)["type"] == "room":
                room = json.loads(message)["id"]
                break
        slow = await websockets.connect(f"{base}/ws/room/{room}", max_size=2**24, max_queue=1)
        async with websockets.connect(f"{base}/ws/room/{room}", max_size=2**24) as quick:
            assert quick.protocol.extensions == [] and slow.protocol.extensions == []
            await teacher.send(json.dumps({"type": "play"}))
            ends = time.monotonic() + 3.0
            teacher_frames = 0

            async def drain_teacher() -> None:
                nonlocal teacher_frames
                while True:
                    m = await teacher.recv()
                    teacher_frames += isinstance(m, bytes) and kind(m) == "frame"

            drainer = asyncio.create_task(drain_teacher())
            while time.monotonic() < ends:
                m = await quick.recv()
                out["quick"] += isinstance(m, bytes) and kind(m) == "frame"
            await teacher.send(json.dumps({"type": "stop_sharing"}))
            async for m in quick:
                if isinstance(m, str) and json.loads(m)["type"] == "room_ended":
                    out["quick_ended"] = True
            async for m in slow:  # now it reads: what waited for it, then the end
                out["slow"] += isinstance(m, bytes) and kind(m) == "frame"
                if isinstance(m, str) and json.loads(m)["type"] == "room_ended":
                    out["slow_ended"] = True
            drainer.cancel()
            out["teacher"] = teacher_frames
    return out


def test_a_room_sends_each_viewer_what_it_can_read_and_ends_for_all(server_url):
    with ThreadPoolExecutor(1) as pool:
        out = pool.submit(asyncio.run, asyncio.wait_for(room_script(server_url), 60)).result()
    print(f"\nroom figures: {out}")
    assert out["quick_ended"] and out["slow_ended"]
    # Written straight to each viewer's transport: the viewer that read got frames all along,
    # at most one per teacher frame; the one that read late got what its buffers held, then
    # the end. (Holding frames back from a full transport: test_rooms.py.)
    assert 0 < out["quick"] <= out["teacher"] and out["slow"] > 0
