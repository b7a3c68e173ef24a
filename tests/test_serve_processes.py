"""`netplay serve --processes N` spreads learners evenly (server/balancer.py): one process
accepts and hands each connection to the worker with the fewest WebSockets, so sessions are
within one of each other per process as learners come and go; a live room's viewers reach the
process that holds it; a worker that dies is replaced. One server of three processes serves the
whole module (starting one costs seconds of CPU); the test that kills a worker runs last."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import websockets
from aio import run_async
from serverproc import ServerProcess, descendants, free_port, stat_fields, wait_for_health

from server.balancer import REPORT, _Handed
from server.client import connect_live, ws_url

PROCESSES = 3
ROOT = Path(__file__).resolve().parent.parent


def _workers(pid: int) -> list[int]:
    """The serving processes under the accepting one (not multiprocessing's helpers)."""
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError), open(f"/proc/{child}/cmdline", "rb") as f:
            if b"spawn_main" in f.read() and stat_fields(child)[1] == str(pid):
                found.append(child)
    return found


def _spread(url: str) -> list[int]:
    return wait_for_health(url, 5)["sessions_per_process"]


def _all_up(server: ServerProcess, victim: int | None = None) -> None:
    deadline = time.monotonic() + 60
    while (len(_spread(server.url)) < PROCESSES or len(_workers(server.pid)) < PROCESSES
           or victim in _workers(server.pid)):
        assert time.monotonic() < deadline, "not every worker is up"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server():
    with ServerProcess({"--processes": PROCESSES}) as server:
        _all_up(server)
        yield server


def test_learners_spread_within_one_per_process_as_they_come_and_go(server):
    async def classroom() -> list[list[int]]:
        seen = []
        async with contextlib.AsyncExitStack() as stack:
            learners = []
            for _ in range(10):
                learners.append(await stack.enter_async_context(connect_live(server.url)))
                await asyncio.sleep(0.05)
                seen.append(_spread(server.url))
            for learner in learners[:4]:  # four leave, whichever process they were on
                await learner.ws.close()
            await asyncio.sleep(0.3)
            for _ in range(4):  # and four come
                await stack.enter_async_context(connect_live(server.url))
                await asyncio.sleep(0.05)
            seen.append(_spread(server.url))
        return seen

    seen = run_async(classroom(), 60)
    for counts in seen:
        assert max(counts) - min(counts) <= 1, seen
    assert sum(seen[-1]) == 10


def test_a_burst_of_learners_arriving_at_once_spreads_within_one(server):
    """Twelve learners knock at the same moment, three times: those handed over but not yet
    upgraded to WebSockets count where they went, so the burst does not pile onto one."""

    async def burst() -> list[list[int]]:
        seen = []
        for _ in range(3):
            async with contextlib.AsyncExitStack() as stack:
                await asyncio.gather(*(stack.enter_async_context(connect_live(server.url))
                                       for _ in range(12)))
                seen.append(_spread(server.url))
            await asyncio.sleep(0.5)  # all gone before the next burst
        return seen

    seen = run_async(burst(), 90)
    for counts in seen:
        assert sum(counts) == 12 and max(counts) - min(counts) <= 1, seen


