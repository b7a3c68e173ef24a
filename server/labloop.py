"""One image-lab connection's life: its messages in, its jobs on the shared workers, its replies
out, each bounded.

Three tasks share a connection. The listener reads client messages into a small inbox (and
stops reading while the inbox or the outbox is full, so a client that floods or never reads
waits on its own socket instead of growing the server's memory). The driver hands the session
one message or one slice of training at a time as a job on the scheduler (`Scheduler.run`), the
session's owner in the fair share. The sender writes the outbox to the socket; the session
builds its next frame only after the previous one is written. A write that cannot proceed
counts as idle: after `idle_timeout_s` of it the connection is closed, as after that long
without a client message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from fastapi import WebSocket

from playground_models.imagelab.snapshot import Packed

from . import frames
from .admission import TokenBucket
from .scheduler import Scheduler, outlast
from .settings import Settings

log = logging.getLogger("netplay.imagelab")
CLOSE_GRACE_S = 1.0  # for the last message and the close frame to a client that may not read
ARRAY_REF = "$array"  # in a binary lab message, where an array of the envelope stands
Parse = Callable[[str], dict[str, Any]]
FRAME_KINDS = ("frame", "race_frame", "compare_frame")  # the session builds the next after each


class Worked(Protocol):
    """What `LabLink` drives: the image lab's `LabSession`, the sequence lab's `SeqSession`,
    the agent lab's `RLSession`."""

    @property
    def takes_messages(self) -> bool: ...
    @property
    def busy(self) -> bool: ...
    @property
    def due_in_s(self) -> float: ...  # busy, but nothing to do for this long (0: work now)
    def work(self, budget_s: float, message: dict[str, Any] | None = None,
             stop_early: Callable[[], bool] | None = None) -> None: ...
    def frame_sent(self) -> None: ...
    def close(self) -> None: ...


class Outbox:
    """Encoded messages waiting for the socket. Filled from worker threads (through
    `loop.call_soon_threadsafe`) and by the listener; `full` is the backpressure signal."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: deque[tuple[str, str | bytes]] = deque()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def push(self, kind: str, payload: str | bytes) -> None:
        """Queue a message; callers check `full` first, so at most a job's few replies over."""
        self._items.append((kind, payload))
        self._changed()

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    async def room(self) -> None:
        while self.full():
            self._room.clear()
            await self._room.wait()

    async def get(self) -> tuple[str, str | bytes]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        self._changed()
        return item

    def _changed(self) -> None:
        if self._items:
            self._ready.set()
        if not self.full():
            self._room.set()


