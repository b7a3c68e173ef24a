"""The served WebSocket protocol: uvicorn's, negotiating permessage-deflate at zlib level 1."""

from __future__ import annotations

import asyncio
import zlib

import numpy as np
import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from server.app import create_app
from server.frames import encode, to_int8
from server.wsproto import FrameProtocol, ws_setting


@pytest.fixture
def loop():
    # Given, so the protocol does not look for a current loop (a test before may have ended it).
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_the_served_protocol_compresses_frames_at_the_fastest_level(loop):
    config = uvicorn.Config(create_app(), ws=ws_setting())
    config.load()
    assert config.ws_protocol_class is FrameProtocol
    proto = FrameProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    (deflate,) = proto.conn.available_extensions
    assert deflate.name == "permessage-deflate"
    # What a browser offers; the extension the server then compresses its messages with.
    _, ext = deflate.process_request_params([("client_max_window_bits", None)], [])
    message = _frame_like_payload()
    sent = bytes(ext.encode(Frame(Opcode.BINARY, message)).data)
    mem_level = deflate.compress_settings.get("memLevel", 8)

    def deflated(level: int) -> bytes:
        z = zlib.compressobj(level, zlib.DEFLATED, -ext.local_max_window_bits, mem_level)
        return (z.compress(message) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]  # as the extension sends

    assert sent == deflated(zlib.Z_BEST_SPEED)
    assert sent != deflated(zlib.Z_DEFAULT_COMPRESSION)  # so the level is what decides the bytes
    assert zlib.decompressobj(-15).decompress(sent + b"\x00\x00\xff\xff") == message


def _frame_like_payload() -> bytes:
    """A binary message like a lab frame: smooth int8 maps with noise and float32 weights."""
    rng = np.random.default_rng(0)
    grid = np.linspace(-1, 1, 64)
    maps = np.tanh(3 * np.add.outer(grid, grid**2))[None] * rng.uniform(0.5, 1, (8, 1, 1))
    arrays = {
        "maps": to_int8(maps + rng.normal(0, 0.05, maps.shape)),
        "weights": rng.normal(0, 0.3, 2000).astype(np.float32),
    }
    return encode({"type": "frame", "epoch": 3}, arrays)


def test_without_deflate_the_protocol_offers_no_extension(loop):
    config = uvicorn.Config(create_app(), ws=ws_setting(), ws_per_message_deflate=False)
    config.load()
    proto = FrameProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    assert not proto.conn.available_extensions
