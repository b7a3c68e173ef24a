"""Attacks on `/ws` and the HTTP routes of a real `netplay serve`, each bounded in time, each
followed by the same bars (tests/attack_bars.py): alive, health within 100 ms, a canary at
>= 20 frames/s within 5 s, threads and memory back within 10 %, nothing left running.

Clients are written from docs/protocol.md; the image lab's attacks are in test_attacks_lab.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from typing import Any

import pytest
from attack_bars import (
    CANARY_FPS,
    HEAVY_2D,
    IDLE_TIMEOUT_S,
    before,
    check_after,
    run_async,
)
from serverproc import ROOT, http

from server.client import ServerError, abort, canary, connect_live

pytestmark = pytest.mark.attack

FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
# The largest net and the slowest epoch the parameter table allows (29,762 parameters,
# 5,000 samples at batch 1: 2,500 updates an epoch).
BIGGEST = {"networkShape": [64] * 8, **{f: True for f in FEATURES}, "batchSize": 1,
           "numSamples": 5000}
BIGGEST_LINK = ("networkShape=64,64,64,64,64,64,64,64&batchSize=1&numSamples=5000&"
                + "&".join(f"{f}=true" for f in FEATURES))


def give_up(url: str, path: str, body: Any, after_s: float) -> str:
    """POST `body`, wait at most `after_s` for the answer to begin, then hang up. Returns what
    happened: the status if one came in time, else "gave up"."""
    host, port = url.removeprefix("http://").split(":")
    conn = HTTPConnection(host, int(port), timeout=after_s)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"content-type": "application/json"})
        return str(conn.getresponse().status)
    except (TimeoutError, OSError):
        return "gave up"
    finally:
        conn.close()


# --- work that outlives its client ----------------------------------------------------------

def test_big_steps_then_disconnect(attack_servers, attack_server):
    """Two learners ask for the longest `step` the server allows on the slowest net, and leave
    at once: the work must stop with them. The baseline has the big net's own warm-up: its
    frames are drawn by torch's matrix products, whose buffers stay in the worker threads'
    arenas (the default net's frames, drawn in the C kernel, leave them small)."""
    was = before(attack_server, "heavy")

    async def attack() -> dict[str, Any]:
        async def one() -> int:
            async with connect_live(attack_server.url, hello=False) as c:
                hello = await c.hello()
                await c.start(BIGGEST, timeout=20)
                n = hello["limits"]["max_step_epochs"]
                await c.send(type="step", n=n)
                await asyncio.sleep(0.2)  # the step is under way when the socket closes
                return n

        return {"step_epochs": await asyncio.gather(one(), one())}

    numbers = run_async(attack(), 40)
    check_after(attack_servers, "big step then disconnect", was, time.perf_counter(), numbers)


def test_a_links_longest_replay_ends_when_its_client_leaves(attack_servers, attack_server):
    """A link to the last epoch the replay limit allows on the largest net: minutes of
    training before the first frame. The client hears how far it has got, then leaves; the
    replay must stop with it (it ran on for minutes, and a page that reconnected and asked
    again ran another beside it)."""
    was = before(attack_server, "heavy")

    async def attack() -> dict[str, Any]:
        async with connect_live(attack_server.url, hello=False) as c:
            hello = await c.hello()
            epoch = hello["limits"]["max_replay_updates"] // 2500 - 1  # 2,500 updates each
            await c.send(type="start", url=f"?at={epoch}&{BIGGEST_LINK}")
            progress = await c.until("progress", 10)
        assert 0 < progress["done"] < progress["of"] == epoch * 2500, progress
        return {"at": epoch, "done": progress["done"]}

    numbers = run_async(attack(), 30)
    check_after(attack_servers, "longest link replay then leave", was, time.perf_counter(),
                numbers)


def test_compare_replays_to_a_huge_epoch_then_the_client_gives_up(attack_servers, attack_server):
    """Four compare requests that replay six of the largest nets to epoch 20,000; each client
    gives up after a second. Replays must be bounded and end with their request."""
    was = before(attack_server)
    link = "runs=6&" + BIGGEST_LINK

    def one(k: int) -> str:
        return give_up(attack_server.url, "/api/compare/step",
                       {"url": link, "client": f"attacker{k}", "epoch": 20000, "epochs": 200},
                       after_s=1.0)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(4)))
    check_after(attack_servers, "compare replay then give up", was, time.perf_counter(),
                {"answers": answers})


