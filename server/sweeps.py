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

The answer is NDJSON: one line per value, in the order given, each as `netplay sweep --json`
prints it. A bad request is a 422 naming the field before anything trains; a server already
training `max_sweeps` sweeps answers 429.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator
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
    values: list[Annotated[str, Field(max_length=400)]] = Field(min_length=1, max_length=MAX_POINTS)
    epochs: int = Field(ge=1)  # per value; the upper bound is the `max_sweep_epochs` setting


class SweepsBusy(Exception):
    """The server is already training `max_sweeps` sweeps."""


def _init_worker(server_pid: int) -> None:
    """A pool worker: one torch thread, and gone within a second of the server, however the
    server ended (killed, or stopped by a signal that uvicorn re-raises after shutdown: either
    way the pool's own stop message is never sent, and a worker would wait for work forever)."""
    init_worker()
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()


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


class Sweeps:
    """The sweep pool of one app and the number of sweeps training on it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.running = 0
        self.pool: ProcessPoolExecutor | None = None

    def submit(self, plan: SweepPlan) -> list[Future]:
        """Queue every point of `plan` (one future per value, in order). Raises `SweepsBusy`
        when `max_sweeps` sweeps are training. Blocks while the pool starts: call off the loop."""
        with self.lock:
            if self.running >= self.settings.max_sweeps:
                raise SweepsBusy(
                    f"this server is already training {self.running} sweeps; "
                    "try again when one has finished"
                )
            self.running += 1
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    self.settings.sweep_workers,
                    mp_context=_context(),
                    initializer=_init_worker,
                    initargs=(os.getpid(),),
                )
            pool = self.pool
        futures: list[Future] = []
        try:
            for link in plan.links:
                futures.append(pool.submit(train_point, link, plan.epochs))
        except BaseException:
            for future in futures:
                future.cancel()
            self._finished(pool, broken=True)
            raise
        remaining = len(futures)

        def point_done(future: Future) -> None:
            nonlocal remaining
            broken = not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)
            with self.lock:
                remaining -= 1
                last = remaining == 0
            if last or broken:
                self._finished(pool, broken, count=last)

        for future in futures:
            future.add_done_callback(point_done)
        return futures

    def _finished(self, pool: ProcessPoolExecutor, broken: bool, count: bool = True) -> None:
        with self.lock:
            if count:
                self.running -= 1
            if broken and self.pool is pool:  # a worker died: the next sweep starts a new pool
                self.pool = None
        if broken:
            pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _plan(body: SweepBody, settings: Settings) -> SweepPlan:
    """The checked sweep, or `ConfigError` naming the field (or link key) that is wrong."""
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


async def _lines(plan: SweepPlan, futures: list[Future]) -> AsyncIterator[str]:
    try:
        for k, future in enumerate(futures):
            try:
                result = await asyncio.wrap_future(future)
            except Exception as err:  # a crashed worker or a failing point ends the stream
                value = plan.record(k, {})["value"]
                log.exception("sweep point %s=%s failed", plan.param, value)
                message = f"training {plan.param}={value} failed: {err or type(err).__name__}"
                error = {"code": "internal", "field": None, "message": message}
                yield json.dumps({"error": error}) + "\n"
                return
            yield json.dumps(plan.record(k, result), separators=(",", ":")) + "\n"
    finally:  # the page went away (or a point failed): drop the points not started yet
        for future in futures:
            future.cancel()


@router.post("/sweep", response_model=None)
async def run_sweep(body: SweepBody, request: Request) -> StreamingResponse | JSONResponse:
    """Train the experiment of `url` once per value of `param` (see the module docstring)."""
    settings: Settings = request.app.state.settings
    try:
        plan = _plan(body, settings)
    except ConfigError as err:
        return error_response("bad_value", err.key.removeprefix("--"), err.message)
    try:
        futures = await asyncio.to_thread(request.app.state.sweeps.submit, plan)
    except SweepsBusy as err:
        return error_response("too_many_sweeps", None, str(err), status=429)
    return StreamingResponse(_lines(plan, futures), media_type="application/x-ndjson")
