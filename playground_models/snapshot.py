"""What the page draws: metrics, the output grid and every neuron's map, from one batched pass."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from .fastpath import FastBackend
from .features import feature_matrix
from .grid import grid_points
from .network import ACTIVATION_FUNCTIONS, BatchNorm, data_loss, forward, regularization
from .params import DOMAIN
from .quantize import to_int8

if TYPE_CHECKING:
    from .trainer import Trainer

CURVE_POINTS = 200  # samples along x₁ for the 1-D regression curve


@dataclass
class Snapshot:
    """Arrays for one frame. Every map has row 0 at the top (largest x₂)."""

    output: np.ndarray | None  # float32 [G, G] in [−1, 1]: 2·p(class 1) − 1, or the regression value
    classes: np.ndarray | None  # uint8 [G, G], more than two classes: predicted class
    confidence: np.ndarray | None  # float32 [G, G], more than two classes: its probability
    neurons: np.ndarray  # float32 [N, M, M] in [−1, 1]: enabled features, then hidden neurons
    weights: list[np.ndarray]  # [out, in] per layer
    biases: list[np.ndarray]
    curve: np.ndarray | None  # float32 [C, 2]: x₁ and the prediction, 1-D regression only


@dataclass
class Picture:
    """A frame's picture as it is sent, drawn and quantised by the C kernel: the same bytes as
    `take_snapshot` quantised (`quantize.to_int8`), for a two-class or regression net on a
    2-D plane."""

    output: np.ndarray  # int8 [G, G]
    neurons: np.ndarray  # int8 [N, M, M]: enabled features, then hidden neurons
    weights: np.ndarray  # float32: every layer's W [out, in], row-major, one after another
    biases: np.ndarray  # float32


def _inferred(trainer: Trainer) -> Callable[[int, torch.Tensor], torch.Tensor] | None:
    """Batch norm as used outside training (its running estimates), where the net has it."""
    return trainer.norm.infer if trainer.norm is not None else None


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@torch.no_grad()
def evaluate(trainer: Trainer) -> dict[str, Any]:
    """Data loss (and accuracy) on the full train and test sets, plus the penalty term."""
    exp = trainer.experiment
    params = trainer.parameters()
    acts = trainer.arch.activations
    out: dict[str, Any] = {"epoch": trainer.epoch, "steps": trainer.steps}
    backend = trainer.backend
    for name, x, y in (("train", trainer.x_train, trainer.y_train),
                       ("test", trainer.x_test, trainer.y_test)):
        if isinstance(backend, FastBackend) and backend.grid_in_kernel:  # C, without the GIL
            loss, acc = backend.evaluate(x, y)
        else:
            scores = forward(params, acts, x, normalize=_inferred(trainer))
            loss = float(data_loss(exp.loss_name, scores, y))
            acc = float((scores.argmax(dim=1) == y).double().mean()) if exp.is_classification \
                else 0.0
        out[f"{name}_loss"] = _finite(loss)
        if exp.is_classification:
            out[f"{name}_acc"] = acc
    penalised = exp.regularization != "none" and exp.regularizationRate != 0.0
    reg = regularization(exp.regularization, exp.regularizationRate, params[0::2]) \
        if penalised else 0.0
    out["reg_loss"] = _finite(float(reg))
    # Pruned links, "7 of 20 weights are 0": L1 makes weights exactly zero (biases never count).
    if isinstance(backend, FastBackend):  # every weight in one array
        weights = backend.weights_and_biases()[0]
        out["weights"], out["zero_weights"] = len(weights), int(np.count_nonzero(weights == 0))
    else:
        out["weights"] = sum(int(w.numel()) for w in params[0::2])
        out["zero_weights"] = sum(int(np.count_nonzero(w.detach().numpy() == 0))
                                  for w in params[0::2])
    if trainer.diverged_at is not None:
        for key in ("train_loss", "test_loss", "reg_loss"):
            out[key] = None
    return out


def _pool(rows: torch.Tensor, grid_size: int, neuron_grid: int) -> torch.Tensor:
    """Per-row maps [k, M, M] averaged down from rows of a G×G grid (row-major, top row first)."""
    maps = rows.reshape(-1, 1, grid_size, grid_size)
    return F.adaptive_avg_pool2d(maps, neuron_grid)[:, 0]


def grid_inputs(trainer: Trainer, grid_size: int, neuron_grid: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's input on the grid, one row per feature [F, G·G], and the features' own
    maps [F, M, M].

    Both depend only on the features, the preprocessing statistics and the sizes, so they are
    computed once per dataset (the trainer drops the cache when it loads data) and reused by
    every frame.
    """
    _, x_rows, maps, _ = _grid_cached(trainer, grid_size, neuron_grid)
    return x_rows, maps


