"""Attacks on the image lab's `/ws/lab` of a real `netplay serve`, each bounded in time, each
followed by the bars of tests/attack_bars.py. Clients are written from docs/lab-protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import pytest
from attack_bars import (
    CANARY_FPS,
    IDLE_TIMEOUT_S,
    before,
    check_after,
    run_async,
)

from server.client import ServerError, abort, canary, connect_lab

pytestmark = pytest.mark.attack

LAB_SESSIONS = 16  # the lab's session cap (docs/lab-protocol.md: `too_many_sessions`)
# Twelve 64-channel 3×3 convolutions at 64×64, batch 128, 20,000 generated digits: 447,818
# parameters and about 3 GB of activations per step, as a 215-character link asks for it.
HUGE_NET = "in64x64x1-" + "conv64k3p1-relu-" * 12 + "maxpool8-fc10"
HUGE_CONFIG = {"data": "synth", "samples": 20000, "batchSize": 128, "net": HUGE_NET}
# Three 256-channel convolutions on the 8×8 digits: a dream climbs through all of them.
DREAM_NET = "in8x8x1-" + "conv256k3p1-relu-" * 3 + "fc10"


async def _answer(lab: Any, kinds: tuple[str, ...], seconds: float) -> dict[str, Any] | None:
    """The first message of one of `kinds` (or an error) within `seconds`, else None."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        try:
            msg = await lab.next(left)
        except TimeoutError:
            return None
        if msg["type"] in (*kinds, "error", "_closed"):
            return msg
    return None


def test_a_huge_lab_net_is_refused_or_bounded(attack_servers, attack_server):
    """A start with a net far beyond what the machine can train: the server must answer (a
    named error, or a bounded build) and free everything once the client leaves. Sent as a
    `config`, which is strict; as a link the lab would open its default net instead, naming
    the refused one (tests/test_imagelab_limits.py)."""
    was = before(attack_server, "lab")

    async def attack() -> dict[str, Any]:
        async with connect_lab(attack_server.url) as lab, lab.pinging():
            began = time.perf_counter()
            await lab.send(type="start", config=HUGE_CONFIG)
            reply = await _answer(lab, ("config",), 5.0)
            return {"reply": reply and {k: reply.get(k) for k in ("type", "code", "field")},
                    "reply_s": reply and round(time.perf_counter() - began, 2),
                    "rss_peak_mb": round(attack_server.rss_mb())}

    numbers = run_async(attack(), 30)
    failures = []
    if numbers["reply"] is None:
        failures.append("no answer to a huge net's start within 5 s")
    elif numbers["reply"]["type"] == "error" and numbers["reply"]["code"] != "bad_value":
        failures.append(f"refused with {numbers['reply']}, not a named bad_value")
    check_after(attack_servers, "huge lab net", was, time.perf_counter(), numbers, failures)


def test_lab_sessions_that_step_and_leave_leave_nothing_behind(attack_servers, attack_server):
    """Up to 20 times: connect, start the default net, ask for the longest `step`, leave."""
    was = before(attack_server, "lab")

    async def attack() -> dict[str, Any]:
        cycles, began = 0, time.perf_counter()
        while cycles < 20 and time.perf_counter() - began < 8.0:
            with contextlib.suppress(ServerError, TimeoutError):
                async with connect_lab(attack_server.url) as lab, lab.pinging():
                    await lab.start({}, timeout=5)
                    await lab.send(type="step", n=1000)
                    await asyncio.sleep(0.05)
            cycles += 1
        return {"cycles": cycles, "threads_at_end": attack_server.threads()}

    numbers = run_async(attack(), 60)
    check_after(attack_servers, "lab connect/step/leave cycles", was, time.perf_counter(),
                numbers)


