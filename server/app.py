"""The FastAPI app factory and `serve`, which runs it under uvicorn."""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import webbrowser
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.exceptions import RequestValidationError

from playground_models.pool import PoolSet

from . import __version__, api, imagelab, lessons, pages, sweeps
from .admission import Registry, SessionBoard
from .scheduler import Scheduler, owned_by
from .session import Session
from .settings import ENV_PREFIX, Settings, SettingsError, load
from .wsproto import ws_setting

# uvicorn closes a connection (1009) on a frame above this. It is set well above
# `max_message_bytes` so that an oversized message gets a `too_large` error reply instead.
TRANSPORT_MAX_BYTES = 16 * 1024 * 1024
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


def content_security_policy(host: str | None) -> str:
    """Everything from this server only: no CDN, no fonts or analytics from elsewhere.

    `connect-src 'self'` covers same-origin WebSockets in current browsers; the explicit
    ws:// and wss:// entries are for older ones (Safari before 15.4) that read it literally.
    """
    sockets = f" ws://{host} wss://{host}" if host and _SAFE_HOST.match(host) else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self'; worker-src 'self' blob:; "
        f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; form-action 'self'"
    )


class SecurityHeaders:
    """Pure ASGI middleware adding CSP and friends to every HTTP response (not WebSockets)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", content_security_policy(host).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


BOARD_ENV = "NETPLAY_SESSION_BOARD"  # set by `serve --processes N` for its worker processes


def create_app(settings: Settings | None = None, board: SessionBoard | None = None) -> FastAPI:
    """A complete netplay server: page, static files, `/api`, `/ws`, and the image lab.
    `board` shares the session count with the server's other processes."""
    settings = settings if settings is not None else load()
    device = settings.group_device()
    pools = PoolSet(device, settings.group_capacity) if device is not None else None
    scheduler = Scheduler(settings.workers, settings.torch_threads, pools)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        scheduler.shutdown()
        app.state.sweeps.shutdown()

    # No /docs or /redoc: they load Swagger UI from a CDN, which the CSP forbids.
    app = FastAPI(
        title="netplay", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.scheduler = scheduler
    app.state.registry = Registry(board)
    app.state.sweeps = sweeps.Sweeps(settings)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(RequestValidationError, api.invalid_request)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(imagelab.router)
    app.include_router(lessons.router)
    app.include_router(sweeps.router)
    pages.mount_static(app)

    @app.websocket("/ws")
    async def live_session(ws: WebSocket) -> None:
        with owned_by("ws"):  # the session's jobs, and its player's, share the workers fairly
            await Session(ws, settings, scheduler).serve(app.state.registry)

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of `netplay serve --processes N`."""
    board = os.environ.get(BOARD_ENV)
    return create_app(load(), SessionBoard(board) if board else None)


def serve(args: argparse.Namespace) -> int:
    """`netplay serve`: run uvicorn in the foreground until Ctrl-C."""
    try:
        settings = load(args=args)
    except SettingsError as err:
        print(f"netplay serve: {err}", file=sys.stderr)
        return 2
    processes = getattr(args, "processes", 1) or 1
    app: Any = create_app(settings) if processes == 1 else None
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
        app = "server.app:app_from_environment"
    try:
        _run(app, args, processes)
    finally:
        if board is not None:
            os.unlink(board)
    return 0


def _run(app: Any, args: argparse.Namespace, processes: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        factory=processes > 1,
        workers=processes if processes > 1 else None,
        host=args.host,
        port=args.port,
        log_level="warning",
        ws_max_size=TRANSPORT_MAX_BYTES,
        proxy_headers=False,  # never trust X-Forwarded-* by default
        ws=ws_setting(),  # level-1 frame compression (server/wsproto.py)
    )
