"""TF Playground's network and training, in float64, in TF's order of operations.

TF trains one example at a time (forward, backward, gradients added to per-link sums) and
updates every `batchSize`-th example of the epoch. The weights do not change inside a batch, so
a batch is computed here as arrays over its examples; every sum is still taken one term at a
time in TF's order (bias first, then inputs in order; examples in order), so the numbers are
TF's to the last bit up to the rounding of tanh/sin/exp in the C library.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..experiment import ConfigError
from . import fast
from .arc4 import SeedRandom
from .data import GENERATORS, Point, make_data

# TF Playground's inputs, in its order (cosX/cosY exist in its links but never in its network).
FEATURE_FNS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x": lambda x, y: x,
    "y": lambda x, y: y,
    "xSquared": lambda x, y: x * x,
    "ySquared": lambda x, y: y * y,
    "xTimesY": lambda x, y: x * y,
    "sinX": lambda x, y: np.sin(x),
    "sinY": lambda x, y: np.sin(y),
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def _act(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output and derivative w.r.t. the total input, as TF's ActivationFunction computes them."""
    if name == "tanh":
        a = np.tanh(z)
        return a, 1 - a * a
    if name == "relu":
        return np.maximum(0.0, z), np.where(z <= 0, 0.0, 1.0)
    if name == "sigmoid":
        a = 1 / (1 + np.exp(-z))
        return a, a * (1 - a)
    return z, np.ones_like(z)


@dataclass(frozen=True)
class TfConfig:
    """The part of a link TF Playground reads."""

    seed: str
    regression: bool
    dataset: str
    noise: float
    perc_train: float
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    activation: str
    init_zero: bool
    learning_rate: float
    batch_size: int
    regularization: str  # none, L1, L2
    reg_rate: float

    @classmethod
    def from_experiment(cls, exp, hidden: frozenset[str] = frozenset()) -> TfConfig:
        """TF's reading of an experiment; a feature hidden with `_hide` is not an input."""
        regression = exp["problem"] == "regression"
        dataset = exp["regDataset"] if regression else exp["dataset"]
        if dataset not in GENERATORS:
            key = "regDataset" if regression else "dataset"
            raise ConfigError(key, f"{dataset!r} is not a TensorFlow Playground dataset "
                                   f"(TF mode has {', '.join(GENERATORS)})")
        if exp["activation"] not in ACTIVATIONS:
            raise ConfigError("activation", f"{exp['activation']!r} is not a TensorFlow "
                                            f"Playground activation ({', '.join(ACTIVATIONS)})")
        inputs = tuple(f for f in FEATURE_FNS if exp[f] and f not in hidden)
        return cls(
            seed=str(exp["seed"]), regression=regression, dataset=dataset,
            noise=float(exp["noise"]), perc_train=float(exp["percTrainData"]), inputs=inputs,
            shape=tuple(int(n) for n in exp["networkShape"]), activation=exp["activation"],
            init_zero=bool(exp["initZero"]), learning_rate=float(exp["learningRate"]),
            batch_size=int(exp["batchSize"]), regularization=exp["regularization"],
            reg_rate=float(exp["regularizationRate"]),
        )


