"""Rooms: a teacher's run broadcast live to viewers (`share_live` on `/ws`, viewers on
`/ws/room/{id}`; docs/protocol.md, *Rooms*).

The teacher's session sends as always; its `Channel` hands each message it sends (the run's
`config`, `data`, `frame`, `state` and `rewound`) to the room as well. A room keeps only the
latest message of each kind, numbered, and tells its viewers, frames at most `VIEWER_FPS` times
a second. Under netplay's own WebSocket protocol each message is encoded once, as a whole
WebSocket message, and written to every viewer's transport as it is (`RawViewer`): nothing is
awaited per viewer, and a viewer whose transport still holds `RAW_BUFFER_BYTES` unsent is skipped
for frames until it drains — a slow viewer gets fewer frames, never a queue, and never holds up
the teacher or the others; one that stays that full for the idle timeout is dropped. Elsewhere
(a test client) each viewer has a task that sends what it has not sent yet (`TaskViewer`). When
the teacher leaves (or stops sharing) every viewer gets `room_ended` with a link that replays
the run to where it ended.

Rooms live in the process of their teacher's session: with `--processes N` a viewer must reach
that process.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from . import frames
from .admission import TokenBucket, origin_allowed
from .channel import Channel
from .roomids import new_room_id
from .scheduler import cancel_and_outlast
from .settings import Settings
from .wsproto import RAW_EXTENSION, ws_message

# What a viewer is sent, in this order each time it wakes: the settings before the data they
# build, the data before the frames drawn on it.
KINDS = ("room", "config", "rewound", "data", "frame", "state")
EVENTS = frozenset({"rewound"})  # a viewer who joins later is not sent the last one
COUNT_EVERY_S = 1.0  # viewer counts go out at most this often
VIEWER_FPS = 30  # frames a viewer is sent per second at most, whatever the teacher's rate
RAW_BUFFER_BYTES = 256 * 1024  # a viewer's transport holding more gets no new frame yet
RAW_POLL_S = 0.25  # how often a viewer's held-back frame and its room's end are looked at
NAME_CHARS = 40
CLOSE_NOT_FOUND = 4404  # no such room (it ended, or never was)
CLOSE_TRY_AGAIN = 1013  # the room or the server is full


def binary_kind(data: bytes, compressed: bool) -> str:
    """`data` or `frame`: the type of a binary message, read from its header's first bytes."""
    head = zlib.decompressobj(-15).decompress(data[:256], 40) if compressed else data[:40]
    return "data" if head[4:].startswith(b'{"type":"data"') else "frame"


class Room:
    """One broadcast: the latest message of each kind, numbered, and the viewers to tell."""

    def __init__(self, room_id: str, name: str, compression: str | None):
        self.id = room_id
        self.name = name
        self.compression = compression
        self.started = time.time()
        self.live = True
        self.latest: dict[str, Any] = {}
        self.numbers: dict[str, int] = {}
        self.viewers: set[Any] = set()  # `TaskViewer`s and `RawViewer`s: each has `poke()`
        self.ended_link: str | None = None
        self._wire: dict[str, bytes] = {}  # the latest messages as WebSocket messages
        self._fanned = 0.0  # when frames last went out to the viewers
        self._timer: asyncio.TimerHandle | None = None

    def info(self) -> dict[str, Any]:
        return {"type": "room", "id": self.id, "name": self.name, "live": self.live,
                "viewers": len(self.viewers), "started": round(self.started),
                "compression": self.compression}

    def publish(self, kind: str, payload: Any) -> None:
        """The teacher's latest message of `kind` (a dict, or bytes as sent). Frames go out
        to the viewers at most `VIEWER_FPS` times a second; anything else at once."""
        if kind == "config":  # the teacher's own warnings are not the viewers' business
            payload = {**payload, "warnings": [], "errors": []}
        self.latest[kind] = payload
        self.numbers[kind] = self.numbers.get(kind, 0) + 1
        self._wire.pop(kind, None)
        if kind != "frame":
            self._poke_all()
            return
        wait = self._fanned + 1.0 / VIEWER_FPS - time.monotonic()
        if wait <= 0:
            self._poke_all()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._poke_all)

    def wire(self, kind: str) -> bytes:
        """The latest message of `kind` as one WebSocket message, encoded once for all."""
        message = self._wire.get(kind)
        if message is None:
            payload = self.latest[kind]
            if isinstance(payload, bytes):
                message = ws_message(payload)
            else:
                message = ws_message(frames.dumps(payload).encode(), text=True)
            self._wire[kind] = message
        return message

    def _poke_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fanned = time.monotonic()
        for viewer in list(self.viewers):
            viewer.poke()

    def end(self, link: str | None) -> None:
        self.live = False
        self.ended_link = link
        self._poke_all()


