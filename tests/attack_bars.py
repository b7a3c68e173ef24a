"""The bars every attack on a real server must clear, checked the same way after each attack.

After an attack ends the server process is alive, `/api/health` answers within 100 ms, a canary
learner gets >= 20 frames/s within 5 s, the server's threads and resident memory come back
within 10 % of what they were before the attack, the server and its child processes go quiet
(no work outlives its client), and its log gained no traceback.

One server for all the attack modules (`attack_server`), started with short limits and warmed
up (both worker threads made; the lab, the sweep pool and the HTTP thread pool used once, as
the attack needs) before any baseline is read. An attack that leaves something behind marks
it dirty, and the next attack gets a fresh one, so one failure does not cascade into the next
attack's numbers. Each outcome is printed as one JSON line (`pytest -s -n 0` shows them) and
appended to the file named by `NETPLAY_ATTACK_REPORT`, if set.

Memory is the server's resident set as the kernel counts it, allocator caches included:
glibc keeps what a worker thread freed in that thread's arena, so an attack that made the
workers allocate a lot can leave the number high with nothing leaked.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import pytest
from aio import run_async
from serverproc import ServerProcess, http

from server.client import CanaryResult, canary, connect_lab, connect_live

T = TypeVar("T")

PORTS = (18700, 18799)
IDLE_TIMEOUT_S = 6.0  # long enough for 64 learners to start on a busy 2-core machine
# Short limits so that each attack is bounded and fast.
FLAGS: dict[str, Any] = {
    "--idle-timeout-s": IDLE_TIMEOUT_S,
    "--workers": 2,
    "--max-memory-mb": 2048,  # the baseline is about 430 MB with the lab loaded
    "--max-step-updates": 50_000,  # a `step` of the largest net: a second or two of work
}

HEALTH_MS = 100.0
CANARY_FPS = 20.0
CANARY_WITHIN_S = 5.0
RETURN_WITHIN = 0.10  # threads and memory, relative to before the attack
SETTLE_S = 12.0  # anyio's idle HTTP worker threads end after 10 s
QUIET_CORES = 0.3  # the server and its children once every client has gone


@dataclass
class Before:
    threads: int
    rss_mb: float
    log_chars: int


@dataclass
class Outcome:
    attack: str
    alive: bool = True
    health_ms: float | None = None
    canary_fps: float | None = None
    canary_s: float | None = None  # from the attack's end to the canary's reaching the bar
    canary_error: str | None = None
    threads_before: int = 0
    threads_after: int | None = None
    rss_before_mb: float = 0.0
    rss_after_mb: float | None = None
    quiet_cores: float | None = None
    tracebacks: int = 0
    numbers: dict[str, Any] = field(default_factory=dict)  # the attack's own figures
    failures: list[str] = field(default_factory=list)


class AttackedServer:
    """The module's server; `fresh()` replaces it when the last attack left it dirty."""

    def __init__(self) -> None:
        self.server: ServerProcess | None = None
        self.dirty = True

    def fresh(self) -> ServerProcess:
        if self.server is not None and (self.dirty or not self.server.alive()):
            self.server.stop(grace_s=3)
            self.server = None
        if self.server is None:
            self.server = ServerProcess(FLAGS, ports=PORTS).__enter__()
        self.dirty = False
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def attack_servers() -> Iterator[AttackedServer]:
    holder = AttackedServer()
    yield holder
    holder.close()


@pytest.fixture
def attack_server(attack_servers: AttackedServer) -> ServerProcess:
    return attack_servers.fresh()


WARM_UPS = ("lab", "sweep", "heavy")
# The smallest net whose frames the C kernel leaves to torch (`fastpath.KERNEL_GRID_MACS`).
TORCH_FRAMES = {"networkShape": [64, 64, 64]}
# The largest 2-D frame the limits allow (the heavy-drawing attack's learners).
HEAVY_2D = {"gridSize": 200, "knn": 50, "numSamples": 5000, "networkShape": [64] * 8}


def warm_up(server: ServerProcess, *parts: str) -> None:
    """Make what the server makes lazily, so that the baseline already has it: both training
    workers (two learners at once) and the HTTP routes' thread pool; with `lab`, the image
    lab's imports and data; with `sweep`, the sweep pool (its processes and feeder threads
    live as long as the server)."""
    done: set[str] = server.__dict__.setdefault("warmed", set())
    if not done:
        async def two() -> None:
            await asyncio.gather(canary(server.url, 1.0), canary(server.url, 1.0))
            # A net past the C kernel's picture size draws and scores its frames in torch:
            # its per-thread buffers too, on both workers.
            await asyncio.gather(canary(server.url, 1.0, config=TORCH_FRAMES),
                                 canary(server.url, 1.0, config=TORCH_FRAMES))

        run_async(two(), 60)
        http(f"{server.url}/api/compare/step", {"url": "r1.seed=1&r2.seed=2",
                                                "client": "warm", "epoch": 0, "epochs": 1})
        done.add("base")
    if "lab" in parts and "lab" not in done:
        async def lab_once() -> None:
            async with connect_lab(server.url) as lab, lab.pinging():
                # The attacks' own preset: its conv layers make the workers' per-thread
                # buffers (oneDNN's primitives and scratch) that then stay for the server's life.
                await lab.start({"preset": "lenet5", "batchSize": 64})
                await lab.send(type="step", n=5)
                await lab.until("frame", 30)

        async def two_labs() -> None:  # at once: both workers' threads make their buffers
            await asyncio.gather(lab_once(), lab_once())

        run_async(two_labs(), 90)
        done.add("lab")
    if "heavy" in parts and "heavy" not in done:
        # Two heavy learners and a light one at once, as the heavy attacks run them: the big
        # grid's matrix products and frames of both sizes interleaved leave per-thread
        # buffers and allocator arenas in the workers that stay for the server's life.
        async def heavy_once() -> None:
            async with connect_live(server.url) as c:
                await c.start(HEAVY_2D, timeout=30)
                await c.send(type="speed", steps_per_frame=5000)
                await c.play(4.0)

        async def two_heavy() -> None:
            await asyncio.gather(heavy_once(), heavy_once(), canary(server.url, 4.0))

        run_async(two_heavy(), 90)
        done.add("heavy")
    if "sweep" in parts and "sweep" not in done:
        http(f"{server.url}/api/sweep", {"url": "", "param": "learningRate",
                                         "values": ["0.03"], "epochs": 1}, timeout=60)
        done.add("sweep")
    time.sleep(0.3)


