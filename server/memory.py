"""The process's memory ceiling (`--max-memory-mb`): what a new session may still take.

Admission asks before anything is allocated: the memory the process holds now (its resident
set, read from /proc) plus what the new session is estimated to need must stay under the
ceiling, or the session is refused with an error naming the limit. `/api/health` reports the
same figures.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import resource
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from playground_models.network import Architecture

if TYPE_CHECKING:
    from playground_models.experiment import Experiment

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


# --- what one 2-D session takes --------------------------------------------------------------
# Rough upper bounds, in bytes, checked against LiveRuns on this code: the largest net (8×64,
# Adam, batch 1000) with 5,000 samples on a 200×200 grid held about 40 MB between frames and
# raised the process's peak by about 90 MB a session while drawing; its estimate is 169 MB
# (245 MB with k-NN 50). The default experiment: 0.4 MB held, 5 MB estimated.
FLOAT = 4  # the trainer's tensors are float32
SESSION_BASE = 4 * MB  # Python objects, the frame and its compressed copy, socket buffers
PARAM_COPIES = 6  # weights, gradients, two optimizer moments, the initial copy for reset, a frame's
ACTIVATION_COPIES = 3  # pre-activation, activation and the gradient of each layer's batch output
GRID_COPIES = 2  # every layer's value on the grid, and the pooling of it into neuron maps
SAMPLE_BYTES = 8 * 4  # float64 rows kept as generated, as features, as tensors and as the split
KNN_BUFFERS = 3 * 2_000_000 * 8  # the k-NN search's distance chunks (playground_models/knn.py)


def live_session_bytes(exp: Experiment) -> dict[str, int]:
    """Bytes a live 2-D session of `exp` may hold, by the setting that drives each part:
    `networkShape` (weights, optimizer state, batch activations), `gridSize` (every neuron on
    the decision grid), `numSamples` (the data) and `knn` (the baseline's search)."""
    arch = Architecture.of(exp)
    units = sum(arch.sizes)
    samples = exp.numSamples + len(exp.points)
    width = len(exp.features) + 3  # features, raw x₁ x₂, label
    grid_cells = exp.gridSize * exp.gridSize
    return {
        "networkShape": SESSION_BASE
        + arch.num_parameters * FLOAT * PARAM_COPIES
        + exp.batchSize * units * FLOAT * ACTIVATION_COPIES,
        "gridSize": grid_cells * units * FLOAT * GRID_COPIES,
        "numSamples": samples * width * SAMPLE_BYTES,
        "knn": grid_cells * exp.knn * 16 + KNN_BUFFERS if exp.knn > 0 else 0,
    }


def check_live_session(
    ceiling: MemoryCeiling, new: Experiment, old: Experiment | None = None
) -> None:
    """Refuse `new` when what it adds over `old` (the experiment it replaces in the same
    session) would take the process past the ceiling. A change that adds nothing passes even
    when the process is already over it: a learning-rate change must not be refused."""
    parts = live_session_bytes(new)
    extra = sum(parts.values()) - (sum(live_session_bytes(old).values()) if old else 0)
    if extra > 0:
        ceiling.check(extra, field=max(parts, key=lambda k: parts[k]), what="this experiment")


# --- giving memory back ------------------------------------------------------------------------
def _glibc(name: str) -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return cast(Callable[..., int], getattr(libc, name))  # glibc only
    except (OSError, AttributeError):
        return None


_TRIM = _glibc("malloc_trim")
_MALLOPT = _glibc("mallopt")
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
BIG_BLOCK_BYTES = 1 << 20


def big_blocks_apart() -> bool:
    """Have every allocation of `BIG_BLOCK_BYTES` or more mapped on its own, and unmapped when
    freed. glibc otherwise raises that threshold as big blocks are freed (up to 32 MB), after
    which a heavy session's buffers (a 200×200 grid through layers of 64: 10 MB each) come
    from the arenas and stay there in pieces the trim cannot give back: tens of MB more after
    the session than before it. Small blocks, the frames of light nets, are as before.
    Returns whether the C library could do it."""
    return _MALLOPT is not None and _MALLOPT(M_MMAP_THRESHOLD, BIG_BLOCK_BYTES) == 1


HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"  # torch's switch, read once, at its first allocation


def big_blocks_in_huge_pages() -> None:
    """Have torch back its blocks of 2 MB or more with huge pages, where the system gives
    them on request (transparent huge pages set to `madvise` or `always`). With big blocks
    mapped apart, a heavy frame's buffers are fresh mappings every frame: faulted in 4 KB at a
    time, they made a 6×64 net's frame on a 200×200 grid 40 % slower than glibc's default
    (113–132 → 165–173 ms); in 2 MB pages it is as fast as the default or faster (107–127).
    Must run before torch allocates anything; a value already set is kept."""
    os.environ.setdefault(HUGE_PAGES_ENV, "1")


def release_freed() -> bool:
    """Hand the memory that ended sessions freed back to the system.

    glibc keeps freed blocks in its arenas for reuse, so without this a process that once held
    a heavy session (a big grid, a lab net) stays hundreds of MB larger after it has gone, and
    the ceiling counts that. Returns whether the C library could do it.
    """
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


_pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.TimerHandle] = (
    weakref.WeakKeyDictionary()
)


def release_soon(delay_s: float = 1.0) -> None:
    """`release_freed` once, `delay_s` after the first of a burst of sessions ends, on the
    running event loop: a trim takes well under a millisecond to a few, and running it there
    starts no thread (a thread pool made for it would stay behind)."""
    loop = asyncio.get_running_loop()
    if loop not in _pending:

        def trim() -> None:
            _pending.pop(loop, None)
            release_freed()

        _pending[loop] = loop.call_later(delay_s, trim)
