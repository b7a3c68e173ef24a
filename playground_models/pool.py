"""Live runs of one architecture trained together: pools of rows stepped as one tensor program.

A `RunPool` holds a fixed number of rows (`capacity`) for one architecture, loss, optimizer and
batch size on one device. A row is one run's parameters and optimizer state, in the flat layout
of `rules.py` (W[out][in] then b[out], layer by layer). `trainer.train_together` takes any set
of trainers whose backends are rows (`PooledBackend`) and steps each pool's busy rows with one
batched program per minibatch (`baddbmm` forward, autograd backward, the optimizer as
elementwise arithmetic; see `batched.BatchedRows`), however many of its rows are busy. That is
what a GPU wants: one launch sequence for hundreds of learners instead of one each.

The tensors always have the pool's full shape, busy rows or not, and nothing mixes rows. So a
row's numbers do not depend on which other rows are training (tests check this bit for bit): a
shared link trains the same on any server that pools on the same kind of device, whoever else
is using it. Pooled numbers agree with the reference path to float rounding, not bit for bit,
and a frame says `path: "batched"` when its run trained in a pool.

Everything a trainer keeps (epochs, shuffles, dropout draws, divergence) stays in the trainer:
the pool only does the arithmetic of the updates it is handed.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .batched import BatchedRows, weight_mask
from .experiment import Experiment
from .network import Architecture, BatchNorm
from .rules import dropout_masks, parameter_count

# Parameters a pool holds at most (per tensor: parameters and two optimizer states): a pool of a
# big net has fewer rows, so one learner's 100,000-weight net takes 48 MiB, not 300.
ROW_BUDGET = 1 << 22

# (layer sizes, activations, loss, optimizer, batch size): what the rows of one pool share.
PoolKey = tuple[tuple[int, ...], tuple[str, ...], str, str, int]


def pool_key(arch: Architecture, exp: Experiment) -> PoolKey:
    return (tuple(arch.sizes), tuple(arch.activations), exp.loss_name, exp.optimizer, exp.batchSize)


@dataclass
class Job:
    """Updates for one row: index batches into its own data, and their dropout masks."""

    row: int
    x: torch.Tensor
    y: torch.Tensor
    batches: Sequence[np.ndarray]
    masks: list[list[np.ndarray]] | None  # per batch, per hidden layer [b, width]


class RunPool(BatchedRows):
    """`capacity` rows of one `PoolKey` on `device`. Callers hold `lock` around every use."""

    def __init__(self, key: PoolKey, capacity: int, device: torch.device, host_copy: bool = False):
        sizes, activations, loss, optimizer, batch = key
        self.key = key
        self.capacity = capacity
        self.device = device
        self.sizes, self.activations, self.loss_name = sizes, activations, loss
        self.optimizer, self.batch = optimizer, batch
        self.lock = threading.RLock()
        n_params = parameter_count(sizes)
        self.params = torch.zeros(capacity, n_params, device=device)
        self.s1 = torch.zeros_like(self.params)
        self.s2 = torch.zeros_like(self.params)
        self.steps = torch.zeros(capacity, 1, dtype=torch.int64, device=device)
        self.lr = torch.zeros(capacity, 1, dtype=torch.float64, device=device)
        self.momentum = torch.zeros_like(self.lr)
        self.l1 = torch.zeros(capacity, 1, device=device)
        self.l2 = torch.zeros_like(self.l1)
        self.weight_mask = weight_mask(sizes, device)
        # What snapshots read: the parameters themselves on the CPU, else a copy kept current
        # (`host_copy` makes one on the CPU too, so that tests run the GPU's bookkeeping).
        separate = host_copy or device.type != "cpu"
        self.host = self.params.cpu().clone() if separate else self.params
        self.free = list(range(capacity - 1, -1, -1))
        self.released: list[int] = []  # rows given back by finalizers, freed at the next acquire
        self.batched_steps = 0  # minibatch steps run, each one for all the busy rows
        self.row_updates = 0  # updates done, summed over rows
        self.seconds_per_step = 0.0  # one minibatch of the whole pool, last measured

    @property
    def used(self) -> int:
        return self.capacity - len(self.free) - len(self.released)

    # --- rows ----------------------------------------------------------------------------
    def acquire(self, flat: np.ndarray, exp: Experiment) -> int | None:
        """A free row holding `flat` with fresh optimizer state, or None when the pool is full."""
        self._collect()
        if not self.free:
            return None
        row = self.free.pop()
        self.load(row, flat)
        self.s1[row] = 0.0
        self.s2[row] = 0.0
        self.steps[row] = 0
        self.configure(row, exp)
        return row

    def release(self, row: int) -> None:
        self.released.append(row)  # list.append is atomic: safe from any thread, lock or not

    def _collect(self) -> None:
        while self.released:
            self.free.append(self.released.pop())

    def configure(self, row: int, exp: Experiment) -> None:
        """The row's live settings: learning rate, momentum and penalty (dropout travels with
        each job's masks)."""
        self.lr[row] = exp.learningRate
        self.momentum[row] = exp.momentum
        rate = exp.regularizationRate
        self.l1[row] = rate if exp.regularization == "L1" else 0.0
        self.l2[row] = rate if exp.regularization == "L2" else 0.0

    def load(self, row: int, flat: np.ndarray) -> None:
        values = torch.from_numpy(np.asarray(flat, np.float32))
        self.params[row] = values.to(self.device)
        if self.host is not self.params:
            self.host[row] = values

    def write(self, row: int, index: int, value: float) -> None:
        self.params[row, index] = value
        if self.host is not self.params:
            self.host[row, index] = value

    def optimizer_state(self, row: int) -> tuple[torch.Tensor, ...]:
        return self.s1[row].clone(), self.s2[row].clone(), self.steps[row].clone()

    def set_optimizer_state(self, row: int, state: tuple[torch.Tensor, ...]) -> None:
        self.s1[row], self.s2[row], self.steps[row] = (t.to(self.device) for t in state)

    # --- training ------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job]) -> list[tuple[int, bool]]:
        """Each job's updates, all jobs' k-th updates in one program. Returns, per job, the
        updates done and whether its loss stopped being finite (it stops before that update,
        as the reference path does)."""
        started = time.perf_counter()
        n_steps = max((len(j.batches) for j in jobs), default=0)
        if n_steps == 0:
            return [(0, False) for _ in jobs]
        x, y, valid, masks = self._inputs(jobs, n_steps)
        rows = torch.tensor([j.row for j in jobs], device=self.device)
        want = torch.zeros(n_steps, self.capacity, 1, dtype=torch.bool)
        for j in jobs:
            want[: len(j.batches), j.row] = True
        want = want.to(self.device)
        alive = torch.zeros(self.capacity, 1, dtype=torch.bool, device=self.device)
        alive[rows] = True
        done = torch.zeros(self.capacity, dtype=torch.int64, device=self.device)
        for s in range(n_steps):
            live = alive & want[s]
            finite = self._step(x[s], y[s], valid[s], None if masks is None else masks[s], live)
            alive &= finite[:, None] | ~want[s]
            done += (live[:, 0] & finite).long()
        if self.host is not self.params:
            self.host.copy_(self.params)
        done_by_row = done[rows].tolist()
        dead = (~alive[rows, 0]).tolist()
        self.batched_steps += n_steps
        self.row_updates += sum(done_by_row)
        self.seconds_per_step = (time.perf_counter() - started) / n_steps
        return list(zip(done_by_row, dead, strict=True))

    def _inputs(self, jobs: Sequence[Job], n_steps: int):
        """Every job's minibatches as full-shape tensors [steps, capacity, batch, ...], padded
        with zeros (and `valid` False) where a row has no update or a short last batch."""
        cap, batch = self.capacity, self.batch
        n_features = self.sizes[0]
        x = np.zeros((n_steps, cap, batch, n_features), np.float32)
        labels = jobs[0].y.numpy()
        y = np.zeros((n_steps, cap, batch), labels.dtype)
        valid = np.zeros((n_steps, cap, batch), bool)
        widths = self.sizes[1:-1]
        masks = None
        if any(j.masks for j in jobs):
            masks = [np.ones((n_steps, cap, batch, w), np.float32) for w in widths]
        for j in jobs:
            xs, ys = j.x.numpy(), j.y.numpy()
            full = [len(idx) == batch for idx in j.batches]
            n_full = full.index(False) if not all(full) else len(full)
            if n_full:  # the whole batches at once: one gather per job, not one per step
                idx = np.stack(j.batches[:n_full])
                x[:n_full, j.row] = xs[idx]
                y[:n_full, j.row] = ys[idx]
                valid[:n_full, j.row] = True
            for s in range(n_full, len(j.batches)):  # the short last batch of an epoch
                idx = j.batches[s]
                x[s, j.row, : len(idx)] = xs[idx]
                y[s, j.row, : len(idx)] = ys[idx]
                valid[s, j.row, : len(idx)] = True
            if j.masks:
                for s, step_masks in enumerate(j.masks):
                    for layer, m in enumerate(step_masks):
                        masks[layer][s, j.row, : len(m)] = m  # type: ignore[index]
        dev = self.device

        def put(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(dev)

        return (put(x), put(y), put(valid),
                None if masks is None else list(zip(*(put(m).unbind(0) for m in masks), strict=True)))

    def _step(self, x: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
              masks: Sequence[torch.Tensor] | None, live: torch.Tensor) -> torch.Tensor:
        """One minibatch for the rows in `live`; returns which rows' losses were finite."""
        flat, loss = self._losses(x, target, masks, valid)
        finite = torch.isfinite(loss)
        (grad,) = torch.autograd.grad(torch.where(finite & live[:, 0], loss, 0.0).sum(), flat)
        with torch.no_grad():
            self._update(grad, live & finite[:, None])
        return finite


class PoolSet:
    """The pools of one owner (a server), made as runs need them, on one device."""

    def __init__(self, device: str | torch.device = "cpu", capacity: int = 256,
                 host_copy: bool = False):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.device = torch.device(device)
        self.capacity = capacity
        self.host_copy = host_copy
        self._pools: dict[PoolKey, list[RunPool]] = {}
        self._retired = [0, 0]  # batched steps and updates of the pools freed so far
        self._lock = threading.Lock()

    def acquire(self, key: PoolKey, flat: np.ndarray, exp: Experiment) -> tuple[RunPool, int]:
        with self._lock:
            self._drop_empty()
            pools = self._pools.setdefault(key, [])
            for pool in pools:
                with pool.lock:
                    row = pool.acquire(flat, exp)
                if row is not None:
                    return pool, row
            n_params = parameter_count(key[0])
            rows = max(1, min(self.capacity, ROW_BUDGET // n_params))  # the key decides it
            pool = RunPool(key, rows, self.device, self.host_copy)
            pools.append(pool)
            with pool.lock:
                row = pool.acquire(flat, exp)
            assert row is not None
            return pool, row

    def _drop_empty(self) -> None:
        """Free the pools no run uses any more (their device memory goes with them)."""
        for key, pools in list(self._pools.items()):
            for pool in list(pools):
                with pool.lock:
                    pool._collect()
                    if pool.used:
                        continue
                pools.remove(pool)
                self._retired[0] += pool.batched_steps
                self._retired[1] += pool.row_updates
            if not pools:
                del self._pools[key]

    def stats(self) -> dict[str, Any]:
        """Pools, rows in use, batched steps run and row updates done so far, for `/health`:
        updates per batched step is how many sessions a step trained on average."""
        with self._lock:
            pools = [p for ps in self._pools.values() for p in ps]
            steps = self._retired[0] + sum(p.batched_steps for p in pools)
            updates = self._retired[1] + sum(p.row_updates for p in pools)
        return {
            "device": self.device.type,
            "capacity": self.capacity,
            "pools": len(pools),
            "rows_in_use": sum(p.used for p in pools),
            "batched_steps": steps,
            "updates": updates,
        }


def _release(pool: RunPool, row: int) -> None:
    pool.release(row)


class PooledBackend:
    """A `backend.Backend` that is one row of a pool."""

    path = "batched"
    norm: BatchNorm | None = None  # batch norm trains on the reference path (`trainer.select_backend`)

    def __init__(self, pools: PoolSet, arch: Architecture, params: Sequence[np.ndarray],
                 exp: Experiment):
        self.pools = pools
        self.arch = arch
        self.exp = exp
        flat = np.concatenate([np.asarray(p, np.float32).ravel() for p in params])
        self._shapes = [tuple(np.shape(p)) for p in params]
        self._take(flat)

    def _take(self, flat: np.ndarray) -> None:
        self.pool, self.row = self.pools.acquire(pool_key(self.arch, self.exp), flat, self.exp)
        self._finalizer = weakref.finalize(self, _release, self.pool, self.row)
        views, offset, host = [], 0, self.pool.host[self.row]
        for shape in self._shapes:
            size = int(np.prod(shape))
            views.append(host[offset : offset + size].view(shape))
            offset += size
        self._tensors = views

    def close(self) -> None:
        self._finalizer()  # runs once; later calls do nothing

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def set_learning_rate(self, lr: float) -> None:
        with self.pool.lock:
            self.pool.lr[self.row] = lr

    def configure(self, exp: Experiment) -> None:
        """Live settings. A new optimizer or batch size means another pool: the row moves,
        keeping its optimizer state unless the optimizer type changed (as the other paths)."""
        old, self.exp = self.exp, exp
        if pool_key(self.arch, exp) == pool_key(self.arch, old):
            with self.pool.lock:
                self.pool.configure(self.row, exp)
            return
        with self.pool.lock:
            flat = self.pool.host[self.row].clone().numpy()
            state = self.pool.optimizer_state(self.row)
        self.close()
        self._take(flat)
        if exp.optimizer == old.optimizer:
            with self.pool.lock:
                self.pool.set_optimizer_state(self.row, state)

    def tensors(self) -> list[torch.Tensor]:
        return self._tensors

    def checkpoint(self) -> Any:
        with self.pool.lock:
            return self.pool.host[self.row].clone().numpy(), self.pool.optimizer_state(self.row)

    def restore(self, state: Any, exp: Experiment, lr: float) -> None:
        flat, opt = state  # what `checkpoint` returned
        old, self.exp = self.exp, exp
        if pool_key(self.arch, exp) != pool_key(self.arch, old):
            self.close()  # another optimizer or batch size then: the row moves back
            self._take(flat)
        with self.pool.lock:
            self.pool.load(self.row, flat)
            self.pool.configure(self.row, exp)
            self.pool.set_optimizer_state(self.row, opt)
            self.pool.lr[self.row] = lr

    def set_parameters(self, params: Sequence[np.ndarray]) -> None:
        flat = np.concatenate([np.asarray(p, np.float32).ravel() for p in params])
        with self.pool.lock:
            self.pool.load(self.row, flat)

    def write(self, tensor: int, index: tuple[int, ...], value: float) -> None:
        offset = sum(int(np.prod(s)) for s in self._shapes[:tensor])
        flat_index = offset + int(np.ravel_multi_index(index, self._shapes[tensor]))
        with self.pool.lock:
            self.pool.write(self.row, flat_index, value)

    def job(self, x: torch.Tensor, y: torch.Tensor, batches: Sequence[np.ndarray],
            dropout_rng: np.random.Generator) -> Job:
        """The pool's work for these updates; dropout drawn as the reference path draws it."""
        widths, p = self.arch.sizes[1:-1], self.exp.dropout
        masks = None
        if p > 0 and widths:
            masks = [dropout_masks(dropout_rng, len(idx), widths, p) for idx in batches]
        return Job(self.row, x, y, batches, masks)

    def train_batches(self, x: torch.Tensor, y: torch.Tensor, batches: Sequence[np.ndarray],
                      dropout_rng: np.random.Generator) -> tuple[int, bool]:
        """These updates alone (a `step`, a sweep): the pool runs with just this row busy."""
        job = self.job(x, y, batches, dropout_rng)
        with self.pool.lock:
            return self.pool.run([job])[0]
