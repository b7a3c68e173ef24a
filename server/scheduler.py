"""Where session work runs: a bounded pool of worker threads shared by every session.

Each session keeps at most one job in flight (its lock), and the pool takes jobs in arrival
order, so sessions are served round-robin, one frame each: a session asking for many steps per
frame slows its own frames, not its neighbours' (its frames are also capped by a time budget).

With grouping on (`--group-sessions`), sessions train in
rows of pools (`playground_models.pool`), and `train_pooled` gathers their frames' training:
every request that arrives while a program runs joins the next one, so sessions of one
architecture are stepped together, one batched program per minibatch for all of them, and then
draw their frames on the workers as before. It is off by default: the C kernel trains a run
faster than a pool of fewer than a few thousand rows does (docs/benchmarks.md), a pool's step
costs mostly per-operation dispatch on the CPU, which a GPU does not remove, and a frame's
cost is in drawing and sending it, not in training.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from playground_models.pool import PoolSet
from playground_models.trainer import Trainer, train_together

T = TypeVar("T")


class Scheduler:
    """Runs blocking training/drawing calls off the event loop."""

    def __init__(self, workers: int, torch_threads: int = 1, pools: PoolSet | None = None):
        self.workers = workers
        self.torch_threads = torch_threads
        self.pools = pools
        self._pool: ThreadPoolExecutor | None = None
        self._waiting: list[tuple[Trainer, int, asyncio.Future[None]]] = []
        self._gatherer: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly

    def _executor(self) -> ThreadPoolExecutor:
        # Made on first use, so an app that never trains starts no threads.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix="netplay-train", initializer=self._init_worker
            )
        return self._pool

    def _init_worker(self) -> None:
        # OpenMP keeps its thread count per calling thread: a worker that never sets it runs
        # every tiny op on a full team of spinning threads. Measured here (2 cores): a default
        # frame took 309 ms on a worker thread left at 2 threads, 11 ms with 1.
        import torch

        torch.set_num_threads(self.torch_threads)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on a worker thread; the caller awaits without blocking the loop.

        Cancelling the awaiting task does not stop a call already running, so sessions cancel
        only when they close, after which nothing else touches their trainer.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), functools.partial(fn, *args, **kwargs))

    async def train_pooled(self, trainer: Trainer, steps: int, budget_s: float) -> None:
        """Train a pooled trainer `steps` updates together with every other session asking now.

        The steps are capped by `budget_s` at the pool's measured time per batched step, as a
        session's own frames are (`LiveRun.train_frame`).
        """
        per_step = trainer.backend.pool.seconds_per_step
        if per_step > 0:
            steps = max(1, min(steps, int(budget_s / per_step)))
        else:  # a new pool: a small first step measures it, as `LiveRun.train_frame` does
            steps = min(steps, 8)
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((trainer, steps, future))
        if self._gatherer is None or self._gatherer.done():
            self._gatherer = asyncio.create_task(self._train_waiting())
        await future

    async def _train_waiting(self) -> None:
        """Train what waits, as one call; what arrived meanwhile goes in the next call."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            work = [(t, n) for t, n, f in batch if not f.done()]
            try:
                await self.run(train_together, work)
            except Exception as err:  # noqa: BLE001 - each waiting session reports it
                for _, _, f in batch:
                    if not f.done():
                        f.set_exception(err)
            else:
                for _, _, f in batch:
                    if not f.done():
                        f.set_result(None)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