class Rooms:
    """The rooms of one app process, within `max_rooms` and `max_viewers_per_room`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.rooms: dict[str, Room] = {}

    def open(self, name: str, compression: str | None) -> Room:
        if len(self.rooms) >= self.settings.max_rooms:
            raise RoomsFull(f"this server holds {self.settings.max_rooms} live rooms at most; "
                            "try again when one ends")
        room = Room(new_room_id(self.settings.replica_name), name, compression)
        self.rooms[room.id] = room
        return room

    def close(self, room: Room, link: str | None) -> None:
        room.end(link)
        self.rooms.pop(room.id, None)

    def stats(self) -> dict[str, int]:
        return {"rooms": len(self.rooms),
                "viewers": sum(len(r.viewers) for r in self.rooms.values())}


class RoomsFull(Exception):
    pass


class Viewer:
    """One viewer's socket, from its handshake to the room's end or its leaving. Under netplay's
    own WebSocket protocol (server/wsproto.py) the room's messages are written straight to the
    viewer's transport (`RawViewer`); elsewhere (a test client) a task sends them (`TaskViewer`)."""

    def __init__(self, ws: WebSocket, settings: Settings, rooms: Rooms, room_id: str):
        self.ws, self.settings, self.rooms, self.room_id = ws, settings, rooms, room_id
        self.channel = Channel(ws, settings.idle_timeout_s)

    async def serve(self) -> None:
        if not origin_allowed(self.ws, self.settings):
            await self.ws.close(code=1008)
            return
        await self.ws.accept()
        room = self.rooms.rooms.get(self.room_id)
        if room is None:
            await self.channel.farewell({"type": "error", "code": "no_room", "field": "room",
                                         "message": "this room has ended, or never was"},
                                        CLOSE_NOT_FOUND)
            return
        if len(room.viewers) >= self.settings.max_viewers_per_room:
            await self.channel.farewell({"type": "error", "code": "room_full", "field": "room",
                                         "message": f"this room is full "
                                         f"({self.settings.max_viewers_per_room} viewers)"},
                                        CLOSE_TRY_AGAIN)
            return
        raw = self.ws.scope.get("extensions", {}).get(RAW_EXTENSION)
        if raw is not None:
            await RawViewer(self, room, raw).serve()
        else:
            await TaskViewer(self, room).serve()

    async def ended(self, room: Room) -> None:
        await self.channel.farewell({"type": "room_ended", "id": room.id, "link": room.ended_link})


def _first_sent(room: Room) -> dict[str, int]:
    """What a new viewer counts as sent: the events before it came (the rest it is sent)."""
    return {k: n for k, n in room.numbers.items() if k in EVENTS}


