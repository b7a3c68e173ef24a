"""`netplay serve --processes N`: one process accepts, N serve, and each new connection goes to
the server process that holds the fewest.

uvicorn's own workers all accept from one shared socket, and whichever wakes first takes the
connection, so one process can end up with many learners while another idles (measured: 32
learners over 8 processes, the slowest at 15.4 frames/s against a median of 22.8). SO_REUSEPORT
would have the kernel spread them by a hash of the addresses: even on average, not within one
per process. Here the parent accepts every connection itself, peeks at its request line, and
hands its descriptor over a Unix socket (SCM_RIGHTS) to the worker with the fewest open
WebSockets: a learner's session is one, so this balances sessions, and the page's short HTTP
requests do not tip it. Each worker reports its count back whenever it changes, with how many
of the WebSocket requests handed to it have become WebSockets (or closed), so that those still
on their way count too: a burst of learners arriving at once spreads as evenly as a trickle.
A live room's viewers are the exception: a room lives in one process, whose tag (`p0`, `p1`,
…) starts the room's id, so the parent peeks at a new connection's request line and hands `/ws/room/…-p1-…` to process 1 whatever the loads.

A worker is a plain uvicorn `Server` with no listening socket of its own: it serves the
connections it is handed. A worker that dies is started again; its connections are gone (their
pages reconnect and start again from their links). One that dies before it has served for a
while is started again after a growing pause (0.5 s, 1 s, … 30 s), and if every worker keeps failing so the
server stops, with their errors above its own.

The parent holds a connection only until its request line is all there (2 s at most, 256 at
once: past that the one waiting longest goes on by load alone), and when `accept` fails for want
of descriptors or memory the listener rests a second, as asyncio's does, instead of ending the
server: a flood of idle connections cannot take it down. (`netplay serve` raises its soft limit
on open files to the hard one first, for every process.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import multiprocessing
import os
import re
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .roomids import PROCESS_TAG_ENV, room_process

REPORT = struct.Struct("<II")  # a worker's open WebSockets, WebSocket requests received so far
REPORT_EVERY_S = 1.0  # besides a report on every change
PEEK_BYTES = 256  # of a request line: enough for `GET /ws/room/<id>`
PEEK_WAIT_S = 2.0  # a connection that sends nothing this long goes by load alone
_ROOM = re.compile(rb"^GET /ws/room/([A-Za-z0-9_-]+)")
REPLICA_NAME_ENV = "NETPLAY_REPLICA_NAME"  # the `replica_name` setting, as every process has it
EARLY_DEATH_S = 10.0  # a worker that dies before serving this long is restarted after a pause
RESTART_PAUSE_S = (0.5, 30.0)  # the first pause, doubled each early death up to the second
GIVE_UP_AFTER = 6  # early deaths in a row of every worker: the server stops
ACCEPT_PAUSE_S = 1.0  # out of descriptors or memory: the listener rests this long, as asyncio's
ACCEPT_BATCH = 256  # connections taken per wake-up at most
WAITING_MOST = 256  # watched for their request line at once; past it, the oldest goes by load
# accept(2) errors that belong to one connection that failed on its way in: the next is taken.
_ONE_CONNECTION = {errno.ECONNABORTED, errno.EPROTO, errno.ENETDOWN, errno.ENOPROTOOPT,
                   errno.EHOSTDOWN, errno.ENONET, errno.EHOSTUNREACH, errno.EOPNOTSUPP,
                   errno.ENETUNREACH, errno.EPERM}


class WorkersFailing(RuntimeError):
    """Every serving process keeps dying as soon as it starts."""


@dataclass
class Worker:
    """The parent's view of one serving process."""

    process: Any  # multiprocessing.Process
    channel: socket.socket
    handed: int = 0  # WebSocket requests sent to it
    reported: tuple[int, int] = (0, 0)  # its last report: (open, received)
    buffer: bytes = field(default=b"")
    up: float | None = None  # when it first reported: serving
    early_deaths: int = 0  # in a row, this slot's

    @property
    def load(self) -> int:
        """Open WebSockets, with those handed but not yet received."""
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
        if self.up is None:
            self.up = time.monotonic()
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
        for index in range(processes):
            workers.append(_start_worker(context, app, options, selector, index))
        selector.register(listener, selectors.EVENT_READ, None)
        waiting = _Waiting(selector, workers)  # accepted, request line not yet all there
        restarts: dict[int, float] = {}  # a dead worker's slot: when it starts again
        listening_at: float | None = None  # while the listener rests: when it listens again
        while not stopping:
            for key, _ in selector.select(timeout=0.2):
                if key.data is None:
                    if not _accept(listener, workers, waiting):
                        selector.unregister(listener)
                        listening_at = time.monotonic() + ACCEPT_PAUSE_S
                elif isinstance(key.data, Worker):
                    if not key.data.read_reports():  # it died: another starts in its place
                        dead = key.data
                        selector.unregister(dead.channel)
                        dead.channel.close()
                        dead.process.join(0.1)
                        restarts[workers.index(dead)] = time.monotonic() + _pause_after(dead)
                else:  # a waiting connection has sent (more of) its request line
                    assert isinstance(key.fileobj, socket.socket)
                    waiting.look(key.fileobj)
            now = time.monotonic()
            if listening_at is not None and now >= listening_at:
                selector.register(listener, selectors.EVENT_READ, None)
                listening_at = None
            for index, worker in enumerate(workers):
                if index not in restarts and worker.up is not None \
                        and now - worker.up >= EARLY_DEATH_S:
                    worker.early_deaths = 0  # it has served a while: it is well again
            if all(w.early_deaths >= GIVE_UP_AFTER for w in workers):
                raise WorkersFailing(f"all {processes} serving processes died within "
                                     f"{EARLY_DEATH_S:g} s of starting, {GIVE_UP_AFTER} times "
                                     "in a row")
            _restart_due(restarts, workers, lambda i: _start_worker(context, app, options, selector, i))
            waiting.turn(now)
    finally:
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_workers(workers, shutdown_timeout_s)


