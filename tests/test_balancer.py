"""`netplay serve --processes N` spreads learners evenly (server/balancer.py): one process
accepts and hands each connection to the worker with the fewest, so sessions are within one of
each other per process as learners come and go, and a worker that dies is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from aio import run_async
from serverproc import ServerProcess, descendants, stat_fields, wait_for_health

from server.client import connect_live


def _workers(pid: int) -> list[int]:
    """The serving processes under the accepting one (not multiprocessing's helpers)."""
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError), open(f"/proc/{child}/cmdline", "rb") as f:
            if b"spawn_main" in f.read() and stat_fields(child)[1] == str(pid):
                found.append(child)
    return found


def _spread(url: str) -> list[int]:
    return wait_for_health(url, 5)["sessions_per_process"]


def test_learners_spread_within_one_per_process_as_they_come_and_go():
    with ServerProcess({"--processes": 3}) as server:
        deadline = time.monotonic() + 60
        while len(_spread(server.url)) < 3:  # every worker is up
            assert time.monotonic() < deadline
            time.sleep(0.2)

        async def classroom() -> list[list[int]]:
            seen = []
            async with contextlib.AsyncExitStack() as stack:
                learners = []
                for _ in range(10):
                    learners.append(await stack.enter_async_context(connect_live(server.url)))
                    await asyncio.sleep(0.05)
                    seen.append(_spread(server.url))
                for learner in learners[:4]:  # four leave, whichever process they were on
                    await learner.ws.close()
                await asyncio.sleep(0.3)
                for _ in range(4):  # and four come
                    await stack.enter_async_context(connect_live(server.url))
                    await asyncio.sleep(0.05)
                seen.append(_spread(server.url))
            return seen

        seen = run_async(classroom(), 60)
        for counts in seen:
            assert max(counts) - min(counts) <= 1, seen
        assert sum(seen[-1]) == 10


def test_a_worker_that_dies_is_replaced_and_the_server_serves_on():
    with ServerProcess({"--processes": 2}) as server:
        deadline = time.monotonic() + 60
        while len(_spread(server.url)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        victim = _workers(server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in _workers(server.pid) or len(_workers(server.pid)) < 2 \
                or len(_spread(server.url)) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)

        async def learn() -> dict:
            async with connect_live(server.url) as learner:
                return await learner.start()

        assert run_async(learn(), 30)["type"] == "frame"


def test_a_rooms_viewers_reach_the_process_that_holds_it():
    """Two teachers land on the two processes; each room's viewer is handed to its own, though
    by load alone both viewers would go to the same one."""
    import json

    import websockets

    from server.client import ws_url

    with ServerProcess({"--processes": 2}) as server:
        deadline = time.monotonic() + 60
        while len(_spread(server.url)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)

        async def watch() -> list[str]:
            async with connect_live(server.url) as a, connect_live(server.url) as b:
                rooms = []
                for teacher in (a, b):
                    await teacher.start()
                    await teacher.send(type="share_live", name="class")
                    rooms.append((await teacher.until("room"))["id"])
                for room in rooms:
                    async with websockets.connect(ws_url(server.url, f"/ws/room/{room}")) as ws:
                        first = await asyncio.wait_for(ws.recv(), 10)
                        assert json.loads(first)["type"] == "room", first  # not `no_room`
                return rooms

        rooms = run_async(watch(), 60)
        assert sorted(r.split("-")[0] for r in rooms) == ["p0", "p1"]
