"""The fast training path for the 2-D lab's MLPs: a small C kernel, one call per run of batches.

The obvious PyTorch step costs ~0.4 ms on a net of 20 parameters, nearly all of it call
overhead (docs/benchmarks.md). `kernels/mlp.c` does the forward pass, the hand-derived backward pass,
the penalty and the torch.optim update for a whole list of minibatches in one foreign call, on
parameters that live in one numpy float32 array which `tensors()` exposes without copying.

The kernel is compiled on first use with the system C compiler into a per-user cache keyed by
the hash of its source, the rules header generated from `rules.py` and the flags, so users need
no build step. Which path trains depends on the
configuration alone: every 2-D lab configuration runs here, unless the kernel cannot be built on
this machine (no compiler, or the build fails), in which case `supports()` is False everywhere and
the reference path runs; `Trainer.path` (and the frame metadata) says which one ran.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .experiment import Experiment
from .network import Architecture, BatchNorm
from .rules import ACTIVATIONS, LOSSES, OPTIMIZERS, REGULARIZATIONS, c_header, dropout_factors

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("kernels") / "mlp.c"
# -ffp-contract=off: no fused multiply-adds, so a build gives the same bits on any x86-64 or
# arm64 machine, not only on the one it was compiled on; no -ffast-math (NaN checks must work).
CFLAGS = ("-O2", "-std=c99", "-D_DEFAULT_SOURCE", "-ffp-contract=off", "-fPIC", "-shared")
MAX_LAYERS = 16  # weight layers the kernel's spec holds (the config table allows 9)


class KernelSpec(ctypes.Structure):
    """Mirror of `mlp_spec` in kernels/mlp.c."""

    _fields_ = [
        ("n_layers", ctypes.c_int32),
        ("sizes", ctypes.c_int32 * (MAX_LAYERS + 1)),
        ("acts", ctypes.c_int32 * MAX_LAYERS),
        ("loss", ctypes.c_int32),
        ("reg", ctypes.c_int32),
        ("optimizer", ctypes.c_int32),
        ("reg_rate", ctypes.c_double),
        ("lr", ctypes.c_double),
        ("momentum", ctypes.c_double),
    ]


# --- building the kernel -----------------------------------------------------------------------
_lock = threading.Lock()
_kernel: ctypes.CDLL | None = None
_kernel_tried = False


def cache_dir() -> Path:
    """Where compiled kernels live: $NETPLAY_CACHE, else the user's cache directory."""
    if os.environ.get("NETPLAY_CACHE"):
        return Path(os.environ["NETPLAY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "netplay" / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


class NoCompiler(Exception):
    """No C compiler on this machine and no cached build of this kernel."""


def _build(source: bytes, header: bytes, target: Path) -> None:
    compiler = _compiler()
    if compiler is None:
        raise NoCompiler("no C compiler found (set CC, or install gcc or clang)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        c_file = Path(tmp) / "mlp.c"
        c_file.write_bytes(source)
        (Path(tmp) / "rules.h").write_bytes(header)
        out = Path(tmp) / target.name
        subprocess.run(
            [compiler, *CFLAGS, "-o", str(out), str(c_file), "-lm"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # Atomic: another process compiling the same kernel at the same time is harmless.
        os.replace(out, target)


def _private_temp_dir() -> Path:
    """A temp folder only this user can write: a shared /tmp must not hand us someone's .so."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"netplay-kernels-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.stat()
    if hasattr(os, "getuid") and (info.st_uid != uid or info.st_mode & 0o022):
        raise PermissionError(f"{folder} is not private to this user")
    return folder


def _open_or_build(source: bytes, header: bytes, name: str) -> ctypes.CDLL:
    """Open the cached build, or build it; an unwritable cache falls back to a temp folder.

    A cached build needs no compiler, so an image can build the kernel once (run
    `python -m playground_models.fastpath` with NETPLAY_CACHE set) and ship without gcc.
    """
    try:
        target = cache_dir() / name
        if not target.exists():
            _build(source, header, target)
        return ctypes.CDLL(str(target))
    except OSError:  # read-only or unwritable cache, or a damaged cached file
        target = _private_temp_dir() / name
        if not target.exists():
            _build(source, header, target)
        return ctypes.CDLL(str(target))


def _load() -> ctypes.CDLL | None:
    """The compiled kernel, building it on first use; None when it cannot be built here."""
    global _kernel, _kernel_tried
    with _lock:
        if _kernel_tried:
            return _kernel
        _kernel_tried = True
        if os.environ.get("NETPLAY_FASTPATH", "1") == "0":  # an explicit opt-out, for debugging
            return None
        try:
            source = SOURCE.read_bytes()
            header = c_header().encode()  # the rules table's enums and constants
            # The build depends on the source, the rules, the flags and the platform, not on
            # which compiler made it: a cached build loads on a machine without one.
            platform_id = (CFLAGS, sys.platform, platform.machine())
            key = hashlib.sha256(source + header + repr(platform_id).encode()).hexdigest()[:16]
            lib = _open_or_build(source, header, f"mlp-{key}.so")
        except (OSError, subprocess.SubprocessError, NoCompiler) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log.warning(
                "netplay: fast kernel unavailable (%s %s); training on the reference path",
                exc,
                detail.decode(errors="replace")[:500],
            )
            return None
        ptr = ctypes.c_void_p
        lib.mlp_train.restype = ctypes.c_int
        lib.mlp_train.argtypes = [ptr] * 10 + [ctypes.c_int32, ptr, ptr]
        lib.mlp_evaluate.restype = ctypes.c_int
        lib.mlp_evaluate.argtypes = [ptr] * 5 + [ctypes.c_int32, ptr, ptr]
        lib.mlp_grid.restype = ctypes.c_int
        lib.mlp_grid.argtypes = [ptr, ptr, ptr] + [ctypes.c_int32] * 3 + [ptr, ptr]
        lib.mlp_picture.restype = ctypes.c_int
        lib.mlp_picture.argtypes = [ptr, ptr, ptr] + [ctypes.c_int32] * 3 + [ptr, ptr]
        _kernel = lib
        return lib


def supports(exp: Experiment) -> bool:
    """Whether `exp` trains on the fast path: every 2-D lab configuration, if the kernel builds.

    The answer never depends on the data or on training state, only on the config and on
    whether this machine can build the kernel.
    """
    return len(exp.networkShape) + 1 <= MAX_LAYERS and _load() is not None


def _address(a: np.ndarray | None) -> int | None:
    return None if a is None else a.ctypes.data


# --- the backend -------------------------------------------------------------------------------
# A frame's picture and metrics are computed in the kernel (`draw_grid`, `evaluate`) up to
# this many multiply-adds per point; past it torch's matrix products win (measured,
# docs/benchmarks.md: 2.0–2.5× faster to 64-64, slower at 8 layers of 64).
KERNEL_GRID_MACS = 8192


class FastBackend:
    """A `backend.Backend` on the C kernel; parameters and optimizer state are numpy arrays."""

    path = "fast"
    norm: BatchNorm | None = None  # batch norm trains on the reference path (`trainer.select_backend`)

    def __init__(self, arch: Architecture, params: Sequence[np.ndarray], exp: Experiment):
        kernel = _load()
        if kernel is None:
            raise RuntimeError("the fast kernel is not available; check fastpath.supports()")
        self._kernel = kernel
        self.arch = arch
        self._flat = np.concatenate([np.asarray(p, np.float32).ravel() for p in params])
        views, offset = [], 0
        for p in params:
            views.append(self._flat[offset : offset + p.size].reshape(p.shape))
            offset += p.size
        # Torch views of the same memory: snapshots read the live weights without a copy.
        self._tensors = [torch.from_numpy(v) for v in views]
        # Where every W and every b lie in it (the layers alternate W, b): `weights_and_biases`.
        bounds = np.cumsum([0] + [p.size for p in params])
        spans = [np.arange(start, end) for start, end in itertools.pairwise(bounds)]
        self._weight_index = np.concatenate(spans[0::2])
        self._bias_index = np.concatenate(spans[1::2])
        self._state = np.zeros((2, self._flat.size), np.float32)
        self._step = np.zeros(1, np.int64)
        self._diverged = np.zeros(1, np.int32)
        self._spec = KernelSpec()
        self._spec.n_layers = len(arch.sizes) - 1
        for i, size in enumerate(arch.sizes):
            self._spec.sizes[i] = size
        for i, act in enumerate(arch.activations):
            self._spec.acts[i] = ACTIVATIONS.index(act)
        self.exp = exp
        self._apply(exp)
        macs = sum(a * b for a, b in itertools.pairwise(arch.sizes))
        self.grid_in_kernel = macs <= KERNEL_GRID_MACS
        self._eval_inputs: dict[tuple[int, int], tuple[Any, ...]] = {}

    def _apply(self, exp: Experiment) -> None:
        spec = self._spec
        spec.loss = LOSSES.index(exp.loss_name)
        spec.reg = REGULARIZATIONS.index(exp.regularization)
        spec.reg_rate = exp.regularizationRate
        spec.optimizer = OPTIMIZERS.index(exp.optimizer)
        spec.lr = exp.learningRate
        spec.momentum = exp.momentum

    def configure(self, exp: Experiment) -> None:
        """Apply live settings from the next update on. A new optimizer type starts with fresh
        state, as `ReferenceBackend` builds a new torch optimizer."""
        old, self.exp = self.exp, exp
        if exp.optimizer != old.optimizer:
            self._state[:] = 0.0
            self._step[0] = 0
        self._apply(exp)

    def set_learning_rate(self, lr: float) -> None:
        self._spec.lr = lr

    def tensors(self) -> list[torch.Tensor]:
        return self._tensors

    def write(self, tensor: int, index: tuple[int, ...], value: float) -> None:
        with torch.no_grad():  # `tensors()` are views of the trained storage: this is live
            self.tensors()[tensor][index] = value

    def close(self) -> None:
        """Nothing is held outside this object."""

    def checkpoint(self) -> Any:
        return self._flat.copy(), self._state.copy(), int(self._step[0])

    def restore(self, state: Any, exp: Experiment, lr: float) -> None:
        flat, opt, step = state  # what `checkpoint` returned
        np.copyto(self._flat, flat)  # in place: the tensors are views of it
        np.copyto(self._state, opt)
        self._step[0] = step
        self._diverged[0] = 0
        self.exp = exp
        self._apply(exp)
        self._spec.lr = lr

    def set_parameters(self, params: Sequence[np.ndarray]) -> None:
        for view, value in zip(self._tensors, params, strict=True):
            view.numpy()[...] = np.asarray(value, dtype=np.float32)

    def draw_grid(self, x_rows: np.ndarray, grid: int, maps: int,
                  kind: int) -> tuple[np.ndarray, np.ndarray]:
        """A frame's picture in one kernel call, without the GIL (`mlp_grid` in mlp.c): the
        net on the grid's points, `x_rows` [features, grid²] float32, gives the output (`kind`
        0: 2σ(s₁ − s₀) − 1, 1: the regression value clamped, 2: every class score) and each
        hidden neuron's `maps`×`maps` average. Returns (output [grid²] or [classes, grid²],
        neuron maps [hidden, maps, maps])."""
        sizes = self.arch.sizes
        points = grid * grid
        out = np.empty((sizes[-1] if kind == 2 else 1) * points, np.float32)
        pooled = np.empty((sum(sizes[1:-1]), maps, maps), np.float32)
        x = np.ascontiguousarray(x_rows, dtype=np.float32)
        if self._kernel.mlp_grid(ctypes.byref(self._spec), self._flat.ctypes.data, x.ctypes.data,
                                 grid, maps, kind, out.ctypes.data, pooled.ctypes.data) < 0:
            raise MemoryError("fast kernel: out of memory")
        return (out.reshape(sizes[-1], points) if kind == 2 else out), pooled

    def weights_and_biases(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of every layer's W (row-major, layer after layer) and of every b, each as
        one float32 vector: a frame's `weights` and `biases`."""
        return self._flat[self._weight_index], self._flat[self._bias_index]

    def draw_picture(self, x_rows: np.ndarray, grid: int, maps: int,
                     kind: int) -> tuple[np.ndarray, np.ndarray]:
        """`draw_grid` as a frame sends it, for kinds 0 and 1: the output [grid, grid] and the
        hidden neurons' maps [hidden, maps, maps] as int8, 127·clamp(v, −1, 1) rounded with
        NaN as 0 (`quantize.to_int8`), in the same kernel call (`mlp_picture`)."""
        sizes = self.arch.sizes
        out = np.empty((grid, grid), np.int8)
        pooled = np.empty((sum(sizes[1:-1]), maps, maps), np.int8)
        x = np.ascontiguousarray(x_rows, dtype=np.float32)
        status = self._kernel.mlp_picture(ctypes.byref(self._spec), self._flat.ctypes.data,
                                          x.ctypes.data, grid, maps, kind, out.ctypes.data,
                                          pooled.ctypes.data)
        if status == -2:
            raise ValueError(f"the kernel draws pictures of kind 0 or 1, not {kind}")
        if status < 0:
            raise MemoryError("fast kernel: out of memory")
        return out, pooled

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Mean data loss and accuracy (0 for regression) of the net on every row of `x`, in
        one kernel call without the GIL (`mlp_evaluate`): a frame's metrics."""
        key = (id(x), id(y))
        held = self._eval_inputs.get(key)
        if held is None or held[0] is not x or held[1] is not y:
            # The data sets live as long as the trainer's data: their arrays and addresses are
            # worked out once, not every frame (two sets; a new data set replaces them).
            x_np = np.ascontiguousarray(x.numpy(), dtype=np.float32)
            y_np = np.ascontiguousarray(y.numpy())
            classes = y_np if y_np.dtype == np.int64 else None
            values = None if classes is not None else y_np.astype(np.float32, copy=False)
            held = (x, y, x_np, classes, values, x_np.ctypes.data, _address(classes),
                    _address(values), len(y_np))
            if len(self._eval_inputs) >= 2:
                self._eval_inputs.clear()
            self._eval_inputs[key] = held
        loss, acc = ctypes.c_double(), ctypes.c_double()
        if self._kernel.mlp_evaluate(ctypes.byref(self._spec), self._flat.ctypes.data, *held[5:],
                                     ctypes.byref(loss), ctypes.byref(acc)) < 0:
            raise MemoryError("fast kernel: out of memory")
        return loss.value, acc.value

    def train_batches(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batches: Sequence[np.ndarray],
        dropout_rng: np.random.Generator,
    ) -> tuple[int, bool]:
        """One update per index batch, all in one kernel call. Returns (updates, diverged)."""
        if not batches:
            return 0, False
        lengths = [len(b) for b in batches]
        rows = np.concatenate(batches).astype(np.int64, copy=False)
        starts = np.zeros(len(batches) + 1, np.int32)
        np.cumsum(lengths, out=starts[1:])
        x_np = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        y_np = np.ascontiguousarray(y.numpy())
        classes = y_np if y_np.dtype == np.int64 else None
        values = None if classes is not None else y_np.astype(np.float32, copy=False)

        widths = self.arch.sizes[1:-1]
        p_drop = self.exp.dropout
        masks = rng_state = None
        if p_drop > 0 and widths:
            # `dropout_masks` draws rng.random((B, w)) per layer per step; one flat draw of the
            # same total gives the same numbers in the same order (tests check this).
            rng_state = dropout_rng.bit_generator.state
            uniform = dropout_rng.random(int(rows.size) * sum(widths))
            masks = dropout_factors(uniform, p_drop)

        state = self._state
        done = self._kernel.mlp_train(
            ctypes.byref(self._spec),
            self._flat.ctypes.data,
            state[0].ctypes.data,
            state[1].ctypes.data,
            self._step.ctypes.data,
            x_np.ctypes.data,
            _address(classes),
            _address(values),
            rows.ctypes.data,
            starts.ctypes.data,
            len(batches),
            _address(masks),
            self._diverged.ctypes.data,
        )
        if done == -2:
            raise NotImplementedError(f"fast kernel: no update rule for {self.exp.optimizer!r}")
        if done < 0:
            raise MemoryError("fast kernel: out of memory")
        diverged = bool(self._diverged[0])
        if diverged and rng_state is not None:
            # The reference draws masks only up to the step that diverged: leave the stream
            # exactly where it would be.
            dropout_rng.bit_generator.state = rng_state
            dropout_rng.random(sum(lengths[: done + 1]) * sum(widths))
        return done, diverged


if __name__ == "__main__":  # build (or find) the kernel now, e.g. while building an image
    print("fast path:", "available" if supports(Experiment()) else "unavailable", cache_dir())
    from .tfcompat import fast as tf_fast  # TensorFlow Playground mode's kernel, built alike

    print("TF mode kernel:", "available" if tf_fast.kernel() is not None else "unavailable")
