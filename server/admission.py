"""Who may hold a live session, and how fast: the origin check, the session registry and the
message-rate bucket. Kept apart from the session so the rules read in one place."""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Hashable
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from .hosts import HostPolicy
from .settings import Settings


class Registry:
    """The live sessions of one kind (`ws`, `lab` or `seq`) of one app; with a `board`, also those of
    the server's other processes. `total()` is what the kind's session cap limits and
    `/api/health` reports."""

    def __init__(self, board: SessionBoard | None = None, kind: str = "ws") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind: one of {KINDS}, not {kind!r}")
        self.sessions: set[Hashable] = set()
        self.board = board
        self.kind = kind

    def __len__(self) -> int:
        return len(self.sessions)

    def add(self, session: Hashable) -> None:
        self.sessions.add(session)
        if self.board is not None:
            self.board.publish(len(self.sessions), self.kind)

    def discard(self, session: Hashable) -> None:
        self.sessions.discard(session)
        if self.board is not None:
            self.board.publish(len(self.sessions), self.kind)

    def total(self) -> int:
        return self.board.total(self.kind) if self.board is not None else len(self.sessions)

    def per_process(self) -> list[int]:
        return self.board.counts(self.kind) if self.board is not None else [len(self.sessions)]


# The kinds of session a board counts, in slot order.
KINDS = ("ws", "lab", "seq", "rl", "paint", "ae")
# One slot per server process: (pid, live sessions of each kind), little-endian int64s.
_SLOT = struct.Struct("<q" + "q" * len(KINDS))
_KIND = struct.Struct("<q")
_KIND_SIZE = _KIND.size


class SessionBoard:
    """The live-session count, per kind, of every process of one `netplay serve --processes N`, in a
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
            pid = _SLOT.unpack_from(self._map, slot * _SLOT.size)[0]
            if pid == 0 or not _alive(pid):
                _SLOT.pack_into(self._map, slot * _SLOT.size, os.getpid(), *([0] * len(KINDS)))
                return slot
        raise RuntimeError(f"the session board has no free slot ({self._slots} processes)")

    def publish(self, count: int, kind: str = "ws") -> None:
        """This process's count of `kind`; the other kinds' counts are left as they are (only
        this process writes its slot, on its event loop, so no lock is needed)."""
        offset = self._slot * _SLOT.size + _KIND_SIZE * (1 + KINDS.index(kind))
        _KIND.pack_into(self._map, offset, count)

    def counts(self, kind: str = "ws") -> list[int]:
        """Live sessions of `kind` of each running process, in slot order."""
        column = 1 + KINDS.index(kind)
        out = []
        for slot in range(self._slots):
            row = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if row[0] != 0 and (slot == self._slot or _alive(row[0])):
                out.append(row[column])
        return out

    def total(self, kind: str = "ws") -> int:
        return sum(self.counts(kind))


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
