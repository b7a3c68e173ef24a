"""The shared workers: fair share between owners, withdrawal on cancel, and shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from server.scheduler import Scheduler, outlast, owned_by
from server.scheduler import owner as scheduler_owner


def spin(cpu_seconds: float) -> None:
    """Busy for `cpu_seconds` of this thread's CPU time: what the scheduler counts."""
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def run_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a thread of its own: another test may leave a loop running on this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, asyncio.wait_for(coroutine, 30)).result()


async def _hold_the_worker(scheduler: Scheduler, gate: threading.Event) -> asyncio.Task:
    started = threading.Event()

    def hold() -> None:
        started.set()
        gate.wait(10)

    task = asyncio.create_task(scheduler.run(hold))
    while not started.is_set():
        await asyncio.sleep(0.005)
    return task


def test_a_light_owners_job_runs_before_a_heavy_owners_queued_backlog():
    async def scenario() -> list[str]:
        scheduler = Scheduler(workers=1)
        order: list[str] = []
        gate = threading.Event()
        try:
            with owned_by("heavy lab session"):
                await scheduler.run(spin, 0.05)  # 50 ms of recent worker time
                holder = await _hold_the_worker(scheduler, gate)
                backlog = [asyncio.create_task(scheduler.run(order.append, f"heavy {i}"))
                           for i in range(6)]
            await asyncio.sleep(0.02)  # the backlog is queued first
            with owned_by("2-D learner"):
                light = asyncio.create_task(scheduler.run(order.append, "light"))
            await asyncio.sleep(0.02)
            gate.set()
            await asyncio.gather(holder, light, *backlog)
        finally:
            scheduler.shutdown()
        return order

    order = run_loop(scenario())
    # Arrival order would put the light job last; fair share puts it first.
    assert order == ["light"] + [f"heavy {i}" for i in range(6)]


def test_busy_owners_take_turns_instead_of_first_come_first_served():
    async def scenario() -> list[str]:
        scheduler = Scheduler(workers=1)
        order: list[str] = []
        gate = threading.Event()

        def slice_of(name: str) -> None:
            order.append(name)
            spin(0.01)

        try:
            holder = await _hold_the_worker(scheduler, gate)
            tasks = []
            for name in ("a", "b"):
                with owned_by(name):
                    tasks += [asyncio.create_task(scheduler.run(slice_of, name))
                              for _ in range(4)]
                await asyncio.sleep(0.01)
            gate.set()
            await asyncio.gather(holder, *tasks)
        finally:
            scheduler.shutdown()
        return order

    order = run_loop(scenario())
    assert sorted(order) == ["a"] * 4 + ["b"] * 4
    # First come first served would run a's four jobs, then b's.
    assert order == ["a", "b"] * 4


def test_kinds_share_first_then_the_sessions_of_a_kind():
    async def scenario() -> list[str]:
        scheduler = Scheduler(workers=1)
        order: list[str] = []
        gate = threading.Event()
        try:
            labs = []
            for _ in range(4):  # four lab sessions of 20 ms each: 80 ms for their kind
                with owned_by("lab") as lab:
                    labs.append(lab)
                    await scheduler.run(spin, 0.02)
            with owned_by("ws") as learner:  # one learner of 40 ms: more than any lab session
                await scheduler.run(spin, 0.04)
            holder = await _hold_the_worker(scheduler, gate)
            tasks = []
            for i, lab in enumerate(labs):
                with owned_by("lab"):
                    scheduler_owner.set(lab)
                    tasks.append(asyncio.create_task(scheduler.run(order.append, f"lab {i}")))
            await asyncio.sleep(0.02)
            with owned_by("ws"):
                scheduler_owner.set(learner)
                tasks.append(asyncio.create_task(scheduler.run(order.append, "learner")))
            await asyncio.sleep(0.02)
            gate.set()
            await asyncio.gather(holder, *tasks)
        finally:
            scheduler.shutdown()
        return order

    order = run_loop(scenario())
    # Session by session, the learner is the heaviest; but its kind has used the least.
    assert order[0] == "learner" and sorted(order[1:]) == [f"lab {i}" for i in range(4)]


def test_a_cancelled_job_never_runs_and_a_running_one_is_waited_for():
    async def scenario() -> tuple[list[str], float, float]:
        scheduler = Scheduler(workers=1)
        ran: list[str] = []
        gate = threading.Event()
        try:
            holder = await _hold_the_worker(scheduler, gate)
            queued = asyncio.create_task(scheduler.run(ran.append, "queued"))
            await asyncio.sleep(0.02)
            queued.cancel()
            await asyncio.gather(queued, return_exceptions=True)
            # The holder is running: cancelling it returns only once it has ended.
            threading.Timer(0.2, gate.set).start()
            started = time.monotonic()
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
            waited = time.monotonic() - started
            ended_at_cancel = gate.is_set()
            await scheduler.run(ran.append, "after")
        finally:
            scheduler.shutdown()
        return ran, waited, ended_at_cancel

    ran, waited, ended = run_loop(scenario())
    assert ran == ["after"]
    assert ended and waited >= 0.15


