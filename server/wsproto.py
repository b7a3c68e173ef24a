"""The WebSocket protocol netplay serves: uvicorn's own, with cheaper compression.

permessage-deflate compresses every message on the event loop, the one thread all sessions'
frames pass through; with 32 learners on two cores it was two thirds of that thread's time
(profiled with py-spy). So the live-training socket (`/ws`) does not negotiate it: its clients
ask in `start` for frames compressed on the worker threads instead (docs/protocol.md), where zlib
runs in parallel with the loop. Other sockets (the image lab's) keep permessage-deflate, at
zlib's fastest level: a default frame compresses to 7.0 kB in 0.10 ms, against 6.4 kB in 0.23 ms
at the default level 6.
"""

from __future__ import annotations

from typing import Any

COMPRESS_SETTINGS = {"memLevel": 5, "level": 1}  # uvicorn's settings, but the level
SELF_COMPRESSED_PATHS = frozenset({"/ws"})  # sockets whose binary messages come compressed
ROOM_PATHS = "/ws/room/"  # and a room's viewers': the teacher's frames, deflated once
ABORT_EXTENSION = "netplay.abort"  # scope extension: `{"abort": callable}` drops the connection
# Scope extension of a room viewer's socket: `{"write": bytes → None, "buffered": () → int}`,
# whole WebSocket messages (`ws_message`) written to the transport, and what it holds unsent.
RAW_EXTENSION = "netplay.raw"


def ws_message(payload: bytes, text: bool = False) -> bytes:
    """One unfragmented, unmasked WebSocket message from the server (RFC 6455 section 5.2):
    what a room writes once and hands to every viewer's transport."""
    first = 0x81 if text else 0x82  # FIN and the opcode
    n = len(payload)
    if n < 126:
        head = bytes((first, n))
    elif n < 1 << 16:
        head = bytes((first, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, 127)) + n.to_bytes(8, "big")
    return head + payload

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.http11 import Request
    from websockets.server import ServerProtocol
except ImportError:  # an older uvicorn: its default protocol at the default level
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


def ws_setting() -> str:
    """uvicorn's `ws` setting: this module's protocol where uvicorn has the one it extends."""
    return "auto" if WebSocketsSansIOProtocol is None else "server.wsproto:FrameProtocol"


if WebSocketsSansIOProtocol is not None:

    class FrameProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol, negotiating the same permessage-deflate
        parameters at level 1, and none on the sockets that compress their own frames."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.config.ws_per_message_deflate:
                deflate = ServerPerMessageDeflateFactory(
                    server_max_window_bits=12,
                    client_max_window_bits=12,
                    compress_settings=COMPRESS_SETTINGS,
                )
                self.conn = ServerProtocol(
                    extensions=[deflate], max_size=self.config.ws_max_size, logger=self.logger
                )

        def handle_connect(self, event: Request) -> None:
            path = event.path.partition("?")[0]
            if path in SELF_COMPRESSED_PATHS or path.startswith(ROOM_PATHS):
                self.conn.available_extensions = []
            super().handle_connect(event)
            scope = getattr(self, "scope", None)
            if scope is not None:  # the app starts on the next turn of the loop: it sees this
                # A session whose client stops reading drops the connection with this: a
                # close would wait for the unread buffer to drain first, which never happens.
                scope["extensions"][ABORT_EXTENSION] = {"abort": self.transport.abort}
                if path.startswith(ROOM_PATHS):  # never compressed by the protocol: see above
                    scope["extensions"][RAW_EXTENSION] = {
                        "write": self.transport.write,
                        "buffered": self.transport.get_write_buffer_size,
                    }
