"""The FastAPI app factory and `serve`, which runs it under uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import os
import re
import resource
import socket
import sys
import threading
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from playground_models.imagelab import data as labdata

from . import (
    __version__,
    aelab,
    api,
    balancer,
    imagelab,
    lessons,
    pages,
    paintlab,
    rllab,
    seqlab,
    sweeps,
)
from .admission import Registry, SessionBoard
from .hosts import HostCheck, HostPolicy
from .memory import MemoryCeiling, big_blocks_apart
from .rooms import Rooms, Viewer
from .scheduler import Scheduler, owned_by
from .session import Session
from .settings import ENV_PREFIX, Settings, SettingsError, load
from .shutdown import notice_exit_signals
from .wsproto import ws_setting

# uvicorn closes a connection (1009) on a frame above this. It is set well above
# `max_message_bytes` so that an oversized message gets a `too_large` error reply instead.
TRANSPORT_MAX_BYTES = 16 * 1024 * 1024
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


def content_security_policy(host: str | None, frame_ancestors: tuple[str, ...] = ("'none'",)) -> str:
    """Everything from this server only: no CDN, no fonts or analytics from elsewhere; framed
    only by `frame_ancestors` (`--frame-ancestors`; by default by no page, against clickjacking).

    `connect-src 'self'` covers same-origin WebSockets in current browsers; the explicit
    ws:// and wss:// entries are for older ones (Safari before 15.4) that read it literally.
    """
    sockets = f" ws://{host} wss://{host}" if host and _SAFE_HOST.match(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self'; worker-src 'self' blob:; "
        f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {' '.join(frame_ancestors)}"
    )


def frame_options(frame_ancestors: tuple[str, ...]) -> bytes | None:
    """X-Frame-Options for browsers that predate CSP's frame-ancestors. It has no form for a
    list of other sites, so with one it is left out and frame-ancestors alone decides."""
    known: dict[tuple[str, ...], bytes] = {("'none'",): b"DENY", ("'self'",): b"SAMEORIGIN"}
    return known.get(tuple(frame_ancestors))


class SecurityHeaders:
    """Pure ASGI middleware adding CSP and friends to every HTTP response (not WebSockets)."""

    def __init__(self, app: Any, frame_ancestors: tuple[str, ...] = ("'none'",)):
        self.app = app
        self.frame_ancestors = tuple(frame_ancestors)
        self.frame_options = frame_options(self.frame_ancestors)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                csp = content_security_policy(host, self.frame_ancestors)
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if self.frame_options is not None:
                    headers.append((b"x-frame-options", self.frame_options))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


EXIT_GRACE_S = 3.0  # beyond shutdown_timeout_s, before a stopping process is ended
# Set by `serve --processes N` for its worker processes.
BOARD_ENV = "NETPLAY_SESSION_BOARD"
BOUND_HOST_ENV = "NETPLAY_BOUND_HOST"


def create_app(
    settings: Settings | None = None,
    board: SessionBoard | None = None,
    bound_host: str | None = None,
) -> FastAPI:
    """A complete netplay server: page, static files, `/api`, `/ws`, and the image lab.
    `board` shares the session count with the server's other processes; `bound_host` is the
    `--host` it listens on, whose name it answers to (server/hosts.py)."""
    settings = settings if settings is not None else load()
    scheduler = Scheduler(settings.workers, settings.torch_threads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        exit_within_s = settings.shutdown_timeout_s + EXIT_GRACE_S
        undo = notice_exit_signals(app.state.stopping, exit_within_s)
        yield
        undo()
        app.state.stopping.set()
        app.state.sweeps.shutdown()
        scheduler.shutdown()

    # No /docs or /redoc: they load Swagger UI from a CDN, which the CSP forbids.
    app = FastAPI(
        title="netplay", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    labdata.use_cifar_dir(settings.lab_cifar_dir)
    app.state.scheduler = scheduler
    app.state.registry = Registry(board)  # /ws sessions, capped by max_sessions
    # The image lab's, capped by lab_max_sessions; on the same board, as a kind of its own.
    app.state.lab_registry = Registry(board, "lab")
    app.state.rooms = Rooms(settings)  # runs shared live (server/rooms.py), this process's
    app.state.seq_registry = Registry(board, "seq")  # the sequence lab's, by seq_max_sessions
    app.state.rl_registry = Registry(board, "rl")  # the agent lab's, by rl_max_sessions
    app.state.paint_registry = Registry(board, "paint")  # the painting lab's
    app.state.ae_registry = Registry(board, "ae")  # the autoencoder lab's
    app.state.sweeps = sweeps.Sweeps(settings)
    # One ceiling per process, for every kind of session (the image lab asks it too).
    app.state.memory = MemoryCeiling(settings.max_memory_mb)
    app.state.previews = api.Previews()
    app.state.stopping = asyncio.Event()  # set on Ctrl-C or SIGTERM (server/shutdown.py)
    app.state.hosts = HostPolicy(settings.allowed_hosts, bound_host)
    # Added first, so it runs inside SecurityHeaders: a refusal carries CSP and nosniff too.
    app.add_middleware(HostCheck, policy=app.state.hosts)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    # Starlette types a handler's exception as plain `Exception`; each of these takes the
    # subclass it is registered for, which is what Starlette passes.
    app.add_exception_handler(RequestValidationError, api.invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, api.unreadable_body)  # type: ignore[arg-type]
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(imagelab.router)
    app.include_router(seqlab.router)
    app.include_router(rllab.router)
    app.include_router(paintlab.router)
    app.include_router(aelab.router)
    app.include_router(lessons.router)
    app.include_router(sweeps.router)
    pages.mount_static(app)

    @app.websocket("/ws")
    async def live_session(ws: WebSocket) -> None:
        with owned_by("ws"):  # the session's jobs, and its player's, share the workers fairly
            await Session(ws, settings, scheduler).serve(app.state.registry)

    @app.websocket("/ws/room/{room_id}")
    async def room_viewer(ws: WebSocket, room_id: str) -> None:
        await Viewer(ws, settings, app.state.rooms, room_id).serve()

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of `netplay serve --processes N`."""
    board = os.environ.get(BOARD_ENV)
    app = create_app(load(), SessionBoard(board) if board else None,
                     os.environ.get(BOUND_HOST_ENV))
    settle_heap()
    return app