def _first_message_in_pieces(port: int, path: str) -> bytes:
    """A WebSocket handshake for `path` whose request line arrives in two writes 0.3 s apart;
    the first text message the server sends."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        sock.sendall(request[:10])  # `GET /ws/ro`
        time.sleep(0.3)
        sock.sendall(request[10:])
        reader = sock.makefile("rb")
        assert b" 101 " in reader.readline()
        while reader.readline() not in (b"\r\n", b""):
            pass
        while True:
            opcode, size = reader.read(2)
            size &= 0x7F
            if size >= 126:
                size = int.from_bytes(reader.read(2 if size == 126 else 8), "big")
            payload = reader.read(size)
            if opcode & 0x0F == 1:
                return payload


def test_a_rooms_viewers_reach_the_process_that_holds_it(server):
    """Teachers land on different processes; each room's viewer is handed to its own, though
    by load alone the viewers would all go to the same one, and so is a viewer whose request
    line comes in pieces."""

    async def watch() -> list[str]:
        async with contextlib.AsyncExitStack() as stack:
            rooms = []
            for _ in range(PROCESSES):
                teacher = await stack.enter_async_context(connect_live(server.url))
                await teacher.start()
                await teacher.send(type="share_live", name="class")
                rooms.append((await teacher.until("room"))["id"])
            for room in rooms:
                async with websockets.connect(ws_url(server.url, f"/ws/room/{room}")) as ws:
                    first = await asyncio.wait_for(ws.recv(), 10)
                    assert json.loads(first)["type"] == "room", first  # not `no_room`
                # The request line in two pieces: routed on the whole path, not on a piece.
                first = await asyncio.to_thread(_first_message_in_pieces, server.port,
                                                f"/ws/room/{room}")
                assert json.loads(first)["type"] == "room", first
            return rooms

    rooms = run_async(watch(), 60)
    assert sorted(r.split("-")[0] for r in rooms) == [f"p{i}" for i in range(PROCESSES)]


def test_a_worker_that_dies_is_replaced_and_the_server_serves_on(server):  # last: it kills
    victim = _workers(server.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _all_up(server, victim)

    async def learn() -> dict:
        async with connect_live(server.url) as learner:
            return await learner.start()

    assert run_async(learn(), 30)["type"] == "frame"


def test_workers_that_keep_dying_at_start_stop_the_server_with_a_clear_error():
    """A worker that cannot start (here: an app that does not exist) is started again after a
    pause, not forever: once every worker has died early six times in a row the server stops."""
    script = ("import server.balancer as b; b.RESTART_PAUSE_S = (0.01, 0.02); "
              "b.serve('server.no_such_module:app', {'log_level': 'critical'}, '127.0.0.1', 0, "
              "1, 1)")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    assert done.returncode != 0
    assert "WorkersFailing: all 1 serving processes died within 10 s of starting, 6 times " \
           "in a row" in done.stderr, done.stderr[-2000:]
    assert time.monotonic() - started < 100


def test_a_worker_counts_what_it_was_handed_until_it_upgrades_and_a_lost_descriptor_at_once():
    """The worker's side of the hand-off (`_Handed`), on a stand-in for uvicorn: a WebSocket
    request counts as received when its HTTP connection leaves uvicorn's set (the upgrade), and
    one whose descriptor the kernel dropped (its byte came alone) counts at once, else the
    parent would see that process one learner heavier for ever."""

    class Http(asyncio.Protocol):
        def __init__(self, config, server_state, app_state):
            self.state = server_state

        def connection_made(self, transport):
            self.transport = transport
            self.state.connections.add(self)

        def connection_lost(self, exc):
            self.state.connections.discard(self)

    class Socket:  # uvicorn's WebSocket protocol: counted as open
        pass

    async def hand_over() -> list[tuple[int, int]]:
        server = SimpleNamespace(server_state=SimpleNamespace(connections=set()),
                                 lifespan=SimpleNamespace(state={}), should_exit=False)
        config = SimpleNamespace(http_protocol_class=Http, ws_protocol_class=Socket)
        parent, child = socket.socketpair()
        learner, served = socket.socketpair()
        handed = _Handed(server, config, child, asyncio.get_running_loop())
        parent.setblocking(False)
        seen = []

        async def report() -> None:
            await asyncio.sleep(0.05)
            data = parent.recv(4096)
            seen.append(REPORT.unpack_from(data, len(data) - REPORT.size))

        socket.send_fds(parent, [b"ww"], [served.fileno()])  # two requests, one descriptor
        served.close()
        handed.take()
        await report()  # the lost one is received; the other is on its way
        (http,) = handed.upgrading
        handed.connections.discard(http)  # the upgrade: HTTP out, the WebSocket in
        handed.connections.add(Socket())
        await report()
        for sock in (parent, child, learner):
            sock.close()
        http.transport.close()
        return seen

    assert run_async(hand_over(), 10) == [(0, 1), (1, 2)]


def test_a_worker_still_starting_gets_a_connection_only_when_none_serves():
    """A worker (re)started but not yet serving holds no learners, so by load alone it would
    take every new one and keep them waiting while it boots, or lose them if it dies again."""
    from server.balancer import Worker, _route

    def worker(up: float | None, open_now: int) -> tuple[Worker, socket.socket]:
        parent, child = socket.socketpair()
        w = Worker(process=None, channel=parent, reported=(open_now, 0), up=up)
        return w, child

    def routed(workers: list[Worker], ends: list[socket.socket]) -> int:
        learner, served = socket.socketpair()
        _route(served, workers, b"GET /ws HTTP/1.1")
        learner.close()
        for index, end in enumerate(ends):
            end.setblocking(False)
            try:
                message, fds, _, _ = socket.recv_fds(end, 16, 4)
            except BlockingIOError:
                continue
            for fd in fds:
                os.close(fd)
            assert message == b"w"
            return index
        raise AssertionError("handed to no worker")

    booting, booting_end = worker(None, 0)
    serving, serving_end = worker(time.monotonic(), 5)
    assert routed([booting, serving], [booting_end, serving_end]) == 1  # the busy one serves
    assert serving.handed == 1 and booting.handed == 0
    serving.up = None  # none serves: the least loaded takes it
    assert routed([booting, serving], [booting_end, serving_end]) == 0
    for sock in (booting.channel, serving.channel, booting_end, serving_end):
        sock.close()


_TINY_APP = '''
def make():
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
    return app
'''


def test_a_flood_of_idle_connections_past_the_descriptor_limit_does_not_stop_the_server(
        tmp_path):
    """The accepting process holds each connection until its request line comes. With 300
    idle connections against a limit of 100 open files, `accept` fails (EMFILE): the listener
    rests a second and the server serves on once they are gone (it used to exit)."""
    (tmp_path / "tinyapp.py").write_text(_TINY_APP)
    port = free_port()
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100)); "
              f"sys.path.insert(0, {str(tmp_path)!r}); import server.balancer as b; "
              f"b.serve('tinyapp:make', {{'log_level': 'critical'}}, '127.0.0.1', {port}, 2, 1)")
    log = tmp_path / "log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        assert _get_ok(port, 60), log.read_text()[-2000:]
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
        time.sleep(3)  # accepted till out of descriptors, rested, handed on, and again
        for sock in idle:
            sock.close()
        assert proc.poll() is None, log.read_text()[-2000:]
        assert _get_ok(port, 20), log.read_text()[-2000:]
        assert "cannot accept connections (Too many open files); accepting again in 1 s" \
            in log.read_text()
    finally:
        proc.terminate()
        proc.wait(20)


def _get_ok(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.makefile("rb").read().startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def test_a_slot_that_dies_early_for_hours_waits_the_longest_pause_and_no_more():
    """The server gives up only when every slot keeps dying, so one slot may die early
    thousands of times while another serves: its pause stays 30 s (the doubling overflowed)."""
    from server.balancer import RESTART_PAUSE_S, Worker, _pause_after

    slot = Worker(process=None, channel=None, early_deaths=2000)  # type: ignore[arg-type]
    assert _pause_after(slot) == RESTART_PAUSE_S[1]
    assert slot.early_deaths == 2001
    slot.up = time.monotonic() - 60  # it served a minute: at once, and well again
    assert _pause_after(slot) == 0 and slot.early_deaths == 0


def test_a_worker_whose_parent_died_with_reports_unread_stops_quietly():
    """The parent gone with the worker's reports unread: the worker's next read is a reset
    (ECONNRESET), taken as the parent gone, not an error in a loop callback."""
    server = SimpleNamespace(server_state=SimpleNamespace(connections=set()),
                             lifespan=SimpleNamespace(state={}), should_exit=False)

    async def orphan() -> bool:
        parent, child = socket.socketpair()
        child.send(REPORT.pack(1, 1))  # never read
        parent.close()
        loop = asyncio.get_running_loop()
        handed = _Handed(server, SimpleNamespace(), child, loop)
        loop.add_reader(child.fileno(), handed.take)
        handed.take()
        child.close()
        return server.should_exit

    assert run_async(orphan(), 10) is True


def test_serving_raises_the_soft_limit_on_open_files_to_the_hard_one():
    import resource

    from server.app import more_descriptors

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        assert more_descriptors() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_accepting_process_holds_at_most_so_many_silent_connections(monkeypatch):
    """Connections that have sent nothing wait for their request line, but no more than
    `WAITING_MOST`: past that the one waiting longest goes on to a worker by load alone, so a
    flood of silent connections cannot hold every descriptor of the accepting process."""
    import selectors

    from server import balancer

    monkeypatch.setattr(balancer, "WAITING_MOST", 3)
    parent, child = socket.socketpair()
    worker = balancer.Worker(process=None, channel=parent, up=time.monotonic())
    selector = selectors.DefaultSelector()
    waiting = balancer._Waiting(selector, [worker])
    pairs = [socket.socketpair() for _ in range(5)]
    for _, served in pairs:
        served.setblocking(False)
        waiting.add(served)
    assert len(waiting.since) == 3
    assert list(waiting.since) == [served for _, served in pairs[2:]]  # the two oldest went on
    child.setblocking(False)
    for _ in range(2):  # one hand-over each, by load: plain HTTP as far as the parent knows
        message, fds, _, _ = socket.recv_fds(child, 16, 8)
        assert message == b"h" and len(fds) == 1
        os.close(fds[0])
    with pytest.raises(BlockingIOError):  # and no more
        socket.recv_fds(child, 16, 8)
    for sock in [parent, child, *[s for pair in pairs for s in pair]]:
        sock.close()
    selector.close()
