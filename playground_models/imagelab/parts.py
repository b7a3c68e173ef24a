"""Work in parts: a generator that yields between short pieces of a longer computation.

A lab session runs on worker threads shared with every other session, one short job at a time,
so anything that can take longer than a job's budget (a frame's evaluation, a `step` of many
batches, a dream) is written as `Parts`: it yields after each piece and returns its result.
`run_until` runs pieces until a deadline; the next job resumes where it stopped, possibly on
another thread. So a part must not hold a thread-local state across a `yield`: torch's grad
mode is per thread, and `with torch.no_grad()` is entered and left within one piece.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TypeVar

T = TypeVar("T")
Parts = Generator[None, None, T]


def drain(parts: Parts[T]) -> T:
    """Run every piece at once; the generator's return value."""
    while True:
        try:
            next(parts)
        except StopIteration as done:
            return done.value


def run_until(parts: Parts[object], deadline: float,
              stop_early: Callable[[], bool] | None = None) -> bool:
    """Run pieces until `deadline` (a `time.perf_counter()` value) has passed, or `stop_early()`
    says so; True when the work is finished. At least one piece runs, so every call makes
    progress."""
    while True:
        try:
            next(parts)
        except StopIteration:
            return True
        if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
            return False
