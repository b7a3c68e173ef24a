"""TensorFlow Playground mode's C kernel (kernels/tfplay.c): the same training as `engine`, one
call per run of epochs. Built and cached like netplay's fast path; when it cannot be built
(no compiler) `kernel()` is None and `engine` trains with numpy, to the same numbers."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from ..fastpath import CFLAGS, NoCompiler, _open_or_build

log = logging.getLogger(__name__)
SOURCE = Path(__file__).resolve().parents[1] / "kernels" / "tfplay.c"
MAX_LAYERS = 16
MAX_NODES = 1024
ACTS = {"relu": 0, "tanh": 1, "sigmoid": 2, "linear": 3}
REGS = {"none": 0, "L1": 1, "L2": 2}

_lock = threading.Lock()
_kernel: ctypes.CDLL | None = None
_tried = False


class TfSpec(ctypes.Structure):
    """Mirror of `tf_spec` in kernels/tfplay.c."""

    _fields_ = [
        ("n_layers", ctypes.c_int32),
        ("sizes", ctypes.c_int32 * (MAX_LAYERS + 1)),
        ("act", ctypes.c_int32),
        ("out_act", ctypes.c_int32),
        ("reg", ctypes.c_int32),
        ("batch_size", ctypes.c_int32),
        ("lr", ctypes.c_double),
        ("reg_rate", ctypes.c_double),
    ]


def kernel() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use; None when it cannot be built here (or
    NETPLAY_FASTPATH=0, the same opt-out as netplay's own fast path)."""
    global _kernel, _tried
    with _lock:
        if _tried:
            return _kernel
        _tried = True
        if os.environ.get("NETPLAY_FASTPATH", "1") == "0":
            return None
        try:
            source = SOURCE.read_bytes()
            platform_id = (CFLAGS, sys.platform, platform.machine())
            key = hashlib.sha256(source + repr(platform_id).encode()).hexdigest()[:16]
            lib = _open_or_build(source, b"", f"tfplay-{key}.so")  # needs no rules.h
        except (OSError, subprocess.SubprocessError, NoCompiler) as exc:
            log.warning("netplay: TF mode kernel unavailable (%s); training with numpy", exc)
            return None
        ptr = ctypes.c_void_p
        lib.tf_train.restype = ctypes.c_int
        lib.tf_train.argtypes = [ptr] * 9 + [ctypes.c_int32, ctypes.c_int32]
        lib.tf_loss.restype = ctypes.c_double
        lib.tf_loss.argtypes = [ptr] * 5 + [ctypes.c_int32]
        lib.tf_predict.restype = None
        lib.tf_predict.argtypes = [ptr] * 4 + [ctypes.c_int32, ptr]
        _kernel = lib
        return lib


def fits(sizes: list[int]) -> bool:
    return len(sizes) - 1 <= MAX_LAYERS and sum(sizes) <= MAX_NODES


def _p(a: np.ndarray) -> int:
    return a.ctypes.data


class FlatNet:
    """A network's arrays laid out flat for the kernel; the per-layer arrays become views."""

    def __init__(self, lib: ctypes.CDLL, sizes: list[int], weights: list[np.ndarray],
                 biases: list[np.ndarray], activation: str, regression: bool, regularization: str,
                 batch_size: int, lr: float, reg_rate: float) -> None:
        self.lib = lib
        self.spec = TfSpec()
        self.spec.n_layers = len(sizes) - 1
        for i, n in enumerate(sizes):
            self.spec.sizes[i] = n
        self.spec.act = ACTS[activation]
        self.spec.out_act = ACTS["linear" if regression else "tanh"]
        self.spec.reg = REGS[regularization]
        self.spec.batch_size = batch_size
        self.spec.lr = lr
        self.spec.reg_rate = reg_rate
        self.w = np.concatenate([w.ravel() for w in weights]).astype(np.float64)
        self.b = np.concatenate([b.ravel() for b in biases]).astype(np.float64)
        self.dead = np.zeros(len(self.w), dtype=np.uint8)
        self.acc_w = np.zeros_like(self.w)
        self.acc_b = np.zeros_like(self.b)
        self.count = np.zeros(1, dtype=np.int32)
        self.shapes = [w.shape for w in weights]

    def views(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Per-layer weights, biases and dead masks, sharing memory with the flat arrays."""
        ws, bs, ds = [], [], []
        wo = bo = 0
        for n_out, n_in in self.shapes:
            ws.append(self.w[wo : wo + n_out * n_in].reshape(n_out, n_in))
            ds.append(self.dead[wo : wo + n_out * n_in].reshape(n_out, n_in).view(bool))
            bs.append(self.b[bo : bo + n_out])
            wo += n_out * n_in
            bo += n_out
        return ws, bs, ds

    def set_rates(self, lr: float, reg_rate: float) -> None:
        """The learning and regularization rates of the next updates (TF reads them live)."""
        self.spec.lr = lr
        self.spec.reg_rate = reg_rate

    def train(self, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
        rc = self.lib.tf_train(ctypes.byref(self.spec), _p(self.w), _p(self.b), _p(self.dead),
                               _p(self.acc_w), _p(self.acc_b), _p(self.count), _p(x), _p(y),
                               len(y), epochs)
        if rc != 0:
            raise RuntimeError("TF mode kernel refused the network")

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        if len(y) == 0:
            return float("nan")
        return float(self.lib.tf_loss(ctypes.byref(self.spec), _p(self.w), _p(self.b), _p(x),
                                      _p(y), len(y)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        self.lib.tf_predict(ctypes.byref(self.spec), _p(self.w), _p(self.b), _p(x), len(x),
                            _p(out))
        return out
