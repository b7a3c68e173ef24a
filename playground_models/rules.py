"""The rules of training, written once for every engine of both labs.

The names and order of the optimizers, losses, activations, penalties and initialisations, the
optimizers' constants, the dropout draw and the flat parameter layout live here. The engines
read them: the reference path and the image lab build their `torch.optim` optimizers with
`torch_optimizer`, and the C kernel uses the constants (the kernel
through a header generated from this table, `c_header`, whose hash is part of the compiled
kernel's cache key), and the parameter table (`params.py`) offers these names.

A new optimizer is one `OptimizerRule` below plus its arithmetic in the C kernel
(`kernels/mlp.c`); `tests/test_rules.py` fails for every engine that lacks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported where an optimizer is built: the tables need only Python
    import torch


@dataclass(frozen=True)
class OptimizerRule:
    """One update rule: the `torch.optim` class that defines it and the constants it runs with
    (torch's defaults, passed explicitly so every engine reads the same numbers)."""

    name: str
    torch_class: str
    constants: dict[str, float] = field(default_factory=dict)
    momentum: bool = False  # takes the momentum slider
    nesterov: bool = False

    def torch_kwargs(self) -> dict[str, Any]:
        """The constants as the torch class's keyword arguments."""
        kw: dict[str, Any] = dict(self.constants)
        if "beta1" in kw:
            kw["betas"] = (kw.pop("beta1"), kw.pop("beta2"))
        return kw


OPTIMIZER_RULES: dict[str, OptimizerRule] = {
    rule.name: rule
    for rule in (
        OptimizerRule("sgd", "SGD"),
        OptimizerRule("momentum", "SGD", momentum=True),
        OptimizerRule("nesterov", "SGD", momentum=True, nesterov=True),
        OptimizerRule("adagrad", "Adagrad", {"eps": 1e-10}),
        OptimizerRule("adadelta", "Adadelta", {"rho": 0.9, "eps": 1e-6}),
        OptimizerRule("rmsprop", "RMSprop", {"alpha": 0.99, "eps": 1e-8}),
        OptimizerRule("adam", "Adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    )
}
OPTIMIZERS = tuple(OPTIMIZER_RULES)
MOMENTUM_OPTIMIZERS = tuple(n for n, r in OPTIMIZER_RULES.items() if r.momentum)

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leakyrelu", "elu", "gelu", "sine")
LEAKY_RELU_SLOPE = 0.01
# square: TF Playground's loss for classification, ½(tanh(s) − t)² with t = +1 for the true class
# and −1 for the others, averaged over the outputs (one output per class, as the other losses).
CLASSIFY_LOSSES = ("softmax", "hinge", "square")
REGRESS_LOSSES = ("mse", "mae", "huber")
LOSSES = CLASSIFY_LOSSES + REGRESS_LOSSES
HUBER_DELTA = 1.0
# Batch normalization of the hidden layers, as torch.nn.BatchNorm1d's defaults.
BATCH_NORM_MOMENTUM = 0.1
BATCH_NORM_EPS = 1e-5
REGULARIZATIONS = ("none", "L1", "L2")
# Learning-rate schedules, stepped once per epoch as torch.optim.lr_scheduler steps them
# (`schedules.py` has the formulas; every engine trains at the rate they give).
SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup-cosine")
WARMUP_START_FACTOR = 0.1  # warm-up climbs linearly from 10 % of the learning rate
INITS = ("tf", "small", "xavier", "he")


def constant(optimizer: str, name: str) -> float:
    """One optimizer constant, e.g. `constant("adadelta", "rho")`."""
    return OPTIMIZER_RULES[optimizer].constants[name]


def torch_optimizer(
    name: str, params: Iterable[Any], lr: float, momentum: float = 0.0, **options: Any
) -> torch.optim.Optimizer:
    """`torch.optim` as netplay's optimizer `name` means it; `params` may be parameter groups,
    `options` are torch's speed switches (`foreach`, `fused`)."""
    import torch

    rule = OPTIMIZER_RULES.get(name)
    if rule is None:
        raise ValueError(f"optimizer: unknown optimizer {name!r}")
    cls: Any = getattr(torch.optim, rule.torch_class)
    if not rule.momentum:
        return cls(params, lr=lr, **rule.torch_kwargs(), **options)
    # torch refuses Nesterov at momentum 0 when constructing, yet steps fine with it (as plain
    # SGD), and the momentum slider reaches 0: build with a placeholder, then set it.
    opt = cls(params, lr=lr, momentum=momentum or 0.9, nesterov=rule.nesterov, **options)
    for group in opt.param_groups:
        group["momentum"] = momentum
    return opt


# --- dropout -----------------------------------------------------------------------------------
def dropout_factors(uniform: np.ndarray, p: float) -> np.ndarray:
    """Inverted-dropout factors from uniform draws: 0 where dropped, 1/(1−p) where kept."""
    return ((uniform >= p) / (1.0 - p)).astype(np.float32)


def dropout_masks(
    rng: np.random.Generator, batch: int, widths: Sequence[int], p: float
) -> list[np.ndarray]:
    """The masks of one step, [batch, width] per hidden layer, drawn layer by layer.

    Every 2-D engine draws exactly these numbers in this order (the C kernel as one flat draw
    of the same total), so they drop the same neurons.
    """
    return [dropout_factors(rng.random((batch, w)), p) for w in widths]


# --- the flat parameter layout -----------------------------------------------------------------
# One run's parameters are one flat array, layer by layer W[out][in] then b[out] (PyTorch's
# layout); `kernels/mlp.c` walks the same layout.
def dense_parameters(n_in: int, n_out: int) -> int:
    """Weights and biases of one dense layer."""
    return (n_in + 1) * n_out


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP with layer sizes (inputs, hidden..., outputs)."""
    return sum(dense_parameters(a, b) for a, b in pairwise(sizes))


def layer_offsets(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(offset of W, offset of b) of each layer in the flat array."""
    out, offset = [], 0
    for n_in, n_out in pairwise(sizes):
        out.append((offset, offset + n_in * n_out))
        offset += dense_parameters(n_in, n_out)
    return out


# --- the C kernel's header ---------------------------------------------------------------------
def _c_name(name: str) -> str:
    return "".join(c for c in name.upper() if c.isalnum())


def _c_enum(prefix: str, names: Sequence[str]) -> str:
    items = ", ".join(f"{prefix}_{_c_name(n)} = {i}" for i, n in enumerate(names))
    return f"enum {{ {items}, {prefix}_COUNT = {len(names)} }};"


def c_header() -> str:
    """`rules.h` for `kernels/mlp.c`: the enums in this module's order and every constant, as
    the exact doubles Python holds (repr round-trips)."""
    lines = [
        "/* Generated from playground_models/rules.py when the kernel is built: do not edit. */",
        _c_enum("ACT", ACTIVATIONS),
        _c_enum("LOSS", LOSSES),
        _c_enum("REG", REGULARIZATIONS),
        _c_enum("OPT", OPTIMIZERS),
    ]
    for rule in OPTIMIZER_RULES.values():
        for key, value in rule.constants.items():
            lines.append(f"static const double {_c_name(rule.name)}_{_c_name(key)} = {value!r};")
    lines.append(f"static const float LEAKY_RELU_SLOPE = {LEAKY_RELU_SLOPE!r}f;")
    lines.append(f"static const float HUBER_DELTA = {HUBER_DELTA!r}f;")
    return "\n".join(lines) + "\n"


def rules_hash() -> str:
    """Changes whenever the generated header does."""
    return hashlib.sha256(c_header().encode()).hexdigest()[:16]