async def _stuck_lab_learner(url: str, port: int, stack: contextlib.AsyncExitStack,
                             clients: list[Any]) -> None:
    """A lab learner that starts (and then, told to play, neither reads nor sends; a small
    kernel buffer, so the server's writes to it soon stop)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    lab = await stack.enter_async_context(
        connect_lab(url, sock=sock, max_queue=1, ping_interval=None))
    clients.append(lab)
    async with lab.pinging():  # a start may take a while on a busy machine
        await lab.start({"preset": "small-digits"}, timeout=20)


def test_non_reading_lab_clients_lose_their_sessions(attack_servers, attack_server):
    """16 lab learners start, play and never read again (nor send): the lab is full. A new
    lab learner must be admitted within the idle timeout plus 5 s."""
    was = before(attack_server, "lab")
    limit = IDLE_TIMEOUT_S + 5

    async def attack() -> dict[str, Any]:
        clients: list[Any] = []
        async with contextlib.AsyncExitStack() as stack:
            try:
                await asyncio.gather(*(_stuck_lab_learner(
                    attack_server.url, attack_server.port, stack, clients)
                    for _ in range(LAB_SESSIONS)))
                for lab in clients:  # all at once: their idle timers start together
                    await lab.send(type="play")
                filled, rss_filled = time.perf_counter(), attack_server.rss_mb()
                refused = None
                with contextlib.suppress(ServerError):
                    async with connect_lab(attack_server.url, open_timeout=5):
                        refused = False
                admitted = None
                while admitted is None and time.perf_counter() - filled < limit:
                    await asyncio.sleep(0.5)
                    with contextlib.suppress(ServerError, OSError, TimeoutError):
                        async with connect_lab(attack_server.url, open_timeout=2):
                            admitted = round(time.perf_counter() - filled, 1)
                return {"held": len(clients), "17th_refused": refused is None,
                        "admitted_after_s": admitted, "rss_filled_mb": round(rss_filled),
                        "rss_held_mb": round(attack_server.rss_mb())}
            finally:
                abort(clients)  # no closing handshake with clients that do not read

    numbers = run_async(attack(), 120)
    failures = []
    if not numbers["17th_refused"]:
        failures.append("the 16 stuck lab learners did not fill the lab: nothing was proven")
    if numbers["admitted_after_s"] is None:
        failures.append(f"no lab learner admitted within {limit:g} s of 16 stuck clients")
    check_after(attack_servers, "16 non-reading lab clients", was, time.perf_counter(),
                numbers, failures)


def test_sixteen_heavy_lab_sessions_leave_the_playground_its_frames(
        attack_servers, attack_server):
    """The lab full of LeNet-5 learners playing; a 2-D canary meanwhile must still get
    >= 20 frames/s (sessions of every kind share the workers fairly)."""
    was = before(attack_server, "lab")

    async def attack() -> dict[str, Any]:
        async def learner(go: asyncio.Event) -> int:
            frames = 0
            with contextlib.suppress(ServerError, TimeoutError):
                async with connect_lab(attack_server.url) as lab, lab.pinging():
                    await lab.start({"preset": "lenet5", "batchSize": 64}, timeout=20)
                    await lab.send(type="play")
                    await go.wait()
                    end = time.perf_counter() + 4.0
                    while (left := end - time.perf_counter()) > 0:
                        with contextlib.suppress(TimeoutError):
                            if (await lab.next(left))["type"] == "frame":
                                frames += 1
            return frames

        go = asyncio.Event()
        tasks = [asyncio.create_task(learner(go)) for _ in range(LAB_SESSIONS)]
        await asyncio.sleep(3.0)  # the learners have built their nets and play
        go.set()
        during = await canary(attack_server.url, 3.5)
        frames = await asyncio.gather(*tasks)
        return {"lab_frames": sum(frames), "lab_learners_with_frames": sum(f > 0 for f in frames),
                "canary_fps_during": round(during.fps, 1)}

    numbers = run_async(attack(), 90)
    failures = [] if numbers["canary_fps_during"] >= CANARY_FPS else [
        f"canary got {numbers['canary_fps_during']} frames/s beside 16 lab sessions"]
    check_after(attack_servers, "16 heavy lab sessions", was, time.perf_counter(), numbers,
                failures)


def test_a_dream_on_a_big_net_ends_with_its_client(attack_servers, attack_server):
    """A dream through three 256-channel convolutions, and the client leaves a second later:
    the dream must be refused as too costly or stop with its session."""
    was = before(attack_server, "lab")

    async def attack() -> dict[str, Any]:
        async with connect_lab(attack_server.url) as lab, lab.pinging():
            try:
                await lab.start({"net": DREAM_NET}, timeout=20)
            except ServerError as err:  # over a lab limit: refused before anything is built
                return {"start": err.reply.get("code")}
            began = time.perf_counter()
            await lab.send(type="dream", layer=6, unit=0)
            reply = await _answer(lab, ("dream",), 1.0)
            return {"start": "config", "dream_reply": reply and reply["type"],
                    "dream_s": reply and round(time.perf_counter() - began, 2)}

    numbers = run_async(attack(), 40)
    check_after(attack_servers, "dream on a big net", was, time.perf_counter(), numbers)
