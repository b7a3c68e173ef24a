"""Rooms: a teacher's run broadcast live to viewers (`share_live` on `/ws`, viewers on
`/ws/room/{id}`; docs/protocol.md, *Rooms*).

The teacher's session sends as always; its `Channel` hands each message it sends (the run's
`config`, `data`, `frame`, `state` and `rewound`) to the room as well, encoded once. A room
keeps only the latest message of each kind, numbered, and wakes its viewers; each viewer has
its own task that sends what it has not sent yet, in a fixed order, newest only. A slow
viewer so gets fewer frames, never a queue, and never holds up the teacher, whose sends do
not wait for any viewer. A viewer that stops reading is dropped after the idle timeout, as
any client is. When the teacher leaves (or stops sharing) every viewer gets `room_ended` with
a link that replays the run to where it ended.

Rooms live in the process of their teacher's session: with `--processes N` a viewer must reach
that process (one process per server, or sticky routing by path, as docs/deploy notes say).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import zlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from .admission import TokenBucket, origin_allowed
from .channel import Channel
from .scheduler import cancel_and_outlast
from .settings import Settings

# What a viewer is sent, in this order each time it wakes: the settings before the data they
# build, the data before the frames drawn on it.
KINDS = ("room", "config", "rewound", "data", "frame", "state")
EVENTS = frozenset({"rewound"})  # a viewer who joins later is not sent the last one
COUNT_EVERY_S = 1.0  # viewer counts go out at most this often
NAME_CHARS = 40
CLOSE_NOT_FOUND = 4404  # no such room (it ended, or never was)
CLOSE_TRY_AGAIN = 1013  # the room or the server is full


def binary_kind(data: bytes, compressed: bool) -> str:
    """`data` or `frame`: the type of a binary message, read from its header's first bytes."""
    head = zlib.decompressobj(-15).decompress(data[:256], 40) if compressed else data[:40]
    return "data" if head[4:].startswith(b'{"type":"data"') else "frame"


class Room:
    """One broadcast: the latest message of each kind and the viewers' wake-up events."""

    def __init__(self, room_id: str, name: str, compression: str | None):
        self.id = room_id
        self.name = name
        self.compression = compression
        self.started = time.time()
        self.live = True
        self.latest: dict[str, Any] = {}
        self.numbers: dict[str, int] = {}
        self.viewers: set[asyncio.Event] = set()
        self.ended_link: str | None = None
        self.frames = 0

    def info(self) -> dict[str, Any]:
        return {"type": "room", "id": self.id, "name": self.name, "live": self.live,
                "viewers": len(self.viewers), "started": round(self.started),
                "compression": self.compression}

    def publish(self, kind: str, payload: Any) -> None:
        """The teacher's latest message of `kind` (a dict, or bytes as sent)."""
        if kind == "config":  # the teacher's own warnings are not the viewers' business
            payload = {**payload, "warnings": [], "errors": []}
        self.latest[kind] = payload
        self.numbers[kind] = self.numbers.get(kind, 0) + 1
        if kind == "frame":
            self.frames += 1
        for wake in self.viewers:
            wake.set()

    def end(self, link: str | None) -> None:
        self.live = False
        self.ended_link = link
        for wake in self.viewers:
            wake.set()


class Rooms:
    """The rooms of one app process, within `max_rooms` and `max_viewers_per_room`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.rooms: dict[str, Room] = {}

    def open(self, name: str, compression: str | None) -> Room:
        if len(self.rooms) >= self.settings.max_rooms:
            raise RoomsFull(f"this server holds {self.settings.max_rooms} live rooms at most; "
                            "try again when one ends")
        room = Room(secrets.token_urlsafe(9), name, compression)
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
    """One viewer's socket: sends the room's latest messages until the room ends or it leaves."""

    def __init__(self, ws: WebSocket, settings: Settings, rooms: Rooms, room_id: str):
        self.ws, self.settings, self.rooms, self.room_id = ws, settings, rooms, room_id
        self.channel = Channel(ws, settings.idle_timeout_s)
        self.wake = asyncio.Event()
        self.sent: dict[str, int] = {}

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
        self.sent = {k: n for k, n in room.numbers.items() if k in EVENTS}
        room.viewers.add(self.wake)
        self.wake.set()
        sender = asyncio.create_task(self._send_loop(room))
        try:
            await self._read_until_gone(sender)
        finally:
            room.viewers.discard(self.wake)
            await cancel_and_outlast(sender)

    async def _read_until_gone(self, sender: asyncio.Task[None]) -> None:
        """Viewers send nothing that matters; reading is how their leaving is seen (and, once
        the room has ended and the sender closed the socket, its close). Too many messages end
        the viewer too."""
        bucket = TokenBucket(self.settings.max_messages_per_second)
        while True:
            event = await self.ws.receive()
            if event["type"] == "websocket.disconnect" or not bucket.take():
                return

    async def _send_loop(self, room: Room) -> None:
        try:
            while room.live:
                await self.wake.wait()
                self.wake.clear()
                await self._send_new(room)
            await self._send_new(room)
            await self.channel.farewell({"type": "room_ended", "id": room.id,
                                         "link": room.ended_link})
        except WebSocketDisconnect:
            pass

    async def _send_new(self, room: Room) -> None:
        for kind in KINDS:
            number = room.numbers.get(kind, 0)
            if number > self.sent.get(kind, 0):
                self.sent[kind] = number
                payload = room.latest[kind]
                if isinstance(payload, bytes):
                    await self.channel.send_bytes(payload)
                else:
                    await self.channel.send(payload)


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