def test_sweep_then_disconnect(attack_servers, attack_server):
    """A sweep of the largest net at the most epochs allowed; the client hangs up as soon as
    the answer begins (or after a second without one). Its points must stop training."""
    was = before(attack_server, "sweep")
    _, _, body = http(f"{attack_server.url}/api/schema")
    limits = json.loads(body)["limits"]
    sweep = {"url": BIGGEST_LINK, "param": "learningRate",
             "values": ["0.001", "0.003", "0.01", "0.03"][: limits["max_sweep_values"]],
             "epochs": limits["max_sweep_epochs"]}
    answer = give_up(attack_server.url, "/api/sweep", sweep, after_s=1.0)
    check_after(attack_servers, "sweep then disconnect", was, time.perf_counter(),
                {"answer": answer, "epochs": sweep["epochs"]})


# --- starving the others --------------------------------------------------------------------

def test_heavy_frame_drawing_leaves_the_canary_its_frames(attack_servers, attack_server):
    """Two learners at the largest grid with k-NN over 5,000 points, playing as fast as the
    server lets them; a canary meanwhile must still get its frames."""
    was = before(attack_server, "heavy")
    heavy = HEAVY_2D

    async def attack() -> dict[str, Any]:
        async def learner() -> int:
            async with connect_live(attack_server.url) as c:
                await c.start(heavy, timeout=20)
                await c.send(type="speed", steps_per_frame=5000)
                return len(await c.play(5.0))

        async def watcher():
            await asyncio.sleep(1.0)  # both heavy learners are playing
            return await canary(attack_server.url, 3.5)

        *frames, during = await asyncio.gather(learner(), learner(), watcher())
        return {"heavy_frames": frames, "canary_fps_during": round(during.fps, 1),
                "canary_max_gap_s_during": round(during.max_gap_s, 2)}

    numbers = run_async(attack(), 40)
    failures = [] if numbers["canary_fps_during"] >= CANARY_FPS else [
        f"canary got {numbers['canary_fps_during']} frames/s beside two heavy drawers"]
    check_after(attack_servers, "heavy frame drawing", was, time.perf_counter(), numbers,
                failures)


def test_a_preview_burst_does_not_stall_the_canary(attack_servers, attack_server):
    """48 previews of 5,000 points each (distinct seeds, so no cache helps), 8 at a time,
    while a canary plays."""
    was = before(attack_server)

    def preview(k: int) -> int:
        url = (f"{attack_server.url}/api/preview?max_points=5000&"
               f"url=numSamples%3D5000%26seed%3Dburst{k}")
        return http(url, timeout=30)[0]

    async def attack() -> dict[str, Any]:
        watch = asyncio.create_task(canary(attack_server.url, 4.0))
        await asyncio.sleep(0.5)
        with ThreadPoolExecutor(8) as pool:
            statuses = await asyncio.get_running_loop().run_in_executor(
                None, lambda: list(pool.map(preview, range(48))))
        during = await watch
        return {"statuses": sorted(set(statuses)), "canary_fps_during": round(during.fps, 1),
                "canary_max_gap_s_during": round(during.max_gap_s, 2)}

    numbers = run_async(attack(), 60)
    failures = [] if numbers["canary_max_gap_s_during"] <= 0.5 else [
        f"the canary waited {numbers['canary_max_gap_s_during']} s for a frame during the burst"]
    check_after(attack_servers, "preview burst", was, time.perf_counter(), numbers, failures)


# --- clients that hold a session without talking ---------------------------------------------

async def _admitted_within(url: str, seconds: float) -> float | None:
    """Seconds until a new learner gets `hello` (not `too_many_sessions`), or None."""
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        with contextlib.suppress(ServerError, OSError, TimeoutError):
            async with connect_live(url, open_timeout=2):
                return time.perf_counter() - began
        await asyncio.sleep(0.5)
    return None