class RawViewer:
    """Writes each new message, encoded once by the room, straight to the viewer's transport;
    a frame is held back while the transport still holds `RAW_BUFFER_BYTES` unsent (the newest
    goes when it drains), and a viewer whose transport stays that full `idle_timeout_s` is
    dropped."""

    def __init__(self, viewer: Viewer, room: Room, raw: dict[str, Any]):
        self.viewer, self.room = viewer, room
        self.write, self.buffered = raw["write"], raw["buffered"]
        self.sent = _first_sent(room)
        self.full_since: float | None = None

    def poke(self) -> None:
        room = self.room
        for kind in KINDS:
            number = room.numbers.get(kind, 0)
            if number <= self.sent.get(kind, 0):
                continue
            if kind == "frame" and self.buffered() > RAW_BUFFER_BYTES:
                self.full_since = self.full_since or time.monotonic()
                continue
            self.sent[kind] = number
            self.write(room.wire(kind))
            if kind == "frame":
                self.full_since = None

    async def serve(self) -> None:
        viewer, room = self.viewer, self.room
        bucket = TokenBucket(viewer.settings.max_messages_per_second)
        room.viewers.add(self)
        self.poke()
        try:
            while room.live:
                try:
                    event = await asyncio.wait_for(viewer.ws.receive(), RAW_POLL_S)
                except TimeoutError:
                    self.poke()  # a frame held back for a full transport
                    if self.full_since and time.monotonic() - self.full_since > (
                            viewer.settings.idle_timeout_s):
                        viewer.channel.abort()
                        return
                    continue
                if event["type"] == "websocket.disconnect" or not bucket.take():
                    return
        finally:
            room.viewers.discard(self)
        self.poke()
        await viewer.ended(room)


class TaskViewer:
    """Sends the room's new messages from a task of its own, woken by `poke`."""

    def __init__(self, viewer: Viewer, room: Room):
        self.viewer, self.room = viewer, room
        self.wake = asyncio.Event()
        self.sent = _first_sent(room)

    def poke(self) -> None:
        self.wake.set()

    async def serve(self) -> None:
        room = self.room
        room.viewers.add(self)
        self.wake.set()
        sender = asyncio.create_task(self._send_loop())
        try:
            await self._read_until_gone()
        finally:
            room.viewers.discard(self)
            await cancel_and_outlast(sender)

    async def _read_until_gone(self) -> None:
        """Viewers send nothing that matters; reading is how their leaving is seen (and, once
        the room has ended and the sender closed the socket, its close). Too many messages end
        the viewer too."""
        bucket = TokenBucket(self.viewer.settings.max_messages_per_second)
        while True:
            event = await self.viewer.ws.receive()
            if event["type"] == "websocket.disconnect" or not bucket.take():
                return

    async def _send_loop(self) -> None:
        room, channel = self.room, self.viewer.channel
        try:
            while room.live:
                await self.wake.wait()
                self.wake.clear()
                await self._send_new(channel)
            await self._send_new(channel)
            await self.viewer.ended(room)
        except WebSocketDisconnect:
            pass

    async def _send_new(self, channel: Channel) -> None:
        room = self.room
        for kind in KINDS:
            number = room.numbers.get(kind, 0)
            if number > self.sent.get(kind, 0):
                self.sent[kind] = number
                payload = room.latest[kind]
                if isinstance(payload, bytes):
                    await channel.send_bytes(payload)
                else:
                    await channel.send(payload)


class Share:
    """A teacher session's side of its room: what its `Channel` sends goes to the room too,
    and the teacher hears the viewer count, at most once a second."""

    def __init__(self, rooms: Rooms, room: Room, teacher: Channel):
        self.rooms, self.room, self.teacher = rooms, room, teacher
        self._counter: asyncio.Task[None] | None = asyncio.create_task(self._count())

    def tap(self, message: dict[str, Any] | bytes) -> None:
        """Given each message the teacher is sent, before it is."""
        if isinstance(message, bytes):
            self.room.publish(binary_kind(message, self.room.compression is not None), message)
        elif message.get("type") in KINDS:
            self.room.publish(message["type"], message)

    async def _count(self) -> None:
        shown = -1
        try:
            while self.room.live:
                n = len(self.room.viewers)
                if n != shown:
                    shown = n
                    await self.teacher.send(self.room.info())  # to the viewers too, by the tap
                await asyncio.sleep(COUNT_EVERY_S)
        except WebSocketDisconnect:
            pass

    async def end(self, link: str | None) -> None:
        self.rooms.close(self.room, link)
        counter, self._counter = self._counter, None
        if counter is not None:
            await cancel_and_outlast(counter)
