"""Where session work runs: a bounded pool of worker threads shared by every session.

Each session keeps at most one job in flight (its lock), and the pool takes jobs in arrival
order, so sessions are served round-robin, one frame each: a session asking for many steps per
frame slows its own frames, not its neighbours' (its frames are also capped by a time budget).
This is the seam where sessions with the same architecture can be stepped together as one
batched program (`playground_models.batched.TrainGroup`): a scheduler that groups compatible jobs
can replace this one without the sessions noticing, since they only call `run`. On a CPU it would
not pay: the C kernel trains a run faster than a group of fewer than a few thousand does
(docs/benchmarks.md), and a frame's cost is in drawing and sending it, not in training.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Scheduler:
    """Runs blocking training/drawing calls off the event loop."""

    def __init__(self, workers: int, torch_threads: int = 1):
        self.workers = workers
        self.torch_threads = torch_threads
        self._pool: ThreadPoolExecutor | None = None

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

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
