"""A session's side of its WebSocket: one send at a time, each bounded in time.

A client that stops reading (a frozen tab, a stuck program) would otherwise hold its session
forever: the server's send waits for room in a buffer that never drains, and so does the close
that the idle timeout sends. Every send here waits at most `timeout_s` (the idle timeout); one
that waits longer drops the connection and raises `ClientStuck`, which ends the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import frames
from .wsproto import ABORT_EXTENSION

CLOSE_NORMAL = 1000
CLOSE_ABNORMAL = 1006
FAREWELL_S = 1.0  # how long a closing message and the close may wait on a client's socket


class ClientStuck(WebSocketDisconnect):
    """A send waited the whole timeout for a client that does not read."""


class Channel:
    """Sends JSON and binary messages to one client, one at a time, each within `timeout_s`."""

    def __init__(self, ws: WebSocket, timeout_s: float):
        self.ws = ws
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()  # one websocket send at a time
        # Given every message before it is sent: a room's broadcast (server/rooms.py).
        self.tap: Callable[[dict[str, Any] | bytes], None] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        if self.tap is not None:
            self.tap(message)
        await self._send({"type": "websocket.send", "text": frames.dumps(message)})

    async def send_bytes(self, data: bytes) -> None:
        if self.tap is not None:
            self.tap(data)
        await self._send({"type": "websocket.send", "bytes": data})

    async def send_error(self, code: str, field: str | None, message: str) -> None:
        await self.send({"type": "error", "code": code, "field": field, "message": message})

    async def farewell(self, message: dict[str, Any], code: int = CLOSE_NORMAL) -> None:
        """Send a last message and close, or drop the connection if the client does not read
        them within `FAREWELL_S` (nothing else may be sending: stop the session's tasks first)."""
        try:
            async with asyncio.timeout(FAREWELL_S):
                await self.send(message)
                await self.ws.close(code=code)
        except (TimeoutError, WebSocketDisconnect):
            self.abort()

    def abort(self) -> None:
        """Drop the connection without the closing handshake: a close would wait for the
        unread data to drain first. A no-op where the server offers no abort (tests)."""
        abort = self.ws.scope.get("extensions", {}).get(ABORT_EXTENSION, {}).get("abort")
        if abort is not None:
            abort()

    async def _send(self, event: dict[str, Any]) -> None:
        async with self._lock:
            if self.ws.application_state != WebSocketState.CONNECTED:
                raise WebSocketDisconnect(CLOSE_NORMAL)
            try:
                # The transport waits for room before it writes anything, so a send given up
                # here leaves no half-written message behind.
                async with asyncio.timeout(self.timeout_s):
                    await self.ws.send(event)
            except TimeoutError:
                self.abort()
                raise ClientStuck(CLOSE_ABNORMAL) from None
            except RuntimeError as err:  # starlette: the socket closed under us
                raise WebSocketDisconnect(CLOSE_ABNORMAL) from err
