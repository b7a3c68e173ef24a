"""Where session work runs: a bounded pool of worker threads shared by every session.

Each session keeps at most one job in flight (its lock), and the pool takes jobs in arrival
order, so sessions are served round-robin, one frame each: a session asking for many steps per
frame slows its own frames, not its neighbours' (its frames are also capped by a time budget).
This is the seam where sessions with the same architecture could later be stepped together as
one batched program: a scheduler that groups compatible jobs can replace this one without the
sessions noticing, since they only call `run`.
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

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        # Made on first use, so an app that never trains starts no threads.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="netplay-train")
        return self._pool

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