async def _stuck_learner(url: str, port: int, stack: contextlib.AsyncExitStack,
                         clients: list[Any]) -> None:
    """A learner that starts and, once told to play, neither reads nor sends. Its kernel
    buffer is small and its frames large (every neuron of 8 layers of 64: 325 kB), so the
    server's writes to it stop seconds after it stalls rather than a minute."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    c = await stack.enter_async_context(
        connect_live(url, sock=sock, max_queue=1, ping_interval=None))
    clients.append(c)
    await c.start(STUCK, compression=False, timeout=20)
    await c.send(type="speed", steps_per_frame=1)


STUCK = {"networkShape": [64] * 8, "gridSize": 20}


def test_non_reading_clients_lose_their_sessions_after_the_idle_timeout(
        attack_servers, attack_server):
    """64 learners start, play and never read again (nor send): the session cap is full.
    Every one of their sessions must close, and a new learner be admitted, within the idle
    timeout plus 5 s."""
    was = before(attack_server)
    limit = IDLE_TIMEOUT_S + 5

    async def attack() -> dict[str, Any]:
        clients: list[Any] = []
        async with contextlib.AsyncExitStack() as stack:
            try:
                await asyncio.gather(*(_stuck_learner(attack_server.url, attack_server.port,
                                                      stack, clients) for _ in range(64)))
                for c in clients:  # all at once: their idle timers start together
                    await c.send(type="play")
                filled = time.perf_counter()
                refused = None
                with contextlib.suppress(ServerError):
                    async with connect_live(attack_server.url, open_timeout=5):
                        refused = False
                admitted = await _admitted_within(attack_server.url, limit)
                admitted_s = admitted and round(time.perf_counter() - filled, 1)
                while (left := attack_server.health(tries=1).body["sessions"]) and (
                        time.perf_counter() - filled < limit):
                    await asyncio.sleep(0.25)
                return {"held": len(clients), "65th_refused": refused is None,
                        "admitted_after_s": admitted_s, "sessions_left": left,
                        "rss_held_mb": round(attack_server.rss_mb())}
            finally:
                abort(clients)  # no closing handshake with clients that do not read

    numbers = run_async(attack(), 90)
    failures = []
    if not numbers["65th_refused"]:
        failures.append("the 64 stuck learners did not fill the server: nothing was proven")
    if numbers["admitted_after_s"] is None or numbers["sessions_left"]:
        failures.append(f"{numbers['sessions_left']} stuck sessions held and a new learner "
                        f"admitted after {numbers['admitted_after_s']} s (bar {limit:g} s)")
    check_after(attack_servers, "64 non-reading /ws clients", was, time.perf_counter(),
                numbers, failures)


FROZEN_CLIENT = """
import asyncio, json, sys
from server.client import connect_live
async def main():
    async with connect_live(sys.argv[1]) as c:
        await c.start(json.loads(sys.argv[2]), compression=False)
        await c.send(type="speed", steps_per_frame=1)
        print("playing", flush=True)
        await c.play(60.0, ack=False)
asyncio.run(main())
"""


def test_a_frozen_client_loses_its_session(attack_servers, attack_server):
    """A learner that plays large frames (a script: it reads but never acks) is frozen
    (SIGSTOP): its session must close after the idle timeout plus a few seconds, like any
    other silent one. (A frozen page that acks is held at `max_frames_in_flight`.)"""
    was = before(attack_server)
    child = subprocess.Popen([sys.executable, "-c", FROZEN_CLIENT, attack_server.url,
                              json.dumps(STUCK)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "playing"
        time.sleep(0.5)
        child.send_signal(signal.SIGSTOP)
        frozen = time.perf_counter()
        held_s = None
        while time.perf_counter() - frozen < IDLE_TIMEOUT_S + 5:
            if attack_server.health(tries=1).body["sessions"] == 0:
                held_s = round(time.perf_counter() - frozen, 1)
                break
            time.sleep(0.25)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    failures = [] if held_s is not None else [
        f"the frozen client held its session past {IDLE_TIMEOUT_S + 5:g} s"]
    check_after(attack_servers, "frozen client", was, time.perf_counter(),
                {"session_closed_after_s": held_s}, failures)
