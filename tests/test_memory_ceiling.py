"""The per-process memory ceiling (`--max-memory-mb`) for live 2-D sessions and /api/health."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from playground_models.experiment import Experiment
from server.memory import (
    HUGE_PAGES_ENV,
    MB,
    MemoryCeiling,
    check_live_session,
    live_session_bytes,
    rss_bytes,
)

BIG = {"networkShape": [64] * 8, "numSamples": 5000, "gridSize": 200, "knn": 50,
       "batchSize": 1000}


def _headroom_mb(extra: int) -> int:
    """A ceiling `extra` MB above what this test process holds now."""
    return rss_bytes() // MB + extra


def test_the_estimate_grows_with_what_the_session_holds():
    small = sum(live_session_bytes(Experiment({})).values())
    assert 4 * MB <= small < 8 * MB
    for change in ({"networkShape": [64] * 8}, {"gridSize": 200}, {"knn": 20},
                   {"numSamples": 5000}, {"batchSize": 1000}):
        assert sum(live_session_bytes(Experiment(change)).values()) > small, change
    big = live_session_bytes(Experiment(BIG))
    # The grid pass of 519 units over 200×200 cells dominates: 2 copies of float32.
    assert big["gridSize"] == 200 * 200 * (2 + 8 * 64 + 2) * 4 * 2
    assert sum(big.values()) > 200 * MB


def test_a_change_that_adds_nothing_passes_even_over_the_ceiling():
    over = MemoryCeiling(1)  # this process already holds more than 1 MB
    exp = Experiment(BIG)
    check_live_session(over, exp.replace(learningRate=0.1), exp)
    check_live_session(over, Experiment({}), exp)  # smaller than what it replaces


def test_a_start_over_the_ceiling_is_refused_by_name_and_the_session_goes_on(
        make_client, open_session):
    client = make_client(max_memory_mb=_headroom_mb(120))
    session = open_session(client)
    session.send(type="start", config=BIG)
    refused = session.next()
    assert refused["type"] == "error" and refused["code"] == "over_memory"
    assert refused["field"] == "gridSize"
    assert f"of its {client.get('/api/health').json()['memory']['limit_mb']} MB" in (
        refused["message"])
    frame = session.start(networkShape=[8, 8], numSamples=1000)  # the same socket trains on
    assert frame["type"] == "frame"
    session.send(type="step", n=2)
    assert session.until("frame")["epoch"] == 2


def test_updates_that_grow_the_session_are_checked_and_others_pass(make_client, open_session):
    client = make_client()
    session = open_session(client)
    session.start()
    client.app.state.memory = MemoryCeiling(1)  # the process is now over its ceiling
    session.send(type="update", changes={"networkShape": [64] * 8, "gridSize": 200})
    refused = session.until("error")
    assert refused["code"] == "over_memory" and refused["field"] == "gridSize"
    session.send(type="update", changes={"learningRate": 0.1})
    config = session.until("config")
    assert config["config"]["learningRate"] == 0.1
    assert config["config"]["networkShape"] == [4, 2]  # the refused update changed nothing


def test_health_reports_the_process_memory_and_its_ceiling(make_client):
    health = make_client(max_memory_mb=2048).get("/api/health").json()
    assert health["memory"]["limit_mb"] == 2048
    assert abs(health["memory"]["rss_mb"] - rss_bytes() / MB) < 200
    assert health["memory"]["rss_mb"] > 20  # python, torch and the app
    assert make_client(max_memory_mb=0).get("/api/health").json()["memory"]["limit_mb"] is None


def test_the_ceiling_is_on_the_app_for_every_kind_of_session(make_client):
    memory = make_client(max_memory_mb=512).app.state.memory
    assert isinstance(memory, MemoryCeiling) and memory.limit_bytes == 512 * MB


def test_freed_memory_goes_back_to_the_system():
    """Blocks freed by an ended session are returned, not kept in the C library's arenas."""
    import ctypes

    from server.memory import release_freed, rss_bytes

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # Small blocks (below the mmap threshold) live in the heap. Every other one freed leaves
    # holes between live blocks: the C library keeps those pages until trimmed.
    size = 64 * 1024
    blocks = [libc.malloc(size) for _ in range(2000)]  # 125 MB, written so it is resident
    for b in blocks:
        ctypes.memset(b, 1, size)
    held = rss_bytes()
    for b in blocks[1::2]:
        libc.free(b)
    kept = rss_bytes()
    assert release_freed()
    after = rss_bytes()
    for b in blocks[::2]:
        libc.free(b)
    mb = 1024 * 1024
    assert held - kept < 10 * mb, (held, kept)  # freeing alone gave nothing back
    assert kept - after > 50 * mb, (kept, after)  # trimming gave the holes back


