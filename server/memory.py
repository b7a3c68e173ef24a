"""The process's memory ceiling (`--max-memory-mb`): what a new session may still take.

Admission asks before anything is allocated: the memory the process holds now (its resident
set, read from /proc) plus what the new session is estimated to need must stay under the
ceiling, or the session is refused with an error naming the limit. `/api/health` reports the
same figures.
"""

from __future__ import annotations

import os
import resource

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 1024 * 1024


class MemoryLimitError(Exception):
    """A session that would take the process past its memory ceiling."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def rss_bytes() -> int:
    """The process's resident memory now, in bytes (peak resident memory where /proc is absent)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak_kb) * 1024


class MemoryCeiling:
    """`check(extra)` raises `MemoryLimitError` when resident memory plus `extra` bytes would
    pass `limit_mb` (0 means no ceiling)."""

    def __init__(self, limit_mb: int):
        self.limit_bytes = int(limit_mb) * MB

    def check(self, extra_bytes: int, field: str | None = None, what: str = "this session") -> None:
        if self.limit_bytes <= 0:
            return
        now = rss_bytes()
        if now + max(0, int(extra_bytes)) > self.limit_bytes:
            raise MemoryLimitError(
                field,
                f"{what} needs about {_mb(extra_bytes)} MB and the server holds {_mb(now)} MB "
                f"of its {_mb(self.limit_bytes)} MB; try a smaller network or try again later",
            )

    def stats(self) -> dict[str, int | None]:
        return {
            "rss_mb": _mb(rss_bytes()),
            "limit_mb": _mb(self.limit_bytes) if self.limit_bytes > 0 else None,
        }


def _mb(n: int) -> int:
    return round(n / MB)
