"""A trained network as one file a learner keeps: its lab, its settings, how far it trained and
its weights — JSON and raw arrays, never a pickle, so a file from anyone can be read safely.

Layout: the 12 bytes `NETPLAY-NET\\n`, the header's length (8 bytes, little-endian), the header
(UTF-8 JSON: `format`, `lab`, `config`, `query`, `trained`, `tensors` — each `name`, `shape`,
`offset` into the data), then the data: every tensor as little-endian float32, in order.
Reading checks all of it before anything is used; a file that does not fit says why.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np

from .messages import said

MAGIC = b"NETPLAY-NET\n"
FORMAT = 1
MAX_HEADER = 1_000_000  # bytes of JSON: the settings and a few hundred tensor names


class NetFileError(ValueError):
    """A file that cannot be used as a network; `message` is a `Said` sentence."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def write(lab: str, config: dict[str, Any], query: str, trained: dict[str, int],
          tensors: dict[str, np.ndarray]) -> bytes:
    entries, chunks, offset = [], [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        entries.append({"name": name, "shape": list(array.shape), "offset": offset})
        chunks.append(data)
        offset += len(data)
    header = json.dumps({"format": FORMAT, "lab": lab, "config": config, "query": query,
                         "trained": trained, "tensors": entries},
                        separators=(",", ":")).encode()
    return MAGIC + struct.pack("<Q", len(header)) + header + b"".join(chunks)


def read(data: bytes, max_bytes: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the tensors of a network file, or a `NetFileError` saying why not."""
    if len(data) > max_bytes:
        raise NetFileError(said("paint.err.bytes", size=f"{len(data) / 1e6:,.1f} MB",
                                limit=f"{max_bytes / 1e6:,.1f} MB"))
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise NetFileError(said("net.err.notNetwork"))
    (size,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    if size > MAX_HEADER or start + size > len(data):
        raise NetFileError(said("net.err.damaged"))
    try:
        header = json.loads(data[start:start + size])
        entries = header["tensors"]
        lab, config = str(header["lab"]), dict(header["config"])
        if header["format"] != FORMAT or not isinstance(entries, list):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise NetFileError(said("net.err.damaged")) from None
    body = memoryview(data)[start + size:]
    tensors: dict[str, np.ndarray] = {}
    for entry in entries:
        try:
            name, shape, offset = str(entry["name"]), [int(n) for n in entry["shape"]], \
                int(entry["offset"])
        except (KeyError, TypeError, ValueError):
            raise NetFileError(said("net.err.damaged")) from None
        count = math.prod(shape)
        if min(shape, default=1) < 0 or offset < 0 or offset + 4 * count > len(body):
            raise NetFileError(said("net.err.damaged"))
        tensors[name] = np.frombuffer(body, dtype="<f4", count=count,
                                      offset=offset).reshape(shape).astype(np.float32)
    header["lab"], header["config"] = lab, config
    return header, tensors


def load_into(state: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """`state` (a module's `state_dict`) with the file's tensors in place; a missing, extra or
    misshapen tensor is a `NetFileError` naming it."""
    import torch

    if set(tensors) != set(state):
        name = min(set(tensors) ^ set(state))
        raise NetFileError(said("net.err.tensor", name=name))
    out = {}
    for name, value in state.items():
        array = tensors[name]
        if tuple(array.shape) != tuple(value.shape):
            raise NetFileError(said("net.err.shape", name=name, got=list(array.shape),
                                    want=list(value.shape)))
        if not np.isfinite(array).all():
            raise NetFileError(said("net.err.finite", name=name))
        out[name] = torch.from_numpy(array).to(dtype=value.dtype)
    return out
