"""The binary envelope of docs/protocol.md, and the quantisation of a snapshot into it.

    uint32 LE header length H (a multiple of 4) | H bytes of UTF-8 JSON, space-padded |
    payload: the arrays, each starting at a multiple of 4 bytes

Grids go out as int8/uint8 so that a 100×100 boundary costs 10 kB, not 40 kB, and never as
JSON lists of floats; a browser reads each array with one typed-array view, no parsing.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from playground_models.quantize import to_int8, to_uint8_unit

DTYPES = {"int8": np.int8, "uint8": np.uint8, "float32": np.float32}
# Either byte order: each array goes out little-endian.
_ORDERS: tuple[Literal["<"], Literal[">"]] = ("<", ">")
_DTYPE_NAMES = {np.dtype(t).newbyteorder(order): name for name, t in DTYPES.items()
                for order in _ORDERS}
_BIG_ENDIAN = sys.byteorder == "big"
ALIGN = 4


class FrameError(ValueError):
    """A byte string that is not a well-formed envelope."""


def _pad(n: int) -> int:
    return (-n) % ALIGN


def json_safe(value: Any) -> Any:
    """The same value with NaN/±inf turned into None, so it always encodes as strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def dumps(value: Any) -> str:
    """Compact strict JSON (no NaN) of a JSON-ready value. Most values are already strict
    JSON: tried as they are first, and only one that holds a NaN, an infinity or a numpy
    number is walked (`json_safe`), which costs a frame more than the encoding itself."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(json_safe(value), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)


def encode(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """One binary message: `header` plus an `arrays` table describing `arrays`, in order."""
    table = []
    chunks: list[Any] = []  # bytes and numpy byte views, joined once
    offset = 0
    for name, array in arrays.items():
        dtype = _DTYPE_NAMES.get(array.dtype)
        if dtype is None:
            raise FrameError(f"array {name!r}: dtype {array.dtype.name} is not one of "
                             f"{', '.join(DTYPES)}")
        if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and _BIG_ENDIAN):
            array = array.astype(array.dtype.newbyteorder("<"))
        # The array's own memory, in C order: copied once, into the message itself.
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        table.append(
            {"name": name, "dtype": dtype, "shape": list(array.shape), "offset": offset,
             "bytes": data.nbytes}
        )
        chunks.append(data)
        if _pad(data.nbytes):
            chunks.append(b"\0" * _pad(data.nbytes))
        offset += data.nbytes + _pad(data.nbytes)
    head = dumps({**header, "arrays": table}).encode()
    head += b" " * _pad(len(head))
    return b"".join([struct.pack("<I", len(head)), head, *chunks])


def decode(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the named arrays of one binary message (the inverse of `encode`)."""
    if len(message) < 4:
        raise FrameError("shorter than the 4-byte header length")
    (size,) = struct.unpack_from("<I", message)
    if size % ALIGN or 4 + size > len(message):
        raise FrameError(f"bad header length {size}")
    try:
        header = json.loads(message[4 : 4 + size].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FrameError(f"header is not JSON: {err}") from None
    payload = memoryview(message)[4 + size :]
    arrays = {}
    for entry in header.get("arrays", []):
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise FrameError(f"array {entry['name']!r}: unknown dtype {entry['dtype']!r}")
        start, length = entry["offset"], entry["bytes"]
        if start % ALIGN or start + length > len(payload):
            raise FrameError(f"array {entry['name']!r} lies outside the payload")
        flat = np.frombuffer(payload[start : start + length], dtype=np.dtype(dtype).newbyteorder("<"))
        arrays[entry["name"]] = flat.reshape(entry["shape"])
    return header, arrays


# --- a snapshot's arrays -------------------------------------------------------------------


def flat_float32(parts: list[np.ndarray]) -> np.ndarray:
    """Arrays concatenated row-major into one float32 vector."""
    if not parts:
        return np.zeros(0, np.float32)
    return np.concatenate([np.asarray(p, np.float32).ravel() for p in parts])


def snapshot_arrays(snap: Any, knn: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The `frame` arrays of docs/protocol.md from a trainer `Snapshot` (and a k-NN grid)."""
    arrays: dict[str, np.ndarray] = {}
    if snap.output is not None:
        arrays["output"] = to_int8(snap.output)
    if snap.classes is not None:
        arrays["classes"] = np.asarray(snap.classes, np.uint8)
    if snap.confidence is not None:
        arrays["confidence"] = to_uint8_unit(snap.confidence)
    arrays["neurons"] = to_int8(snap.neurons)
    arrays["weights"] = flat_float32(snap.weights)
    arrays["biases"] = flat_float32(snap.biases)
    if knn is not None:
        arrays["knn"] = _knn_array(knn)
    if snap.curve is not None:
        arrays["curve"] = np.asarray(snap.curve, np.float32)
    return arrays


def picture_arrays(picture: Any, knn: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """`snapshot_arrays` for a picture the kernel drew and quantised (`snapshot.Picture`):
    the same arrays, in the same order."""
    arrays = {"output": picture.output, "neurons": picture.neurons,
              "weights": picture.weights, "biases": picture.biases}
    if knn is not None:
        arrays["knn"] = _knn_array(knn)
    return arrays


def _knn_array(knn: np.ndarray) -> np.ndarray:
    """Integer grids are class indices; real-valued ones share the `output` encoding."""
    if np.issubdtype(np.asarray(knn).dtype, np.integer):
        return np.asarray(knn, np.uint8)
    return to_int8(knn)


def data_arrays(split: Any) -> dict[str, np.ndarray]:
    """`train` and `test` as float32 [n, 3] rows of x₁, x₂, label (or regression target)."""
    out = {}
    for name in ("train", "test"):
        x = np.asarray(getattr(split, f"{name}_x"), np.float32).reshape(-1, 2)
        y = np.asarray(getattr(split, f"{name}_y"), np.float32).reshape(-1, 1)
        out[name] = np.concatenate([x, y], axis=1)
        index = getattr(split, f"{name}_index", None)
        if index is not None:  # lets a client remove a generated point (the `removed` key)
            out[f"{name}_index"] = np.asarray(index, np.float32)
    return out