def test_a_burst_of_ended_sessions_trims_once_on_the_loop(monkeypatch):
    import asyncio
    import threading

    from aio import run_async

    from server import memory

    trims: list[str] = []
    monkeypatch.setattr(memory, "release_freed", lambda: trims.append(threading.current_thread().name))

    loop_thread: list[str] = []

    async def burst() -> None:
        loop_thread.append(threading.current_thread().name)
        for _ in range(64):
            memory.release_soon(0.05)
        await asyncio.sleep(0.2)
        memory.release_soon(0.05)  # a later session: a new trim
        await asyncio.sleep(0.2)

    threads = threading.active_count()
    run_async(burst())
    assert trims == loop_thread * 2  # on the loop's thread, twice
    assert threading.active_count() == threads


def test_a_serving_processs_big_blocks_go_back_to_the_system_when_freed():
    """With big blocks mapped apart (`big_blocks_apart`, as every serving process has them),
    the 20 MB buffers of a heavy frame, made and freed three times among small allocations,
    leave nothing resident; with glibc's own rising threshold they leave their size behind.
    Each in a process of its own (the setting is for the process's life)."""
    import subprocess
    import sys

    script = """
import numpy as np, sys
from server.memory import big_blocks_apart, rss_bytes
if sys.argv[1] == "apart":
    assert big_blocks_apart()
base = rss_bytes()
for _ in range(3):
    buffer = np.ones(5_000_000, np.float32)
    small = [bytes(100) for _ in range(1000)]
    del buffer
print((rss_bytes() - base) / 2**20)
"""
    root = Path(__file__).resolve().parents[1]
    left = {how: float(subprocess.run([sys.executable, "-c", script, how], capture_output=True,
                                      text=True, check=True, timeout=60, cwd=root).stdout)
            for how in ("apart", "glibc's own")}
    assert left["apart"] < 4, left
    assert left["glibc's own"] > 15, left  # what the setting is for


def test_the_command_line_has_torch_put_big_blocks_in_huge_pages():
    """Mapped apart, a heavy frame's big buffers are fresh pages every frame; torch backs
    them with 2 MB pages when `netplay` sets its switch before torch allocates anything. Each
    in a process of its own: the switch is read once, at torch's first allocation."""
    import subprocess
    import sys

    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            mode = f.read()
    except OSError:
        pytest.skip("no transparent huge pages here")
    if "[never]" in mode:
        pytest.skip("transparent huge pages are off on this machine")
    script = """
import os, sys
from server import cli
if sys.argv[1] == "netplay":
    assert cli.main(["serve", "--processes", "0"]) == 2  # refused before it serves
import torch
from server.memory import big_blocks_apart
assert big_blocks_apart()
block = torch.empty(5_000_000)
block.fill_(1.0)
with open("/proc/self/smaps_rollup") as f:
    print(f.read().split("AnonHugePages:")[1].split()[0])
"""
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != HUGE_PAGES_ENV}
    huge_kb = {how: int(subprocess.run([sys.executable, "-c", script, how], capture_output=True,
                                       text=True, check=True, timeout=60, cwd=root,
                                       env=env).stdout.split()[-1])
               for how in ("netplay", "torch alone")}
    assert huge_kb["netplay"] >= 16 * 1024, huge_kb  # the 20 MB block, in 2 MB pages
    if "[madvise]" in mode:
        assert huge_kb["torch alone"] == 0, huge_kb
