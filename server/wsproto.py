"""The WebSocket protocol netplay serves: uvicorn's own, with cheaper compression of frames.

permessage-deflate compresses every frame on the event loop, the one thread all sessions' frames
pass through, and with 32 learners on two cores it was two thirds of that thread's time (profiled
with py-spy). At zlib's fastest level a default frame compresses to 7.0 kB in 0.10 ms, against
6.4 kB in 0.23 ms at the default level 6: 10 % more bytes for less than half the time.
"""

from __future__ import annotations

from typing import Any

COMPRESS_SETTINGS = {"memLevel": 5, "level": 1}  # uvicorn's settings, but the level

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.server import ServerProtocol
except ImportError:  # an older uvicorn: its default protocol at the default level
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


def ws_setting() -> str:
    """uvicorn's `ws` setting: this module's protocol where uvicorn has the one it extends."""
    return "auto" if WebSocketsSansIOProtocol is None else "server.wsproto:FrameProtocol"


if WebSocketsSansIOProtocol is not None:

    class FrameProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol, negotiating the same permessage-deflate
        parameters, compressing at level 1."""

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