def before(server: ServerProcess, *warm: str) -> Before:
    """The baseline, after the warm-ups `warm` (of `WARM_UPS`) this attack needs."""
    warm_up(server, *warm)
    return Before(server.threads(), server.rss_mb(), len(server.log()))


def check_after(holder: AttackedServer, name: str, was: Before, ended: float,
                numbers: dict[str, Any] | None = None, failures: list[str] | None = None
                ) -> Outcome:
    """Every bar, measured from `ended` (perf_counter at the attack's end). Records the
    outcome; raises AssertionError naming each bar missed (and `failures`, the attack's own)."""
    server = holder.server
    assert server is not None
    out = Outcome(name, threads_before=was.threads, rss_before_mb=round(was.rss_mb, 1),
                  numbers=numbers or {}, failures=list(failures or []))
    out.alive = server.alive()
    if not out.alive:
        out.failures.append(f"the server process died (exit {server.proc.returncode})")
        holder.dirty = True
        return _record(holder, out)
    health = server.health(tries=3)
    out.health_ms = round(health.ms, 1)
    if health.ms > HEALTH_MS:
        out.failures.append(f"/api/health took {health.tries_ms} ms (bar {HEALTH_MS:g})")

    left = ended + CANARY_WITHIN_S - time.perf_counter()
    result: CanaryResult = run_async(
        canary(server.url, max(1.2, left), target_fps=CANARY_FPS), 30)
    out.canary_fps, out.canary_error = round(result.fps, 1), result.error
    out.canary_s = round(time.perf_counter() - ended, 2) if result.fps >= CANARY_FPS else None
    if result.fps < CANARY_FPS:
        out.failures.append(f"canary got {result.fps:.1f} frames/s within {CANARY_WITHIN_S:g} s "
                            f"of the attack (bar {CANARY_FPS:g}; {result.error or 'no error'})")

    deadline = ended + SETTLE_S
    while True:
        threads, rss = server.threads(), server.rss_mb()
        if _within(threads, was.threads, 1) and _within(rss, was.rss_mb):
            break
        if time.perf_counter() > deadline or not server.alive():
            break
        time.sleep(0.25)
    out.threads_after, out.rss_after_mb = threads, round(rss, 1)
    if not _within(threads, was.threads, 1):
        out.failures.append(f"threads {was.threads} → {threads} after {SETTLE_S:g} s "
                            f"({server.thread_names()})")
    if not _within(rss, was.rss_mb):
        out.failures.append(f"resident memory {was.rss_mb:.0f} → {rss:.0f} MB after "
                            f"{SETTLE_S:g} s")
    out.quiet_cores = round(server.busy_cores(1.0), 2)
    if out.quiet_cores > QUIET_CORES:
        out.failures.append(f"the server still uses {out.quiet_cores} cores with no client "
                            f"(bar {QUIET_CORES})")
    # What is left running or held poisons the next attack's numbers: that one gets a fresh
    # server. A refused check (a header, an error code) leaves nothing behind.
    holder.dirty = len(out.failures) > len(failures or [])
    new_log = server.log()[was.log_chars :]
    out.tracebacks = new_log.count("Traceback (most recent call last)")
    if out.tracebacks:
        out.failures.append(f"{out.tracebacks} tracebacks in the log:\n{new_log[-1500:]}")
    return _record(holder, out)


def _within(now: float, was: float, slack: float = 0.0) -> bool:
    """No more than 10 % (or `slack`, whichever is larger) above `was`; less is no leak."""
    return now <= was + max(was * RETURN_WITHIN, slack)


def _record(holder: AttackedServer, out: Outcome) -> Outcome:
    line = json.dumps(asdict(out), ensure_ascii=False)
    print(f"\nattack: {line}")
    if path := os.environ.get("NETPLAY_ATTACK_REPORT"):
        with open(path, "a") as f:
            f.write(line + "\n")
    if out.failures:
        raise AssertionError(f"{out.attack}: " + "; ".join(out.failures))
    return out
