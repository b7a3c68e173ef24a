"""Who may hold a live session, and how fast: the origin check, the session registry and the
message-rate bucket. Kept apart from the session so the rules read in one place."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from .settings import Settings

if TYPE_CHECKING:
    from .session import Session


class Registry:
    """The live sessions of one app; `/api/health` reports their number."""

    def __init__(self) -> None:
        self.sessions: set[Session] = set()

    def __len__(self) -> int:
        return len(self.sessions)


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
    """Same origin as the page's host, or in the allow-list. Browsers always send Origin, so a
    missing one is a non-browser client, which cross-site request forgery cannot ride on."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    host = ws.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host