def settle_heap() -> None:
    """Leave what a serving process has loaded so far (torch, the app: hundreds of thousands
    of objects that live as long as it does) out of Python's cyclic collector from now on.

    Otherwise, every so often, a full collection walks all of it inside whichever job happens
    to allocate at that moment: 119 ms measured, in one learner's frame, which the workers'
    fair share then charged to that learner, who got 14 frames/s for seconds beside others'
    24. What is garbage now is collected first; what comes later is collected as before.
    Big C blocks are mapped apart from then on (`memory.big_blocks_apart`)."""
    gc.collect()
    gc.freeze()
    big_blocks_apart()


def more_descriptors() -> int:
    """Raise this process's soft limit on open files to its hard limit, for the serving
    processes it starts too: every learner holds a socket, and a soft limit of 1,024 (common)
    would cap a process near that many. Returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if want <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):  # a platform that caps it lower (macOS: OPEN_MAX)
        return soft
    return want


MAX_PROCESSES = 256  # `--processes`: beyond this a typo (1000 for 10), not a plan


def check_address(args: argparse.Namespace) -> str | None:
    """What is wrong with serve's `--host`, `--port` and `--processes`, as one line naming the
    flag, or None. Checked before "serving on …" is printed: uvicorn would otherwise print its
    error later, or (a port above 65535) not at all and hang."""
    processes = getattr(args, "processes", 1)
    if not 1 <= processes <= MAX_PROCESSES:
        return f"--processes {processes}: give 1 to {MAX_PROCESSES} processes"
    if not 1 <= args.port <= 65535:
        return f"--port {args.port}: give a port from 1 to 65535"
    host = args.host or "''"  # as the message shows it
    try:
        addresses = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as err:
        return f"--host {host}: not a name or address this machine can use ({err})"
    family, kind, proto, _, address = addresses[0]
    # Bound and released at once (never listened on, so nothing lingers): the errors uvicorn
    # would meet, met here instead.
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return f"--port {args.port}: already in use on {host}"
            if err.errno == errno.EACCES:
                return f"--port {args.port}: this user may not listen on it (try above 1023)"
            return f"--host {host}: cannot listen there ({err.strerror or err})"
    return None


def serve(args: argparse.Namespace) -> int:
    """`netplay serve`: run uvicorn in the foreground until Ctrl-C."""
    try:
        settings = load(args=args)
    except SettingsError as err:
        print(f"netplay serve: {err}", file=sys.stderr)
        return 2
    args.host = args.host.strip("[]")  # `--host [::1]` as in a URL means `::1`
    problem = check_address(args)
    if problem is not None:
        print(f"netplay serve: {problem}", file=sys.stderr)
        return 2
    processes = getattr(args, "processes", 1)
    more_descriptors()
    app: Any = create_app(settings, bound_host=args.host) if processes == 1 else None
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/"
    print(f"netplay {__version__} serving on {url}  (Ctrl-C to stop)", flush=True)
    if getattr(args, "open", False):
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    board = None
    if processes > 1:
        # Each process serves its own sessions; the resolved settings reach them by environment,
        # and the session count is shared through the board file.
        for name, value in settings.model_dump().items():
            text = ",".join(value) if isinstance(value, (tuple, list)) else str(value)
            os.environ[ENV_PREFIX + name.upper()] = text
        board = os.environ[BOARD_ENV] = SessionBoard.create(processes)
        os.environ[BOUND_HOST_ENV] = args.host
        app = "server.app:app_from_environment"
    try:
        _run(app, args, processes, settings.shutdown_timeout_s)
    except KeyboardInterrupt:  # Ctrl-C, re-raised by uvicorn once it has shut down
        pass
    except balancer.WorkersFailing as err:
        print(f"netplay serve: {err}", file=sys.stderr)
        return 1
    finally:
        if board is not None:
            os.unlink(board)
    return 0


def _run(app: Any, args: argparse.Namespace, processes: int, shutdown_timeout_s: float) -> None:
    """uvicorn until Ctrl-C or SIGTERM. Requests still open `shutdown_timeout_s` after the
    signal are cancelled; then the app's lifespan ends its workers and sweep processes. With
    several processes, one accepts and hands each connection to the least loaded
    (server/balancer.py)."""
    options: dict[str, Any] = {
        "log_level": "warning",
        "ws_max_size": TRANSPORT_MAX_BYTES,
        "proxy_headers": False,  # never trust X-Forwarded-* by default
        "ws": ws_setting(),  # level-1 frame compression (server/wsproto.py)
        # typed `int`, but uvicorn hands it to `asyncio.wait_for`, which takes any seconds
        "timeout_graceful_shutdown": shutdown_timeout_s,
    }
    if processes > 1:
        balancer.serve(app, options, args.host, args.port, processes, shutdown_timeout_s)
        return
    import uvicorn

    settle_heap()
    uvicorn.run(app, host=args.host, port=args.port, **options)
