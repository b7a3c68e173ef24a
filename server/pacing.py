"""A session's training tasks: the player, which streams frames, and a `step` in slices.

Both run beside the session's receive loop (server/session.py), so a message can reach them
while they train: every trainer call holds the session's `_lock`, and each is one job of about
a frame budget on the shared workers, so other sessions' jobs take turns with them and no job
outlives its client by more than one budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocketDisconnect

from .channel import Channel
from .live import LiveRun
from .scheduler import Scheduler, cancel_and_outlast
from .settings import Settings

log = logging.getLogger("netplay.session")


class Pacing:
    """The session's training tasks; `Session` supplies the state declared here."""

    settings: Settings
    scheduler: Scheduler
    channel: Channel
    run: LiveRun | None
    _lock: asyncio.Lock
    _player: asyncio.Task[None] | None
    _halt: asyncio.Event
    _stepper: asyncio.Task[None] | None
    _step_halt: asyncio.Event
    _acked: int | None
    _acked_event: asyncio.Event

    if TYPE_CHECKING:

        async def _send_state(self) -> None: ...

    # --- playing -------------------------------------------------------------------------
    async def _play(self, run: LiveRun) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.settings.max_fps
        budget = self.settings.frame_budget_ms / 1000.0
        try:
            while not self._halt.is_set():
                await self._wait_for_acks(run)
                started = loop.time()
                async with self._lock:
                    if self._halt.is_set():
                        return
                    # One job of about the budget: a light session waits in line once.
                    frame = await self.scheduler.run(run.train_and_draw, budget)
                    await self.channel.send_bytes(frame)
                    if run.diverged:
                        run.state = "paused"  # `state` reports diverged from the trainer itself
                        await self._send_state()
                        return
                delay = started + interval - loop.time()
                if delay > 0:  # a timeout scope: `wait_for` would make a task every frame
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._halt.wait()
        except WebSocketDisconnect:
            return  # the socket went away; the receive loop ends the session
        except Exception as err:
            log.exception("training failed")
            run.state = "paused"
            await self.channel.send_error("internal", None,
                                          f"training failed ({type(err).__name__})")
            await self._send_state()

    async def _wait_for_acks(self, run: LiveRun) -> None:
        """Hold the next frame while `max_frames_in_flight` frames are unacknowledged.

        The socket alone is no brake: loopback and LAN kernels buffer megabytes, hundreds of
        frames, before a send blocks, and a stalled tab would then replay seconds of old frames.
        """
        window = self.settings.max_frames_in_flight
        while (
            self._acked is not None
            and run.seq - self._acked >= window
            and not self._halt.is_set()
        ):
            self._acked_event.clear()
            await self._acked_event.wait()

    async def _stop_player(self, cancel: bool = False) -> None:
        """Stop playing after the frame in progress (or at once, on close)."""
        task, self._player = self._player, None
        if self.run is not None and self.run.state == "playing":
            self.run.state = "paused"
        if task is None:
            return
        self._halt.set()
        self._acked_event.set()  # a player waiting for acks sees the halt
        if cancel:
            await cancel_and_outlast(task)
        else:
            await task

    # --- stepping ------------------------------------------------------------------------
    async def _step(self, run: LiveRun, target_epoch: int) -> None:
        """Train to `target_epoch` one frame budget at a time, then send the frame.

        Each slice is its own job on the workers, so other sessions' frames take turns with a
        long step; a halt (another command) ends it after the slice in progress, and a closed
        session cancels it, so no work is left running for a client that has gone.
        """
        budget = self.settings.frame_budget_ms / 1000.0
        try:
            done = False
            while not done and not self._step_halt.is_set():
                async with self._lock:
                    done = await self.scheduler.run(run.train_toward, target_epoch, budget)
            async with self._lock:
                await self.channel.send_bytes(await self.scheduler.run(run.frame))
                if run.diverged:
                    await self._send_state()
        except WebSocketDisconnect:
            return  # the receive loop ends the session
        except Exception as err:
            log.exception("step failed")
            await self.channel.send_error("internal", None, f"the step failed "
                                          f"({type(err).__name__}); the session goes on")

    async def _end_step(self, cancel: bool = False) -> None:
        """End a `step` in progress after its current slice (its frame is still sent), or at
        once without a frame when the session closes."""
        task, self._stepper = self._stepper, None
        if task is None or task.done():
            return
        self._step_halt.set()
        if cancel:
            await cancel_and_outlast(task)
        else:
            await task
