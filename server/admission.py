"""Who may hold a live session, and how fast: the origin check, the session registry and the
message-rate bucket. Kept apart from the session so the rules read in one place."""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from .hosts import HostPolicy
from .settings import Settings

if TYPE_CHECKING:
    from .session import Session


class Registry:
    """The live sessions of one app; with a `board`, also those of the server's other processes.
    `total()` is what `--max-sessions` limits and `/api/health` reports."""

    def __init__(self, board: SessionBoard | None = None) -> None:
        self.sessions: set[Session] = set()
        self.board = board

    def __len__(self) -> int:
        return len(self.sessions)

    def add(self, session: Session) -> None:
        self.sessions.add(session)
        if self.board is not None:
            self.board.publish(len(self.sessions))

    def discard(self, session: Session) -> None:
        self.sessions.discard(session)
        if self.board is not None:
            self.board.publish(len(self.sessions))

    def total(self) -> int:
        return self.board.total() if self.board is not None else len(self.sessions)

    def per_process(self) -> list[int]:
        return self.board.counts() if self.board is not None else [len(self.sessions)]


# One slot per server process: (pid, live sessions), little-endian int64s.
_SLOT = struct.Struct("<qq")


class SessionBoard:
    """The live-session count of every process of one `netplay serve --processes N`, in a
    small file they all map. Each process writes only its own slot; a slot whose process has
    died counts for nothing and is taken again by the next process that starts."""

    def __init__(self, path: str):
        with open(path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 0)
        self._slots = len(self._map) // _SLOT.size
        with open(path, "rb") as f:  # one process claims a slot at a time
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._slot = self._claim()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @staticmethod
    def create(processes: int) -> str:
        """A fresh board file for `processes` (twice over, for restarted ones); its path."""
        fd, path = tempfile.mkstemp(prefix="netplay-sessions-")
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(_SLOT.size * 2 * processes))
        return path

    def _claim(self) -> int:
        for slot in range(self._slots):
            pid, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if pid == 0 or not _alive(pid):
                _SLOT.pack_into(self._map, slot * _SLOT.size, os.getpid(), 0)
                return slot
        raise RuntimeError(f"the session board has no free slot ({self._slots} processes)")

    def publish(self, count: int) -> None:
        _SLOT.pack_into(self._map, self._slot * _SLOT.size, os.getpid(), count)

    def counts(self) -> list[int]:
        """Live sessions of each running process, in slot order."""
        out = []
        for slot in range(self._slots):
            pid, count = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if pid != 0 and (slot == self._slot or _alive(pid)):
                out.append(count)
        return out

    def total(self) -> int:
        return sum(self.counts())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TokenBucket:
    """`rate` messages per second on average, bursts of up to `2·rate` (a slider drag)."""

    def __init__(self, rate: float):
        self.rate = rate
        self.capacity = max(1.0, 2.0 * rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """In the allow-list, or the same origin as the Host asked for and that Host one of this
    server's names (server/hosts.py): a page of evil.example whose name was pointed at this
    machine (DNS rebinding) is same-origin with its own Host, and refused for that name.
    Browsers always send Origin, so a missing one is a non-browser client, which cross-site
    request forgery cannot ride on."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    host = ws.headers.get("host", "")
    parts = urlsplit(origin)
    if not (parts.scheme in ("http", "https") and host and parts.netloc == host):
        return False
    # The app's policy knows the bound address; a router mounted on a bare app has none.
    policy = getattr(ws.app.state, "hosts", None) or HostPolicy(settings.allowed_hosts)
    return policy.allows(parts.netloc)
