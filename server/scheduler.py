"""Where session work runs: a bounded set of worker threads shared by every session, fairly.

Every job has an owner, the session that asked for it (the `owner` context variable, set by
the session's shell, so callers of `Scheduler.run` never pass it), and every owner a kind
(`ws` for 2-D learners, `lab` for image-lab sessions). When a worker is free it takes the
oldest job of the owner that has used the least worker time lately, within the kind that has
used the least lately, as Linux's CFS does with tasks within groups: kinds share the workers
equally when both want them, and the sessions of a kind share their kind's part equally. So a
light 2-D learner asking for 2 ms every frame is served ahead of sixteen lab sessions that
would each take every worker they can get, and no kind can starve another. Usage is the
thread's CPU time (not wall time, which counts waiting for the GIL or for a core), and decays
with a half-life of `HALF_LIFE_S`. A job cannot be preempted: each caller keeps its jobs short
(a 2-D frame within `--frame-budget-ms`, an image-lab slice within `--lab-slice-ms`), and that
per-job budget is what bounds how long anyone waits for a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio

T = TypeVar("T")
HALF_LIFE_S = 2.0  # how fast past worker time is forgiven: spans many frames of every session
OTHER = "other"  # the kind of work with no owner


class Owner:
    """Whose work a job is: one per session, compared by identity; `kind` is its group."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<Owner {self.kind} {id(self):#x}>"


# The session a job is for. Tasks copy their creator's context, so a session's player and its
# other tasks inherit it; work with no owner (HTTP routes) shares one anonymous owner.
owner: ContextVar[Owner | None] = ContextVar("netplay_job_owner", default=None)


def _kind(who: Owner | None) -> str:
    return who.kind if who is not None else OTHER


@contextmanager
def owned_by(kind: str) -> Iterator[Owner]:
    """Within the block (and every task it creates), jobs belong to a new owner of `kind`."""
    new = Owner(kind)
    token = owner.set(new)
    try:
        yield new
    finally:
        owner.reset(token)


class _Job:
    __slots__ = ("call", "future", "loop", "owners")

    def __init__(self, call: Callable[[], Any], owners: tuple[Owner | None, ...],
                 loop: asyncio.AbstractEventLoop):
        self.call, self.owners, self.loop = call, owners, loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def settle(self, result: Any, error: BaseException | None) -> None:
        """Hand the outcome to the awaiting loop (from the worker thread)."""

        def deliver() -> None:
            if self.future.done():  # cancelled by `shutdown`
                return
            if error is None:
                self.future.set_result(result)
            else:
                self.future.set_exception(error)

        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self.loop.call_soon_threadsafe(deliver)

    def cancel(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.future.cancel)