class LabLink:
    """Runs one accepted `/ws/lab` (or `/ws/seq`) connection until the client leaves, idles or
    stalls."""

    def __init__(self, ws: WebSocket, session: Worked, outbox: Outbox,
                 scheduler: Scheduler, settings: Settings, parse: Parse):
        self.ws, self.session, self.outbox = ws, session, outbox
        self.scheduler, self.settings, self.parse = scheduler, settings, parse
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(settings.lab_queue_messages)
        self._wake = asyncio.Event()

    async def serve(self) -> None:
        """Talk until one side ends; then stop everything of the session before returning."""
        listener = asyncio.create_task(self._listen())
        sender = asyncio.create_task(self._send_all())
        driver = asyncio.create_task(self._drive())
        tasks = (listener, sender, driver)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if driver in done and not driver.cancelled() and driver.exception() is not None:
                log.error("lab session failed", exc_info=driver.exception())
            if listener in done and not listener.exception() and listener.result() == "idle":
                await self._goodbye(f"no message for {self.settings.idle_timeout_s:g} s; "
                                    "the session is closed", sender)
            elif sender in done and isinstance(sender.exception(), TimeoutError):
                await self._goodbye(f"nothing could be sent for {self.settings.idle_timeout_s:g}"
                                    " s; the session is closed", sender)
        finally:
            for task in tasks:
                task.cancel()
            try:
                await outlast(tasks)  # the driver's cancel waits for its running job (a slice)
            finally:
                for task in tasks:  # retrieved, so that asyncio does not log them as lost
                    if task.done() and not task.cancelled():
                        task.exception()
                self.session.close()  # no job of it runs now: drop the trainer

    # --- the three tasks -----------------------------------------------------------------
    async def _listen(self) -> str:
        """Read client messages; returns "gone" when the client leaves, "idle" when it is
        silent for `idle_timeout_s`."""
        settings = self.settings
        bucket = TokenBucket(settings.max_messages_per_second)
        while True:
            await self.outbox.room()  # no reply could be queued: leave the client waiting
            try:
                async with asyncio.timeout(settings.idle_timeout_s):
                    received = await self.ws.receive()
            except TimeoutError:
                return "idle"
            if received["type"] == "websocket.disconnect":
                return "gone"
            text = received.get("text")
            if not bucket.take():
                message = _error("rate_limited", "too many messages: at most "
                                 f"{settings.max_messages_per_second:g} per second")
            elif text is None:
                message = _error("bad_message", "send JSON text, not binary")
            else:
                message = self.parse(text)
            if message["type"] == "error":
                self.outbox.push("error", encode(message))
            else:
                await self.inbox.put(message)  # waits while the session is behind
                self._wake.set()

    async def _drive(self) -> None:
        """Hand the session its messages and its training, one job at a time."""
        session, budget = self.session, self.settings.lab_slice_ms / 1000.0
        while True:
            if self.outbox.full():
                await self.outbox.room()
                continue
            message = None
            if session.takes_messages and not self.inbox.empty():
                message = self.inbox.get_nowait()
            elif not session.busy:  # paused, nothing asked: wait for the listener
                self._wake.clear()
                await self._wake.wait()
                continue
            elif (due := session.due_in_s) > 0:  # a paced lab between two ticks: sleep, or wake
                self._wake.clear()  # for the next message
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(due):
                        await self._wake.wait()
                continue
            await self.scheduler.run(session.work, budget, message,
                                     self.scheduler.wanted_elsewhere)

    async def _send_all(self) -> None:
        """Write the outbox; a write blocked for `idle_timeout_s` raises TimeoutError."""
        while True:
            kind, payload = await self.outbox.get()
            async with asyncio.timeout(self.settings.idle_timeout_s):
                if isinstance(payload, bytes):
                    await self.ws.send_bytes(payload)
                else:
                    await self.ws.send_text(payload)
            if kind in FRAME_KINDS:
                self.session.frame_sent()  # only now may the session build the next frame

    async def _goodbye(self, text: str, sender: asyncio.Task[None]) -> None:
        """The `idle_timeout` error as the last message, and the close; a client that does not
        read gets neither, and the connection is left to the server to drop."""
        sender.cancel()  # this reply is the last message: no frame may cross it
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_GRACE_S):
                await self.ws.send_text(json.dumps(_error("idle_timeout", text)))
                await self.ws.close(code=1000)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "field": None, "message": message}


def _finite(value: Any) -> Any:
    """NaN and ±inf (a diverged net) as null: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> str | bytes:
    """A lab message as compact JSON text, or, when it holds arrays (`Packed`), as the binary
    envelope of docs/protocol.md with each array named in its place (`{"$array": "a0"}`).
    Runs on a worker thread for the session's messages."""
    arrays: dict[str, np.ndarray] = {}

    def lift(value: Any) -> Any:
        if isinstance(value, Packed):
            name = f"a{len(arrays)}"
            arrays[name] = value.array
            return {ARRAY_REF: name}
        if isinstance(value, dict):
            return {k: lift(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lift(v) for v in value]
        return value

    lifted = lift(message)
    if arrays:
        return frames.encode(lifted, arrays)
    return json.dumps(_finite(lifted), separators=(",", ":"))
