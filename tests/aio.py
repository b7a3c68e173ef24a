"""`run_async`: a coroutine run to its end on a thread of its own.

The browser tests leave an event loop running on the main thread, so a test that calls
`asyncio.run` there fails when it runs after them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """`asyncio.run(coro)` on a fresh thread, never longer than `timeout` seconds."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()