def _restart_due(restarts: dict[int, float], workers: list[Worker], start: Any) -> None:
    """Start again each dead worker whose pause is over; `start(index)` makes one."""
    now = time.monotonic()
    for index, when in list(restarts.items()):
        if now < when:
            continue
        try:
            worker = start(index)
        except OSError as err:  # out of descriptors or processes: try again later
            print(f"netplay: could not start serving process {index} again ({err.strerror}); "
                  f"trying again in {RESTART_PAUSE_S[0]:g} s", file=sys.stderr, flush=True)
            restarts[index] = now + RESTART_PAUSE_S[0]
            continue
        del restarts[index]
        worker.early_deaths = workers[index].early_deaths
        workers[index] = worker


def _pause_after(dead: Worker) -> float:
    """How long a dead worker's slot waits before it starts again: at once if it had served a
    while, else a pause doubled with each early death in a row, up to the longest."""
    # Before it served, or soon after: however long starting took.
    early = dead.up is None or time.monotonic() - dead.up < EARLY_DEATH_S
    dead.early_deaths = dead.early_deaths + 1 if early else 0
    if not early:
        return 0.0
    first, most = RESTART_PAUSE_S
    # A slot may die early for hours while another serves (the server gives up only when all
    # do), so the doubling stops once it has passed the longest pause.
    return min(most, first * 2 ** min(dead.early_deaths - 1, 32))


def _start_worker(context: Any, app: str, options: dict[str, Any],
                  selector: selectors.BaseSelector, index: int) -> Worker:
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = context.Process(target=_worker_main, args=(app, options, child_end, index),
                              daemon=False)
    process.start()
    child_end.close()
    parent_end.setblocking(False)
    worker = Worker(process, parent_end)
    selector.register(parent_end, selectors.EVENT_READ, worker)
    return worker


