"""`netplay serve --processes N`: one process accepts, N serve, and each new connection goes to
the server process that holds the fewest.

uvicorn's own workers all accept from one shared socket, and whichever wakes first takes the
connection, so one process can end up with many learners while another idles (measured: 32
learners over 8 processes, the slowest at 15.4 frames/s against a median of 22.8). SO_REUSEPORT
would have the kernel spread them by a hash of the addresses: even on average, not within one
per process. Here the parent accepts every connection itself and hands its descriptor over a
Unix socket (SCM_RIGHTS) to the worker with the fewest open connections; each worker reports
its count back whenever it changes, with how many descriptors it has received, so that
connections still on their way count too. A learner's session is one long connection, so
counting connections balances sessions.

A worker is a plain uvicorn `Server` with no listening socket of its own: it serves the
connections it is handed. A worker that dies is started again; its connections are gone (their
pages reconnect and start again from their links).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import selectors
import signal
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

REPORT = struct.Struct("<II")  # a worker's open connections, descriptors received so far
REPORT_EVERY_S = 1.0  # besides a report on every change


@dataclass
class Worker:
    """The parent's view of one serving process."""

    process: Any  # multiprocessing.Process
    channel: socket.socket
    handed: int = 0  # descriptors sent to it
    reported: tuple[int, int] = (0, 0)  # its last report: (open, received)
    buffer: bytes = field(default=b"")

    @property
    def load(self) -> int:
        """Open connections, with those handed but not yet received."""
        open_now, received = self.reported
        return open_now + self.handed - received

    def read_reports(self) -> bool:
        """Take what the worker sent; False once it is gone."""
        try:
            data = self.channel.recv(4096)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        self.buffer += data
        whole = len(self.buffer) - len(self.buffer) % REPORT.size
        if whole:
            self.reported = REPORT.unpack_from(self.buffer, whole - REPORT.size)
            self.buffer = self.buffer[whole:]
        return True


def serve(app: str, options: dict[str, Any], host: str, port: int, processes: int,
          shutdown_timeout_s: float) -> None:
    """Listen on `host`:`port` and serve with `processes` workers running the uvicorn app
    factory `app` (a "module:function" path) with uvicorn `options`, until SIGINT or SIGTERM."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.setblocking(False)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers: list[Worker] = []
    selector = selectors.DefaultSelector()
    try:
        for _ in range(processes):
            workers.append(_start_worker(context, app, options, selector))
        selector.register(listener, selectors.EVENT_READ, None)
        while not stopping:
            for key, _ in selector.select(timeout=0.5):
                if key.data is None:
                    _hand_off(listener, workers)
                elif not key.data.read_reports():  # a worker died: start another
                    selector.unregister(key.fileobj)
                    key.data.channel.close()
                    key.data.process.join(1)
                    workers[workers.index(key.data)] = _start_worker(
                        context, app, options, selector)
    finally:
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_workers(workers, shutdown_timeout_s)


def _start_worker(context: Any, app: str, options: dict[str, Any],
                  selector: selectors.BaseSelector) -> Worker:
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = context.Process(target=_worker_main, args=(app, options, child_end), daemon=False)
    process.start()
    child_end.close()
    parent_end.setblocking(False)
    worker = Worker(process, parent_end)
    selector.register(parent_end, selectors.EVENT_READ, worker)
    return worker


def _hand_off(listener: socket.socket, workers: list[Worker]) -> None:
    """Every connection waiting on the listener, each to the least loaded worker."""
    while True:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            for worker in sorted(workers, key=lambda w: w.load):
                try:
                    socket.send_fds(worker.channel, [b"c"], [conn.fileno()])
                except OSError:  # that worker is going: the next one takes it
                    continue
                worker.handed += 1
                break


def _stop_workers(workers: list[Worker], shutdown_timeout_s: float) -> None:
    """SIGTERM to each (uvicorn's graceful shutdown), then SIGKILL to any still running."""
    for worker in workers:
        if worker.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + shutdown_timeout_s + 5
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(5)
        worker.channel.close()


# --- a worker process ------------------------------------------------------------------------


def _worker_main(app: str, options: dict[str, Any], channel: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, factory=True, **options)
    server = uvicorn.Server(config)
    runner = asyncio.Runner(loop_factory=config.get_loop_factory())
    with runner:
        runner.run(_serve_handed(server, config, channel))


async def _serve_handed(server: Any, config: Any, channel: socket.socket) -> None:
    """uvicorn's `serve` with no listener, fed the connections the parent hands over."""
    serving = asyncio.create_task(server.serve(sockets=[]))
    while not server.started:
        if serving.done():
            await serving  # it failed to start: its error is the process's
            return
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()

    def protocol() -> asyncio.Protocol:
        return config.http_protocol_class(config=config, server_state=server.server_state,
                                          app_state=server.lifespan.state)

    received = 0
    channel.setblocking(False)

    def report() -> None:
        with contextlib.suppress(OSError):
            channel.send(REPORT.pack(len(server.server_state.connections), received))

    # uvicorn's protocols add themselves to this set when a connection opens (or becomes a
    # WebSocket) and take themselves out when it closes: each change is reported at once.
    server.server_state.connections = _Reporting(server.server_state.connections, report)

    def take() -> None:
        nonlocal received
        try:
            message, fds, _, _ = socket.recv_fds(channel, 256, 64)
        except (BlockingIOError, InterruptedError):
            return
        if not message:  # the parent is gone: finish what is open and stop
            loop.remove_reader(channel.fileno())
            server.should_exit = True
            return
        for fd in fds:
            received += 1
            sock = socket.socket(fileno=fd)
            sock.setblocking(False)
            loop.create_task(loop.connect_accepted_socket(protocol, sock))
        report()

    loop.add_reader(channel.fileno(), take)

    async def keep_reporting() -> None:  # also now and then: a lost report is made good
        while True:
            report()
            await asyncio.sleep(REPORT_EVERY_S)

    reporter = asyncio.create_task(keep_reporting())
    try:
        await serving
    finally:
        reporter.cancel()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(channel.fileno())


class _Reporting(set[Any]):
    """A set that calls `changed` after every add and removal."""

    def __init__(self, items: Any, changed: Any):
        super().__init__(items)
        self._changed = changed

    def add(self, item: Any) -> None:
        super().add(item)
        self._changed()

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()
