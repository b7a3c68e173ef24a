"""A picture's values as a frame sends them: one byte each (docs/protocol.md, `frame`)."""

from __future__ import annotations

import numpy as np


def to_int8(values: np.ndarray) -> np.ndarray:
    """127·clamp(v, −1, 1), rounded; NaN becomes 0 (a diverged net draws as neutral). The C
    kernel's `quantize_unit` (kernels/mlp.c) gives the same bytes.

    In place on one float32 copy: a frame quantises 13,000 values twice per frame, and
    `np.nan_to_num` alone cost twice what this whole function does."""
    q = np.multiply(values, np.float32(127.0), dtype=np.float32)
    np.clip(q, -127.0, 127.0, out=q)  # ±inf clamp; NaN stays NaN
    np.rint(q, out=q)
    q[np.isnan(q)] = 0.0
    return q.astype(np.int8)


def to_uint8_unit(values: np.ndarray) -> np.ndarray:
    """255·clamp(v, 0, 1), rounded: a probability as a byte (NaN is 0)."""
    q = np.multiply(values, np.float32(255.0), dtype=np.float32)
    np.clip(q, 0.0, 255.0, out=q)
    np.rint(q, out=q)
    q[np.isnan(q)] = 0.0
    return q.astype(np.uint8)
