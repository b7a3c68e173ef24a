"""The served WebSocket protocol: uvicorn's, negotiating permessage-deflate at zlib level 1."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from uvicorn.server import ServerState

from server.app import create_app
from server.wsproto import COMPRESS_SETTINGS, FrameProtocol, ws_setting


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
    assert deflate.compress_settings == COMPRESS_SETTINGS == {"memLevel": 5, "level": 1}


def test_without_deflate_the_protocol_offers_no_extension(loop):
    config = uvicorn.Config(create_app(), ws=ws_setting(), ws_per_message_deflate=False)
    config.load()
    proto = FrameProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    assert not proto.conn.available_extensions