def _accept(listener: socket.socket, workers: list[Worker], waiting: _Waiting) -> bool:
    """Every connection waiting on the listener: handed on at once when its request line is
    already there, else watched until it is (`waiting`). False when the listener should rest:
    this process is out of descriptors or memory (a flood of idle connections can do that),
    which must not stop the server."""
    for _ in range(ACCEPT_BATCH):
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as err:
            if err.errno in _ONE_CONNECTION:  # that one failed on its way in
                continue
            print(f"netplay: cannot accept connections ({err.strerror}); accepting again in "
                  f"{ACCEPT_PAUSE_S:g} s", file=sys.stderr, flush=True)
            return False
        conn.setblocking(False)
        try:
            head = conn.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            head = None
        except OSError:
            conn.close()
            continue
        if head is not None and _whole(head):
            _route(conn, workers, head)
        else:
            waiting.add(conn)
    return True


def _whole(head: bytes) -> bool:
    """Whether a peek holds all the parent needs of a request line (or there will be none)."""
    return not head or b"\n" in head or len(head) >= PEEK_BYTES


class _Waiting:
    """Connections accepted whose request line is not all there yet. Each goes on when it is
    (a room's viewer must be routed on the whole path, not on `GET /ws/ro`), after
    `PEEK_WAIT_S` in any case, and the parent holds at most `WAITING_MOST` (past that, the one
    waiting longest goes on by load alone): a flood of idle connections must not use up its
    descriptors. One that has sent part of its line is peeked at again each turn of the
    parent's loop (every 0.2 s at most) rather than watched: its unread bytes would wake the
    selector at once, again and again."""

    def __init__(self, selector: selectors.BaseSelector, workers: list[Worker]):
        self.selector, self.workers = selector, workers
        self.since: dict[socket.socket, float] = {}
        self.partial: set[socket.socket] = set()  # not watched by the selector

    def add(self, conn: socket.socket) -> None:
        if len(self.since) >= WAITING_MOST:
            self._go(next(iter(self.since)))
        try:
            self.selector.register(conn, selectors.EVENT_READ, "request")
        except OSError:
            _route(conn, self.workers)
            return
        self.since[conn] = time.monotonic()

    def look(self, conn: socket.socket) -> None:
        """Peek at what `conn` has sent so far: it goes on once that is a whole line."""
        try:
            head = conn.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset: closed
            head = b""
        if _whole(head):
            self._go(conn, head)
        elif conn not in self.partial:
            self.selector.unregister(conn)
            self.partial.add(conn)

    def turn(self, now: float) -> None:
        for conn in list(self.partial):
            self.look(conn)
        for conn in [c for c, t in self.since.items() if now - t > PEEK_WAIT_S]:
            self._go(conn)

    def _go(self, conn: socket.socket, head: bytes | None = None) -> None:
        if conn in self.partial:
            self.partial.remove(conn)
        else:
            self.selector.unregister(conn)
        del self.since[conn]
        _route(conn, self.workers, head)


def _route(conn: socket.socket, workers: list[Worker], head: bytes | None = None) -> None:
    """Hand `conn` to the process its room lives in, or else to the least loaded."""
    with conn:
        if head is None:
            with contextlib.suppress(OSError):
                head = conn.recv(PEEK_BYTES, socket.MSG_PEEK)
        if head == b"":  # closed before it sent a byte: nothing to hand on
            return
        # Workers still starting (or starting again) last: a connection waits for none of them
        # while another serves.
        order = sorted(workers, key=lambda w: (w.up is None, w.load))
        socket_request = (head or b"").startswith(b"GET /ws")
        room = _ROOM.match(head or b"")
        # The process's tag follows the replica's name, if it has one (server/roomids.py).
        held_by = room_process(room.group(1).decode(), os.environ.get(REPLICA_NAME_ENV, "")) \
            if room else None
        if held_by is not None and held_by < len(workers):
            order.insert(0, workers[held_by])
        for worker in order:
            try:
                socket.send_fds(worker.channel, [b"w" if socket_request else b"h"],
                                [conn.fileno()])
            except OSError:  # that worker is going: the next one takes it
                continue
            worker.handed += socket_request
            return


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


