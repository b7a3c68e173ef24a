"""`POST /api/sweep`, the page's sweep panel: one experiment trained over a range of one
parameter, as `netplay sweep`, with each value's final losses streamed back as it is ready.

Points train in a pool of worker processes shared by every sweep of this server (started with
the first sweep; `sweep_workers` processes, one torch thread each), so a sweep uses the
machine's cores while the event loop and the live sessions' threads carry on. The pool's
processes come from a fork server, a clean single-threaded process, never from a fork of this
multi-threaded one; as with any pool that does not fork, a script that serves the app itself
must guard its entry point with `if __name__ == "__main__":` (the `netplay` command does),
because each worker imports the main module. The work is bounded by settings: `max_sweep_values` values,
`max_sweep_epochs` epochs each, each point within a live session's model and data limits, and
`max_sweeps` sweeps at once (a sweep counts until its last point has trained or been dropped).
A sweep whose client leaves is stopped: its queued points are dropped, and its running ones
stop between two slices of training (tens of ms; they look at a stop slot in shared memory),
rather than by ending their worker, which would break the pool for every other sweep on it.

The answer is NDJSON: one line per value, in the order given, each as `netplay sweep --json`
prints it. A bad request is a 422 naming the field before anything trains; a server already
training `max_sweeps` sweeps answers 429.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from playground_models.experiment import ConfigError
from playground_models.network import Architecture
from playground_models.sweep import (
    MAX_POINTS,
    SweepPlan,
    init_worker,
    plan_sweep,
    train_point,
    value_list,
)

from .api import MAX_URL_CHARS, error_response
from .settings import Settings

router = APIRouter(prefix="/api")
log = logging.getLogger("netplay.sweep")


class SweepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL_CHARS)  # the base experiment: a share link or its query
    param: str = Field(max_length=64)
    # One string per value, written as in a link: "0.003", "relu", "8,8" (a two-layer shape).
    # An empty list, an empty value and fewer than 1 epoch are refused by `_plan`, in words a
    # learner reads ("give at least one value to try"), rather than by the model's bounds.
    values: list[Annotated[str, Field(max_length=400)]] = Field(max_length=MAX_POINTS)
    epochs: int  # per value, from 1 to the `max_sweep_epochs` setting


class SweepsBusy(Exception):
    """The server is already training `max_sweeps` sweeps."""


# Set in each pool worker by `_init_worker`: one slot per sweep that may train at once; a slot
# holds the id of the sweep whose points must stop (shared memory, read without a lock between
# two slices of a point: a stale read only delays the stop by a slice).
_STOPPED: Any = None


def _init_worker(server_pid: int, stopped: Any) -> None:
    """A pool worker: one torch thread, the sweeps' stop slots, and gone within a second of
    the server, however the server ended (killed, or stopped by a signal that uvicorn re-raises
    after shutdown: either way the pool's own stop message is never sent, and a worker would
    wait for work forever)."""
    global _STOPPED
    init_worker()
    _STOPPED = stopped
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()


def _train_point(link: str, epochs: int, slot: int, sweep_id: int) -> dict[str, Any]:
    """One point in a worker; it stops between two slices once its sweep is stopped."""
    return train_point(link, epochs, stop=lambda: _STOPPED[slot] == sweep_id)


def _exit_with(pid: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid exists (another user's): still there
            pass


def _context() -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server, so each worker starts with torch already loaded.
    context.set_forkserver_preload(["server.sweeps", "playground_models.trainer"])
    return context


class SweepJob:
    """The points of one submitted sweep (one future per value, in order); `stop` drops the
    points not started and stops the running ones within a slice (tens of ms)."""

    def __init__(self, futures: list[Future], stop: Callable[[], None]):
        self.futures = futures
        self.stop = stop


class Sweeps:
    """The sweep pool of one app and the sweeps training on it, each in a stop slot."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.running = 0
        self.pool: ProcessPoolExecutor | None = None
        self.stopped: Any = None  # the pool's shared stop slots (`_STOPPED` in its workers)
        self.free_slots = list(range(settings.max_sweeps))
        self.ids = itertools.count(1)

    def submit(self, plan: SweepPlan) -> SweepJob:
        """Queue every point of `plan`. Raises `SweepsBusy` when `max_sweeps` sweeps are
        training. Blocks while the pool starts: call off the loop."""
        with self.lock:
            if self.running >= self.settings.max_sweeps:
                raise SweepsBusy(
                    f"this server is already training {self.running} sweeps; "
                    "try again when one has finished"
                )
            self.running += 1
            if self.pool is None:
                context = _context()
                self.stopped = context.RawArray("q", self.settings.max_sweeps)
                self.pool = ProcessPoolExecutor(
                    self.settings.sweep_workers,
                    mp_context=context,
                    initializer=_init_worker,
                    initargs=(os.getpid(), self.stopped),
                )
            pool, stopped = self.pool, self.stopped
            slot, sweep_id = self.free_slots.pop(), next(self.ids)
            stopped[slot] = 0
        futures: list[Future] = []

        def stop() -> None:
            stopped[slot] = sweep_id
            for future in futures:
                future.cancel()

        try:
            for link in plan.links:
                futures.append(pool.submit(_train_point, link, plan.epochs, slot, sweep_id))
        except BaseException:
            stop()
            self._finished(pool, slot, broken=True)
            raise
        remaining = len(futures)

        def point_done(future: Future) -> None:
            nonlocal remaining
            broken = not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)
            with self.lock:
                remaining -= 1
                last = remaining == 0
            if last or broken:
                self._finished(pool, slot if last else None, broken)

        for future in futures:
            future.add_done_callback(point_done)
        return SweepJob(futures, stop)

    def _finished(self, pool: ProcessPoolExecutor, slot: int | None, broken: bool) -> None:
        """A sweep's last point is done (`slot` given back), or its pool broke."""
        with self.lock:
            if slot is not None:
                self.running -= 1
                self.free_slots.append(slot)
            if broken and self.pool is pool:  # a worker died: the next sweep starts a new pool
                self.pool = None
        if broken:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop everything now: queued points dropped, running ones stopped, workers ended
        (the server is exiting; a point's result would have nowhere to go)."""
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        # Every running point would train to its end before a worker reads the pool's stop
        # message; ending the processes is immediate, and they hold nothing worth saving.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        # Its manager thread notices the ended workers and closes the pool's wake-up pipe; let
        # it finish, or the interpreter's exit hook can write to that pipe as it closes.
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(timeout=2.0)


def _plan(body: SweepBody, settings: Settings) -> SweepPlan:
    """The checked sweep, or `ConfigError` naming the field (or link key) that is wrong."""
    if body.epochs < 1:
        raise ConfigError(
            "epochs",
            "give how many epochs to train each value: a whole number from 1 to "
            f"{settings.max_sweep_epochs}, got {body.epochs}",
        )
    if body.epochs > settings.max_sweep_epochs:
        raise ConfigError("epochs", f"at most {settings.max_sweep_epochs} epochs per value here")
    values = value_list(body.param, body.values)
    if len(values) > settings.max_sweep_values:
        raise ConfigError("values", f"at most {settings.max_sweep_values} values per sweep here")
    plan = plan_sweep(body.url, body.param, values, body.epochs)
    for k, exp in enumerate(plan.experiments):
        shown = f"with {plan.param}={plan.record(k, {})['value']}"
        samples = exp.numSamples + len(exp.points)
        if samples > settings.max_samples:
            raise ConfigError(
                "numSamples",
                f"{samples} data points ({shown}); this server allows {settings.max_samples}",
            )
        params = Architecture.of(exp).num_parameters
        if params > settings.max_parameters:
            raise ConfigError(
                "networkShape",
                f"{params} parameters ({shown}); this server allows {settings.max_parameters}",
            )
    return plan


async def _lines(plan: SweepPlan, job: SweepJob, stopping: asyncio.Event) -> AsyncIterator[str]:
    try:
        for k, future in enumerate(job.futures):
            try:
                result = await _unless_stopping(asyncio.wrap_future(future), stopping)
            except _ShuttingDown:
                error = {"code": "shutting_down", "field": None, "message": SHUTTING_DOWN}
                yield json.dumps({"error": error}) + "\n"
                return
            except Exception as err:  # a crashed worker or a failing point ends the stream
                value = plan.record(k, {})["value"]
                log.exception("sweep point %s=%s failed", plan.param, value)
                message = f"training {plan.param}={value} failed: {err or type(err).__name__}"
                error = {"code": "internal", "field": None, "message": message}
                yield json.dumps({"error": error}) + "\n"
                return
            yield json.dumps(plan.record(k, result), separators=(",", ":")) + "\n"
    finally:  # the page went away (or a point failed): stop the points still training
        job.stop()


SHUTTING_DOWN = "the server is shutting down"


class _ShuttingDown(Exception):
    pass


async def _unless_stopping(point: asyncio.Future, stopping: asyncio.Event) -> Any:
    """The point's result, or `_ShuttingDown` as soon as the server starts stopping."""
    waiter = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((point, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not point.done():
            point.cancel()
    if point.cancelled():
        raise _ShuttingDown
    return point.result()


@router.post("/sweep", response_model=None)
async def run_sweep(body: SweepBody, request: Request) -> StreamingResponse | JSONResponse:
    """Train the experiment of `url` once per value of `param` (see the module docstring)."""
    settings: Settings = request.app.state.settings
    try:
        plan = _plan(body, settings)
    except ConfigError as err:
        return error_response("bad_value", err.key.removeprefix("--"), err.message)
    try:
        job = await asyncio.to_thread(request.app.state.sweeps.submit, plan)
    except SweepsBusy as err:
        return error_response("too_many_sweeps", None, str(err), status=429)
    lines = _lines(plan, job, request.app.state.stopping)
    return StreamingResponse(lines, media_type="application/x-ndjson")