def _features(names: tuple[str, ...], pts: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(pts, dtype=np.float64).reshape(-1, 3)
    x, y = arr[:, 0], arr[:, 1]
    cols = [FEATURE_FNS[n](x, y) for n in names]
    feats = np.stack(cols, axis=1) if cols else np.zeros((len(arr), 0))
    return np.ascontiguousarray(feats), arr[:, 2].copy()


class TfRun:
    """One TF Playground experiment: its data, its network and its training loop."""

    def __init__(self, cfg: TfConfig, *, use_kernel: bool | None = None) -> None:
        """`use_kernel`: None takes the C kernel when it builds here; False forces numpy."""
        self.cfg = cfg
        rnd = SeedRandom(cfg.seed)
        self.train_points, self.test_points = make_data(
            rnd, cfg.dataset, cfg.regression, cfg.noise, cfg.perc_train)
        self.train_x, self.train_y = _features(cfg.inputs, self.train_points)
        self.test_x, self.test_y = _features(cfg.inputs, self.test_points)
        sizes = [len(cfg.inputs), *cfg.shape, 1]
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        # buildNetwork: node by node, each node's incoming links in order; every link draws
        # its weight even when initZero then sets it to 0.
        for n_in, n_out in itertools.pairwise(sizes):
            w = np.array([[rnd() - 0.5 for _ in range(n_in)] for _ in range(n_out)],
                         dtype=np.float64).reshape(n_out, n_in)
            if cfg.init_zero:
                w[:] = 0.0
            self.weights.append(w)
            self.biases.append(np.full(n_out, 0.0 if cfg.init_zero else 0.1))
        self.dead = [np.zeros(w.shape, dtype=bool) for w in self.weights]
        # Gradient sums carried across batches (and across epochs after a partial batch).
        self.acc_w = [np.zeros_like(w) for w in self.weights]
        self.acc_b = [np.zeros_like(b) for b in self.biases]
        self.num_acc = 0
        self.epoch = 0
        self._flat: fast.FlatNet | None = None
        lib = fast.kernel() if use_kernel is not False else None
        if use_kernel and lib is None:
            raise RuntimeError("the TF mode kernel cannot be built on this machine")
        if lib is not None and fast.fits(sizes):
            self._flat = fast.FlatNet(lib, sizes, self.weights, self.biases, cfg.activation,
                                      cfg.regression, cfg.regularization, cfg.batch_size,
                                      cfg.learning_rate, cfg.reg_rate)
            self.weights, self.biases, self.dead = self._flat.views()
        self.loss_train = self.loss(self.train_x, self.train_y)
        self.loss_test = self.loss(self.test_x, self.test_y)

    def _activation(self, layer: int) -> str:
        if layer < len(self.weights) - 1:
            return self.cfg.activation
        return "linear" if self.cfg.regression else "tanh"

    def _forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Outputs of every layer and activation derivatives, for a batch of examples."""
        outs, ders = [x], []
        a = x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = np.broadcast_to(b, (len(a), len(b))).copy()
            for j in range(w.shape[1]):  # bias first, then each input in order, as TF sums
                z += w[:, j] * a[:, j : j + 1]
            a, d = _act(self._activation(layer), z)
            outs.append(a)
            ders.append(d)
        return outs, ders

    @property
    def path(self) -> str:
        """Which implementation trains: "kernel" (C) or "numpy"; the numbers are the same."""
        return "kernel" if self._flat is not None else "numpy"

    def output(self, x: np.ndarray) -> np.ndarray:
        if self._flat is not None:
            return self._flat.predict(x)
        return self._forward(x)[0][-1][:, 0]

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """TF's getLoss: the mean of ½(output − label)², summed point by point."""
        if self._flat is not None:
            return self._flat.loss(x, t)
        if len(t) == 0:
            return float("nan")
        err = 0.5 * (self.output(x) - t) ** 2
        return float(np.cumsum(err)[-1] / len(t))

    def _accumulate(self, x: np.ndarray, t: np.ndarray) -> None:
        outs, ders = self._forward(x)
        out_der = outs[-1] - t[:, None]  # the square error's derivative
        for layer in range(len(self.weights) - 1, -1, -1):
            delta = out_der * ders[layer]  # dE/d(total input), per example and node
            grads = delta[:, :, None] * outs[layer][:, None, :]
            # Example by example, starting from what earlier examples left in the sums.
            self.acc_b[layer] = np.cumsum(
                np.concatenate([self.acc_b[layer][None], delta]), axis=0)[-1]
            self.acc_w[layer] = np.cumsum(
                np.concatenate([self.acc_w[layer][None], grads]), axis=0)[-1]
            if layer:
                w = self.weights[layer]
                out_der = np.zeros((len(x), w.shape[1]))
                for k in range(w.shape[0]):  # each output link in order
                    out_der = out_der + w[k] * delta[:, k : k + 1]
        self.num_acc += len(x)

    def _update(self) -> None:
        lr, n = self.cfg.learning_rate, self.num_acc
        step = lr * self.cfg.reg_rate
        for layer, w in enumerate(self.weights):
            self.biases[layer] = self.biases[layer] - lr * self.acc_b[layer] / n
            live = ~self.dead[layer]
            if self.cfg.regularization == "L1":
                reg_der = np.sign(w)
            elif self.cfg.regularization == "L2":
                reg_der = w.copy()
            else:
                reg_der = np.zeros_like(w)
            moved = w - (lr / n) * self.acc_w[layer]
            new = moved - step * reg_der
            if self.cfg.regularization == "L1":
                # A weight that the penalty pushes across zero is set to 0 and never trained again.
                crossed = live & (moved * new < 0)
                new = np.where(crossed, 0.0, new)
                self.dead[layer] |= crossed
            self.weights[layer] = np.where(live, new, w)
            self.acc_b[layer][:] = 0.0
            self.acc_w[layer][:] = 0.0
        self.num_acc = 0

    def train_epoch(self) -> None:
        """TF's oneStep: every training example in its fixed order, updating every batchSize."""
        self.train_epochs(1)

    def train_epochs(self, epochs: int) -> None:
        """`epochs` of TF's oneStep, then the losses (the kernel runs them in one call)."""
        bs, n = self.cfg.batch_size, len(self.train_y)
        if self._flat is not None:
            self._flat.train(self.train_x, self.train_y, epochs)
        else:
            for _ in range(epochs):
                for start in range(0, n, bs):
                    end = min(start + bs, n)
                    self._accumulate(self.train_x[start:end], self.train_y[start:end])
                    if end % bs == 0:  # TF updates after example i when (i + 1) % batchSize == 0
                        self._update()
        self.epoch += epochs
        self.loss_train = self.loss(self.train_x, self.train_y)
        self.loss_test = self.loss(self.test_x, self.test_y)

    def set_rates(self, learning_rate: float, reg_rate: float) -> None:
        """New learning and regularization rates from the next update on, as TF reads its
        sliders at every update; the weights and the sums of a batch under way are kept."""
        self.cfg = dataclasses.replace(self.cfg, learning_rate=learning_rate, reg_rate=reg_rate)
        if self._flat is not None:
            self._flat.set_rates(learning_rate, reg_rate)

    def dead_count(self) -> int:
        return int(sum(int(d.sum()) for d in self.dead))

    def flat_weights(self) -> tuple[list[float], list[float]]:
        """Weights and biases in TF's order: node by node, each node's incoming links."""
        return ([float(v) for w in self.weights for v in w.ravel()],
                [float(v) for b in self.biases for v in b])

    def metrics(self) -> dict:
        """One epoch's numbers; a diverged loss is reported as TF shows it (inf or nan → None)."""
        def clean(v: float) -> float | None:
            return v if math.isfinite(v) else None
        out = {"epoch": self.epoch, "train_loss": clean(self.loss_train),
               "test_loss": clean(self.loss_test), "dead_weights": self.dead_count()}
        if not self.cfg.regression:
            out["train_acc"] = self._acc(self.train_x, self.train_y)
            out["test_acc"] = self._acc(self.test_x, self.test_y)
        return out

    def _acc(self, x: np.ndarray, t: np.ndarray) -> float:
        if len(t) == 0:
            return float("nan")
        return float(np.mean(np.where(self.output(x) >= 0, 1.0, -1.0) == t))