def _worker_main(app: str, options: dict[str, Any], channel: socket.socket, index: int) -> None:
    import uvicorn

    os.environ[PROCESS_TAG_ENV] = f"p{index}"  # starts the ids of this process's rooms
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
    handed = _Handed(server, config, channel, loop)
    loop.add_reader(channel.fileno(), handed.take)

    async def keep_reporting() -> None:  # also now and then: a lost report is made good
        while True:
            handed.report()
            await asyncio.sleep(REPORT_EVERY_S)

    reporter = asyncio.create_task(keep_reporting())
    try:
        await serving
    finally:
        reporter.cancel()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(channel.fileno())


class _Handed:
    """A worker's side of the hand-off: it opens each connection it is handed and reports its
    load back to the parent.

    uvicorn's protocols add themselves to `server_state.connections` when a connection opens
    (or becomes a WebSocket) and take themselves out when it closes (or upgrades). A WebSocket
    request counts as received only when its HTTP connection leaves that set, in the same turn
    of the loop as its WebSocket joins it, so the parent counts it as on its way until then and
    a burst of learners does not pile onto a process that has not upgraded them yet."""

    def __init__(self, server: Any, config: Any, channel: socket.socket,
                 loop: asyncio.AbstractEventLoop):
        self.server, self.config, self.channel, self.loop = server, config, channel, loop
        self.received = 0  # WebSocket requests whose HTTP connection has upgraded or closed
        self.upgrading: set[Any] = set()  # the HTTP connections of WebSocket requests, till then
        self.due = False  # a report is on its way
        self.opening: set[asyncio.Task[None]] = set()  # kept until done (the loop keeps none)
        self.connections = _Reporting(server.server_state.connections, self.report, self.left)
        server.server_state.connections = self.connections
        channel.setblocking(False)

    def report(self) -> None:
        """Once for all the changes of one turn of the loop: an upgrade (HTTP connection out,
        WebSocket in) is never seen half done."""
        if not self.due:
            self.due = True
            self.loop.call_soon(self._send_report)

    def _send_report(self) -> None:
        self.due = False
        sockets = self.config.ws_protocol_class
        open_now = sum(isinstance(c, sockets) for c in self.connections)
        with contextlib.suppress(OSError):
            self.channel.send(REPORT.pack(open_now, self.received))

    def left(self, connection: Any) -> None:
        if connection in self.upgrading:
            self.upgrading.remove(connection)
            self.received += 1

    def _http(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(config=self.config,
                                               server_state=self.server.server_state,
                                               app_state=self.server.lifespan.state)

    async def _open(self, sock: socket.socket, websocket: bool) -> None:
        connection = self._http()
        if websocket:
            self.upgrading.add(connection)
        try:
            await self.loop.connect_accepted_socket(lambda: connection, sock)
        except BaseException as err:  # gone before it was opened: not on its way any more
            sock.close()
            self.left(connection)
            self.report()
            if not isinstance(err, Exception):
                raise  # the loop is ending

    def take(self) -> None:
        """Open what the parent has handed over."""
        try:
            message, fds, _, _ = socket.recv_fds(self.channel, 256, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the parent died with reports unread (ECONNRESET): as gone
            message, fds = b"", []
        if not message:  # the parent is gone: finish what is open and stop
            self.loop.remove_reader(self.channel.fileno())
            self.server.should_exit = True
            return
        # One byte per descriptor, b"w" or b"h". A descriptor the kernel dropped (this process
        # is out of them) still has its byte: that request will never arrive.
        for kind, fd in zip(message, fds, strict=False):
            sock = socket.socket(fileno=fd)
            sock.setblocking(False)
            task = self.loop.create_task(self._open(sock, kind == ord("w")))
            self.opening.add(task)
            task.add_done_callback(self.opening.discard)
        lost = message[len(fds):].count(b"w")
        if lost:
            self.received += lost
            self.report()


class _Reporting(set[Any]):
    """A set that calls `changed` after every add and removal, and `left` with what is removed
    before that."""

    def __init__(self, items: Any, changed: Any, left: Any):
        super().__init__(items)
        self._changed = changed
        self._left = left

    def add(self, item: Any) -> None:
        super().add(item)
        self._changed()

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._left(item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._left(item)
        self._changed()
