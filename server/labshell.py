"""The socket shell of the labs that speak the image lab's way (`/ws/seq`, `/ws/rl`): origin and
capacity checks, `hello` with the lab's limits, then `LabLink` driving the lab's session as jobs
on the shared `Scheduler`, its messages parsed against the lab's models.

A lab gives its registry, its cap, how to build its session from a `send` callback, and its
`hello` fields; the rest is one code path for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect

from .admission import Registry, origin_allowed
from .imagelab import _scheduler, _settings
from .labloop import LabLink, Outbox, Worked, encode
from .memory import MemoryCeiling, MemoryLimitError, release_soon
from .scheduler import owned_by
from .settings import Settings

Send = Callable[[dict[str, Any]], None]


class Session(Worked, Protocol):
    """A lab session as the registry holds it (by identity)."""

    def __hash__(self) -> int: ...


def memory_checker(settings: Settings, memory: MemoryCeiling | None,
                   error: Callable[[str, str], Exception]) -> Callable[[int, str, str], None]:
    """A lab's `memory_check(bytes, field, what)`: the process's memory ceiling (this one, or
    one from `settings`), its refusal raised as the lab's settings `error(field, message)`."""
    ceiling = memory or MemoryCeiling(settings.max_memory_mb)

    def check(extra: int, field: str, what: str) -> None:
        try:
            ceiling.check(extra, field, what)
        except MemoryLimitError as err:
            raise error(err.field or field, err.message) from None

    return check


def lab_registry(app: Any, kind: str) -> Registry:
    """The app's sessions of one lab kind; a router on a bare app gets one of this process."""
    name = f"{kind}_registry"
    registry = getattr(app.state, name, None)
    if registry is None:
        registry = Registry(kind=kind)
        setattr(app.state, name, registry)
    return registry


async def serve_lab(ws: WebSocket, *, kind: str, max_sessions: int, full: str, server: str,
                    protocol: int, make_session: Callable[[Send], Session],
                    limits: dict[str, Any], parse: Callable[[str, int, int], dict[str, Any]]
                    ) -> None:
    """Run one connection of a lab of `kind` until it ends; `full` is the refusal's text."""
    settings = _settings(ws.app)
    if not origin_allowed(ws, settings):
        await ws.close(code=1008)  # before accept: the handshake gets a 403
        return
    await ws.accept()
    registry = lab_registry(ws.app, kind)
    if registry.total() >= max_sessions:
        await ws.send_json({"type": "error", "code": "too_many_sessions", "field": None,
                            "message": full})
        await ws.close(code=1013)
        return
    loop = asyncio.get_running_loop()
    outbox = Outbox(settings.lab_queue_messages)

    def send(message: dict[str, Any]) -> None:  # on a worker thread, in a session's job
        payload = encode(message)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody reads any more
            loop.call_soon_threadsafe(outbox.push, message["type"], payload)

    session = make_session(send)
    registry.add(session)
    try:
        await ws.send_json({
            "type": "hello", "protocol": protocol, "server": server,
            "limits": {"max_message_bytes": settings.max_message_bytes,
                       "max_messages_per_second": settings.max_messages_per_second,
                       "idle_timeout_s": settings.idle_timeout_s,
                       "max_sessions": max_sessions, **limits},
        })

        def parse_message(text: str) -> dict[str, Any]:
            return parse(text, settings.max_message_bytes, settings.max_json_depth)

        with owned_by("lab"):  # its jobs take their turn with the image lab's, fairly
            await LabLink(ws, session, outbox, _scheduler(ws, settings), settings,
                          parse_message).serve()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        registry.discard(session)
        release_soon()
