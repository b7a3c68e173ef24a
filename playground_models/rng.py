"""Per-session random streams. Nothing in netplay draws from a global RNG.

Each experiment seed (a short string, as in TF Playground links) is turned into independent,
named streams ("data", "init", "shuffle", "dropout"), so that changing, say, the batch size never
changes which points are generated or which weights start.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_seed(seed: str, stream: str) -> int:
    """A 64-bit integer seed for the named stream of an experiment seed."""
    digest = hashlib.sha256(f"netplay/{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def stream(seed: str, name: str) -> np.random.Generator:
    """A fresh NumPy generator for the named stream; the same arguments give the same draws."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, name)))