def _grid_cached(trainer: Trainer, grid_size: int,
                 neuron_grid: int) -> tuple[Any, torch.Tensor, torch.Tensor, np.ndarray]:
    """`grid_inputs`, with the features' maps also as a frame sends them (int8)."""
    exp = trainer.experiment
    key = (grid_size, neuron_grid)
    cached = trainer.grid_cache
    if cached is None or cached[0] != key:
        raw = feature_matrix(grid_points(grid_size), exp.features)
        x_rows = torch.from_numpy(trainer.preprocess(raw).T.astype(np.float32))
        # Feature maps show their shape (scaled by their largest magnitude), not their value.
        feats = torch.from_numpy(raw.T.astype(np.float32))
        feats = feats / feats.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)
        maps = _pool(feats, grid_size, neuron_grid).clamp(-1, 1)
        cached = trainer.grid_cache = (key, x_rows.contiguous(), maps, to_int8(maps.numpy()))
    return cached


def _grid_forward(
    params: list[torch.Tensor], activations: tuple[str, ...], x_rows: torch.Tensor,
    norm: BatchNorm | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`network.forward` on the grid with points as columns: scores [C, P] and every hidden
    layer [width, P]. W @ X with thousands of columns is one efficient matrix product, where
    X @ Wᵀ with two or four columns is not (about ten times slower here)."""
    h = x_rows
    hidden = []
    for i, act in enumerate(activations):
        z = torch.addmm(params[2 * i + 1][:, None], params[2 * i], h)
        if norm is not None:  # the running estimates, as everywhere outside training
            scale, shift = norm.scale_shift(i)
            z = z * scale[:, None] + shift[:, None]
        h = ACTIVATION_FUNCTIONS[act](z)
        hidden.append(h)
    n = len(activations)
    return torch.addmm(params[2 * n + 1][:, None], params[2 * n], h), hidden


def kernel_picture(trainer: Trainer, grid_size: int, neuron_grid: int) -> Picture | None:
    """The frame's picture in one kernel call without the GIL, already quantised; None where
    the kernel does not draw this net (torch does, or the picture has more than the output and
    the maps: classes, a 1-D curve), and `take_snapshot` is the way."""
    exp = trainer.experiment
    backend = trainer.backend
    if not isinstance(backend, FastBackend) or not backend.grid_in_kernel \
            or trainer.data.one_d or (exp.is_classification and exp.num_classes != 2):
        return None
    _, x_rows, _, features = _grid_cached(trainer, grid_size, neuron_grid)
    output, hidden = backend.draw_picture(x_rows.numpy(), grid_size, neuron_grid,
                                          0 if exp.is_classification else 1)
    weights, biases = backend.weights_and_biases()
    return Picture(output, np.concatenate([features, hidden]), weights, biases)


@torch.no_grad()
def take_snapshot(trainer: Trainer, grid_size: int, neuron_grid: int) -> Snapshot:
    exp = trainer.experiment
    params = trainer.parameters()
    x_rows, feature_maps = grid_inputs(trainer, grid_size, neuron_grid)
    classes = confidence = None
    kind = 1 if not exp.is_classification else 0 if exp.num_classes == 2 else 2
    backend = trainer.backend
    if isinstance(backend, FastBackend) and backend.grid_in_kernel:  # C, without the GIL
        drawn, pooled = backend.draw_grid(x_rows.numpy(), grid_size, neuron_grid, kind)
        out = torch.from_numpy(drawn) if kind != 2 else None
        scores = torch.from_numpy(drawn) if kind == 2 else None
        neuron_maps = torch.from_numpy(pooled) if len(pooled) else None
    else:
        scores, hidden = _grid_forward(params, trainer.arch.activations, x_rows, trainer.norm)
        if kind == 1:
            out = scores[0].clamp(-1, 1)
        elif kind == 0:
            # softmax(s)[1] == sigmoid(s₁ − s₀); the sigmoid is several times cheaper on a grid.
            out = torch.sigmoid(scores[1] - scores[0]) * 2 - 1
        else:
            out = None
        neuron_maps = _pool(torch.cat(hidden), grid_size, neuron_grid) if hidden else None
    if kind == 2:
        assert scores is not None
        probs = torch.softmax(scores, dim=0)
        conf, cls = probs.max(dim=0)
        classes = cls.to(torch.uint8).reshape(grid_size, grid_size).numpy()
        confidence = conf.reshape(grid_size, grid_size).numpy()
    output = None
    if out is not None:
        output = torch.nan_to_num(out).reshape(grid_size, grid_size).numpy()

    # Neurons show their value on the shared [−1, 1] colour scale, as TF Playground does.
    if neuron_maps is not None:
        neuron_maps = torch.nan_to_num(neuron_maps).clamp(-1, 1)
        neurons = torch.cat([feature_maps, neuron_maps]).numpy()
    else:
        neurons = feature_maps.numpy()

    curve = None
    if trainer.data.one_d:
        xs = np.linspace(*DOMAIN, CURVE_POINTS)
        line = np.stack([xs, np.zeros_like(xs)], axis=1)
        lx = torch.from_numpy(trainer.preprocess(feature_matrix(line, exp.features)).astype(np.float32))
        pred = forward(params, trainer.arch.activations, lx, normalize=_inferred(trainer))[:, 0].numpy()
        curve = np.stack([xs, pred], axis=1).astype(np.float32)

    return Snapshot(
        output=output,
        classes=classes,
        confidence=confidence,
        neurons=neurons.astype(np.float32),
        weights=[p.numpy().copy() for p in params[0::2]],
        biases=[p.numpy().copy() for p in params[1::2]],
        curve=curve,
    )