class Scheduler:
    """Runs blocking training/drawing calls off the event loop, sharing the workers fairly."""

    def __init__(self, workers: int, torch_threads: int = 1):
        self.workers = workers
        self.torch_threads = torch_threads
        self._cond = threading.Condition()
        self._queued: dict[Owner | None, deque[_Job]] = {}  # only owners with jobs waiting
        # CPU seconds and when they were counted, per owner and per kind; they decay.
        self._usage: dict[Owner | str | None, tuple[float, float]] = {}
        self._stop: threading.Event | None = None  # set: this generation of workers ends
        self._threads: list[threading.Thread] = []
        self._local = threading.local()  # the job a worker thread is running

    # --- the workers ---------------------------------------------------------------------
    def _start_workers(self) -> None:
        # Made on first use, so an app that never trains starts no threads.
        self._stop = stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(stop,), name=f"netplay-train-{i}",
                             daemon=True)  # daemon: Ctrl-C never waits on a running job
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def _init_worker(self) -> None:
        # OpenMP keeps its thread count per calling thread: a worker that never sets it runs
        # every tiny op on a full team of spinning threads. Measured here (2 cores): a default
        # frame took 309 ms on a worker thread left at 2 threads, 11 ms with 1.
        import torch

        torch.set_num_threads(self.torch_threads)

    def _work(self, stop: threading.Event) -> None:
        self._init_worker()
        while True:
            with self._cond:
                while not self._queued and not stop.is_set():
                    self._cond.wait()
                if stop.is_set():
                    return
                job = self._take()
            started = time.thread_time()
            result, error = None, None
            self._local.job = job
            try:
                result = job.call()
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                error = err
            self._local.job = None
            spent = time.thread_time() - started
            with self._cond:
                self._charge(job.owners, spent)
            job.settle(result, error)
            del job, result, error  # a finished job's trainer must not wait for the next one

    def _usage_now(self, who: Owner | str | None, now: float) -> float:
        seconds, when = self._usage.get(who, (0.0, now))
        return seconds * math.exp2((when - now) / HALF_LIFE_S)

    def _take(self) -> _Job:
        """The oldest job of the owner with the least recent worker time, among the owners of
        the kind with the least (under the lock)."""
        now = time.perf_counter()
        kinds = dict.fromkeys(_kind(o) for o in self._queued)  # on a tie, the first to queue
        kind = min(kinds, key=lambda k: self._usage_now(k, now))
        who = min((o for o in self._queued if _kind(o) == kind),
                  key=lambda o: self._usage_now(o, now))
        jobs = self._queued[who]
        job = jobs.popleft()
        if not jobs:
            del self._queued[who]
        return job

    def _charge(self, owners: tuple[Owner | None, ...], seconds: float) -> None:
        now = time.perf_counter()
        share = seconds / len(owners)
        for who in owners:
            for key in (who, _kind(who)):
                self._usage[key] = (self._usage_now(key, now) + share, now)
        if len(self._usage) > 4 * (len(self._queued) + self.workers) + 16:
            # Forget owners whose usage has decayed away (sessions that ended, mostly).
            for who in [o for o in self._usage if o not in self._queued and not isinstance(o, str)]:
                if self._usage_now(who, now) < 1e-4:
                    del self._usage[who]

    def wanted_elsewhere(self) -> bool:
        """Called from within a job: whether a job of another kind that has used less worker
        time lately is waiting for a worker. A job that can stop early (a lab slice between two
        steps) does, so that a 2-D frame waits one training step, not a whole slice."""
        job = getattr(self._local, "job", None)
        if job is None or not self._queued:  # the unlocked look is only a hint; checked below
            return False
        with self._cond:
            now = time.perf_counter()
            mine = {_kind(o) for o in job.owners}
            least = min(self._usage_now(k, now) for k in mine)
            return any(_kind(o) not in mine and self._usage_now(_kind(o), now) < least
                       for o in self._queued)

    # --- submitting ----------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on a worker thread; the caller awaits without blocking the loop.

        The job belongs to the current `owner`. Cancelling the awaiting task withdraws a job
        that has not started; one already running cannot be stopped, so the cancelled caller
        waits for it to end (one job's budget) before the cancellation goes on: when a
        session's task has ended, nothing of that session is running.
        """
        return await self._submit(functools.partial(fn, *args, **kwargs), (owner.get(),))

    async def _submit(self, call: Callable[[], T], owners: tuple[Owner | None, ...]) -> T:
        job = _Job(call, owners, asyncio.get_running_loop())
        with self._cond:
            if self._stop is None or self._stop.is_set():
                self._start_workers()
            now = time.perf_counter()
            first = min(owners, key=lambda o: self._usage_now(o, now))  # ranked by the lightest
            self._queued.setdefault(first, deque()).append(job)
            self._cond.notify()
        try:
            return await asyncio.shield(job.future)
        except asyncio.CancelledError:
            if not self._withdraw(job):  # running: let it end before we do
                with contextlib.suppress(asyncio.CancelledError):  # raised as it first came
                    await outlast((job.future,))
            raise

    def _withdraw(self, job: _Job) -> bool:
        """Remove a job that has not started; False if it has (or has ended)."""
        with self._cond:
            for who, jobs in self._queued.items():
                if job in jobs:
                    jobs.remove(job)
                    if not jobs:
                        del self._queued[who]
                    return True
        return False

    def shutdown(self) -> None:
        """Cancel what waits and let the workers end after their current job."""
        with self._cond:
            if self._stop is not None:
                self._stop.set()
            for jobs in self._queued.values():
                for job in jobs:
                    job.cancel()
            self._queued.clear()
            self._cond.notify_all()


async def outlast(waits: Iterable[asyncio.Future[Any]]) -> None:
    """Wait until every one of `waits` is done, even through cancels of the caller, and then
    raise the first of those cancels, as it was raised.

    A cancelled session waits so for its running job (one slice), so that nothing of it runs
    once it has ended. The wait is shielded from anyio's cancel scopes (TestClient's, the ASGI
    server's task groups), which would otherwise cancel the task again on every turn of the
    loop: that spin starves the very job waited for of the GIL, and `asyncio.gather` in its
    place ends at the second cancel and can raise its children's cancel instead of the caller's
    (which anyio then no longer knows as its own). The scope's cancel resumes after the wait.
    """
    pending = set(waits)
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):
        while pending := {wait for wait in pending if not wait.done()}:
            try:
                await asyncio.wait(pending)
            except asyncio.CancelledError as error:  # a plain `Task.cancel`
                cancelled = cancelled or error
    if cancelled is not None:
        raise cancelled


async def cancel_and_outlast(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait for its end (its job's slice), through cancels of the caller."""
    task.cancel()
    await outlast((task,))
    if not task.cancelled():
        task.exception()  # retrieved: an error at close is not worth a log line