def test_a_running_job_is_waited_for_through_repeated_cancels():
    # anyio's cancel scopes (TestClient, every ASGI server's task groups) cancel a task again on
    # every turn of the loop until it ends: the second cancel must not cut the wait short.
    async def scenario() -> tuple[bool, tuple[Any, ...]]:
        scheduler = Scheduler(workers=1)
        gate = threading.Event()
        try:
            seen: list[tuple[Any, ...]] = []

            async def hold() -> None:
                try:
                    await (await _hold_the_worker(scheduler, gate))
                except asyncio.CancelledError as error:
                    seen.append(error.args)
                    raise

            holder = asyncio.create_task(hold())
            await asyncio.sleep(0.05)
            threading.Timer(0.2, gate.set).start()
            for n in range(5):
                holder.cancel(f"cancel {n}")
                await asyncio.sleep(0.01)
            await asyncio.gather(holder, return_exceptions=True)
            return gate.is_set(), seen[0]
        finally:
            scheduler.shutdown()

    ended, args = run_loop(scenario())
    assert ended  # the caller's task ended only after its job did
    assert args == ("cancel 0",)  # and with the first cancel's own message


def test_outlast_waits_for_every_task_and_raises_the_callers_own_cancel():
    # A host that cancels its tasks and then waits for them, cancelled itself meanwhile (as
    # anyio does): `asyncio.gather` lost the host's cancel message, so anyio no longer knew the
    # cancel as its own and TestClient's session ended in CancelledError.
    async def scenario() -> tuple[tuple[Any, ...], list[bool], int]:
        async def idle() -> None:
            await asyncio.Event().wait()

        tasks = [asyncio.create_task(idle()) for _ in range(3)]
        await asyncio.sleep(0)

        seen: list[tuple[Any, ...]] = []

        async def host() -> None:
            for task in tasks:
                task.cancel()
            try:
                await outlast(tasks)
            except asyncio.CancelledError as error:
                seen.append(error.args)
                raise

        hosting = asyncio.create_task(host())
        await asyncio.sleep(0)  # the host waits; its tasks have not ended yet
        turns = 0
        while not hosting.done() and turns < 1000:  # as anyio: once more on every turn
            hosting.cancel(f"Cancelled via cancel scope {turns + 1}")
            await asyncio.sleep(0)
            turns += 1
        return seen[0] if seen else (), [task.done() for task in tasks], turns

    args, done, turns = run_loop(scenario())
    assert args == ("Cancelled via cancel scope 1",)
    assert done == [True, True, True]
    assert turns < 10  # it ends once its tasks have, however often it is cancelled meanwhile


def test_shutdown_ends_the_workers_and_cancels_what_waits():
    before = threading.active_count()

    async def scenario() -> bool:
        scheduler = Scheduler(workers=3)
        gate = threading.Event()
        holders = [await _hold_the_worker(scheduler, gate) for _ in range(3)]
        waiting = asyncio.create_task(scheduler.run(time.sleep, 0))
        await asyncio.sleep(0.02)
        scheduler.shutdown()
        gate.set()
        await asyncio.gather(*holders)
        try:
            await waiting
        except asyncio.CancelledError:
            return True
        return False

    assert run_loop(scenario()) is True
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == before


def test_a_job_learns_when_a_lighter_kind_waits_and_stops_early_for_it():
    async def scenario() -> tuple[str, str, int]:
        scheduler = Scheduler(workers=1)
        pieces: list[int] = []

        def lab_slice() -> str:  # up to 1 s of 5 ms pieces, as a lab slice between steps
            for i in range(200):
                spin(0.005)
                pieces.append(i)
                if scheduler.wanted_elsewhere():
                    return "stopped"
            return "ran out"

        async def pieces_done(n: int, task: asyncio.Task) -> None:
            while len(pieces) < n and not task.done():
                await asyncio.sleep(0.002)

        try:
            with owned_by("lab"):
                await scheduler.run(spin, 0.05)  # the lab kind has used 50 ms lately
                other_lab = asyncio.create_task(scheduler.run(lab_slice))
                await pieces_done(5, other_lab)
                # Another lab session waiting does not cut the slice short...
                same_kind = asyncio.create_task(scheduler.run(len, pieces))
                await pieces_done(15, other_lab)
                assert not other_lab.done()
            # ...a 2-D learner waiting does.
            with owned_by("ws"):
                learner = asyncio.create_task(scheduler.run(len, pieces))
            first = await other_lab
            seen = await learner
            await same_kind
            second = await scheduler.run(lab_slice)  # nobody waits now: the whole slice
        finally:
            scheduler.shutdown()
        return first, second, seen

    first, second, seen = run_loop(scenario())
    assert first == "stopped" and second == "ran out"
    assert 15 <= seen < 200
