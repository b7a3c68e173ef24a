"""Many runs of one architecture trained together as one tensor program.

A group stacks the parameters of R runs into one [R, P] tensor (each row in the fast path's
flat layout: W[out][in] then b[out], layer by layer) and steps them all with a handful of
batched kernels per minibatch: `baddbmm` forward, autograd backward, the optimizer's update as
elementwise tensor arithmetic. The time of a step then hardly depends on R until the device is
full, which is what a GPU wants: one launch sequence for thousands of tiny models instead of
thousands of launch sequences.

What the runs must share (their `signature`): layer sizes and activations, loss, optimizer,
batch size and the sizes of the train and test sets. Everything else is per run: its data, its
seed (initial weights, shuffles and dropout draws from its own streams, exactly as a `Trainer`
draws them), learning rate, momentum, penalty kind and λ, dropout rate. Each run follows the
semantics of the reference path; numbers agree with it to float rounding (tests), not bit for
bit.

Training is lockstep: every run trains the same epochs (the shape of a comparison or a sweep).
A run whose loss stops being finite stops there (its trainer's `diverged_at` is set) while the
others go on. Live sessions, which play, pause and change at their own pace, train in the rows
of a pool instead (`pool.py`), which shares this module's arithmetic (`BatchedRows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import torch
import torch.nn.functional as F

from .network import ACTIVATION_FUNCTIONS, l1_zeros
from .trainer import Trainer

# torch.optim's defaults, as the reference path and the C kernel use them.
ADAGRAD_EPS = 1e-10
ADADELTA_RHO, ADADELTA_EPS = 0.9, 1e-6
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def signature(trainer: Trainer) -> dict[str, object]:
    """What runs trained in one group must share (see the module docstring)."""
    exp = trainer.experiment
    return {
        "layer sizes": trainer.arch.sizes,
        "activations": trainer.arch.activations,
        "loss": exp.loss_name,
        "optimizer": exp.optimizer,
        "batch size": exp.batchSize,
        "training set size": len(trainer.y_train),
    }


def mean_loss(name: str, scores: torch.Tensor, target: torch.Tensor,
              valid: torch.Tensor | None = None) -> torch.Tensor:
    """Each run's mean loss over its minibatch, [R], from scores [R, B, C] and targets [R, B];
    `valid` [R, B] marks the samples that count (the others are padding). Reduced in the
    reference path's order (`network.data_loss`), so both overflow at the same step."""
    per_sample = _per_sample_loss(name, scores, target)
    if valid is None:
        mean = per_sample.mean(dim=1)
    else:
        mean = torch.where(valid, per_sample, 0.0).sum(dim=1) / valid.sum(dim=1).clamp_min(1)
    return 0.5 * mean if name == "mse" else mean


def _per_sample_loss(name: str, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each sample's loss, [R, B] (for mse without its ½, applied after the mean)."""
    if name == "softmax":
        r, b, c = scores.shape
        return F.cross_entropy(scores.reshape(r * b, c), target.reshape(r * b),
                               reduction="none").view(r, b)
    if name == "hinge":
        correct = scores.gather(2, target[..., None])
        margins = (scores - correct + 1.0).clamp_min(0.0)
        return margins.sum(dim=2) - 1.0
    out = scores[..., 0]
    if name == "mse":
        return (out - target) ** 2
    if name == "mae":
        return (out - target).abs()
    if name == "huber":
        return F.huber_loss(out, target, delta=1.0, reduction="none")
    raise ValueError(f"unknown loss {name!r}")


def weight_mask(sizes: Sequence[int], device: torch.device) -> torch.Tensor:
    """1 where the flat layout holds a weight, 0 where it holds a bias (penalties skip biases)."""
    total = sum((n_in + 1) * n_out for n_in, n_out in pairwise(sizes))
    mask = torch.zeros(total, device=device)
    offset = 0
    for n_in, n_out in pairwise(sizes):
        mask[offset : offset + n_in * n_out] = 1.0
        offset += (n_in + 1) * n_out
    return mask


def penalty(weights: torch.Tensor, l1: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
    """Each run's penalty, [R], on its weights [R, P] (biases masked to 0): λΣ|w| or ½λΣw².
    A run without a penalty adds exactly 0, as on the reference path, even where Σw² is inf."""
    l1, l2 = l1[:, 0], l2[:, 0]
    return (torch.where(l1 != 0, l1 * weights.abs().sum(dim=1), 0.0)
            + torch.where(l2 != 0, 0.5 * l2 * (weights * weights).sum(dim=1), 0.0))


def layer_views(sizes: Sequence[int], flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(W [R, out, in], b [R, out]) per layer, as views of the flat rows [R, P]."""
    r = flat.shape[0]
    layers, offset = [], 0
    for n_in, n_out in pairwise(sizes):
        w = flat[:, offset : offset + n_in * n_out].view(r, n_out, n_in)
        offset += n_in * n_out
        layers.append((w, flat[:, offset : offset + n_out]))
        offset += n_out
    return layers


class BatchedRows:
    """What a group and a pool share: one row of `params` per run, every row's minibatch loss
    in one forward pass, and torch.optim's update rules as elementwise tensor arithmetic.

    A subclass keeps `params`, `s1`, `s2` ([R, P] state), `steps` ([R, 1] int64), `lr` and
    `momentum` ([R, 1] float64), `l1` and `l2` ([R, 1] float32), `weight_mask` [P], and the
    architecture's `sizes`, `activations`, `loss_name` and `optimizer`, all on one device.
    """

    sizes: Sequence[int]
    activations: Sequence[str]
    loss_name: str
    weight_mask: torch.Tensor
    l1: torch.Tensor
    l2: torch.Tensor
    params: torch.Tensor
    s1: torch.Tensor
    s2: torch.Tensor
    steps: torch.Tensor
    lr: torch.Tensor
    momentum: torch.Tensor
    optimizer: str

    def _losses(self, x: torch.Tensor, target: torch.Tensor,
                masks: Sequence[torch.Tensor] | None, valid: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(params as an autograd leaf, each run's loss [R]) for inputs x [R, B, F]."""
        flat = self.params.detach().requires_grad_(True)
        layers = layer_views(self.sizes, flat)
        h = x
        for i, (w, b) in enumerate(layers):
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
            if i < len(layers) - 1:
                h = ACTIVATION_FUNCTIONS[self.activations[i]](h)
                if masks is not None:
                    h = h * masks[i]
        loss = mean_loss(self.loss_name, h, target, valid)
        return flat, loss + penalty(flat * self.weight_mask, self.l1, self.l2)

    def _update(self, g: torch.Tensor, live: torch.Tensor) -> None:
        """One torch.optim step per run (rows where `live` is False keep their values), then
        L1's exact zeros on the weights of L1 runs (`network.l1_zeros`)."""
        has_l1 = bool((self.l1 > 0).any())
        before = self.params.clone() if has_l1 else None
        self._optimizer_step(g, live)
        if before is not None:
            zero = l1_zeros(before, self.params, g, self.l1)
            zero &= (self.weight_mask > 0) & (self.l1 > 0) & live
            self.params.masked_fill_(zero, 0.0)

    def _optimizer_step(self, g: torch.Tensor, live: torch.Tensor) -> None:
        p, s1, s2, name = self.params, self.s1, self.s2, self.optimizer
        lr = self.lr.float()
        if name in ("momentum", "nesterov"):
            mom = self.momentum.float()
            has_buffer = self.momentum != 0  # torch keeps no buffer at momentum 0: plain SGD
            buf = torch.where(self.steps == 0, g, s1 * mom + g)
            d = g + mom * buf if name == "nesterov" else buf
            d = torch.where(has_buffer, d, g)
            s1.copy_(torch.where(live & has_buffer, buf, s1))
            self.steps += (live & has_buffer).long()
            p.copy_(torch.where(live, p - lr * d, p))
            return
        if name == "sgd":
            p.copy_(torch.where(live, p - lr * g, p))
            return
        self.steps += live.long()
        if name == "adagrad":
            new1 = s1 + g * g
            new_p = p - (lr * g) / (new1.sqrt() + ADAGRAD_EPS)
        elif name == "adadelta":
            new1 = s1 * ADADELTA_RHO + ((1 - ADADELTA_RHO) * g) * g
            delta = (s2 + ADADELTA_EPS).sqrt() / (new1 + ADADELTA_EPS).sqrt() * g
            s2.copy_(torch.where(live, s2 * ADADELTA_RHO + ((1 - ADADELTA_RHO) * delta) * delta, s2))
            new_p = p - lr * delta
        elif name == "rmsprop":
            new1 = s1 * RMSPROP_ALPHA + ((1 - RMSPROP_ALPHA) * g) * g
            new_p = p - (lr * g) / (new1.sqrt() + RMSPROP_EPS)
        elif name == "adam":
            t = self.steps.double()
            step_size = (self.lr / (1 - ADAM_BETA1**t)).float()
            bc2_sqrt = (1 - ADAM_BETA2**t).sqrt().float()
            new1 = s1 + (1 - ADAM_BETA1) * (g - s1)
            new2 = s2 * ADAM_BETA2 + ((1 - ADAM_BETA2) * g) * g
            s2.copy_(torch.where(live, new2, s2))
            new_p = p - (step_size * new1) / (new2.sqrt() / bc2_sqrt + ADAM_EPS)
        else:
            raise ValueError(f"unknown optimizer {name!r}")
        s1.copy_(torch.where(live, new1, s1))
        p.copy_(torch.where(live, new_p, p))


class TrainGroup(BatchedRows):
    """The runs of `trainers` (fresh or equally far along) trained as one program on `device`.

    The trainers stay the runs' owners: after every call their parameters, epoch and
    divergence are written back, so `metrics()` and `snapshot()` work as usual.
    """

    def __init__(self, trainers: Sequence[Trainer], device: str | torch.device = "cpu"):
        if not trainers:
            raise ValueError("a group needs at least one run")
        first = signature(trainers[0])
        for i, t in enumerate(trainers[1:], start=2):
            for key, value in signature(t).items():
                if value != first[key]:
                    raise ValueError(f"run {i} differs from run 1 in its {key} ({value} vs "
                                     f"{first[key]}): runs of one group must share it")
        if len({t.epoch for t in trainers}) > 1 or not all(t.at_epoch_start for t in trainers):
            raise ValueError("the runs of a group must all stand at the start of the same epoch")
        self.trainers = list(trainers)
        self.device = torch.device(device)
        exp = trainers[0].experiment
        self.sizes = trainers[0].arch.sizes
        self.activations = trainers[0].arch.activations
        self.loss_name = exp.loss_name
        self.optimizer = exp.optimizer
        self.batch = exp.batchSize
        dev = self.device

        def stack(arrays: Sequence[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
            return torch.from_numpy(np.stack(arrays)).to(dev, dtype)

        self.x = stack([t.x_train.numpy() for t in trainers], torch.float32)  # [R, N, F]
        label = torch.int64 if exp.is_classification else torch.float32
        self.y = stack([t.y_train.numpy() for t in trainers], label)  # [R, N]
        flats = [np.concatenate([p.numpy().ravel() for p in t.parameters()]) for t in trainers]
        self.params = stack(flats, torch.float32)  # [R, P]
        self.s1 = torch.zeros_like(self.params)
        self.s2 = torch.zeros_like(self.params)
        self.steps = torch.zeros(len(trainers), 1, dtype=torch.int64, device=dev)
        self.weight_mask = weight_mask(self.sizes, dev)
        self.alive = torch.ones(len(trainers), 1, dtype=torch.bool, device=dev)
        self.runs = torch.arange(len(trainers), device=dev)[:, None]  # row index for gathers
        # Epochs and updates done since the trainers last took their state (see `sync`).
        self.epochs = torch.zeros_like(self.steps)
        self.updates = torch.zeros_like(self.steps)
        self.configure()

    def __len__(self) -> int:
        return len(self.trainers)

    def configure(self) -> None:
        """Read each run's live settings (learning rate, momentum, λ, dropout) again."""
        exps = [t.experiment for t in self.trainers]

        def column(values: Sequence[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=self.device)[:, None]

        self.lr = column([e.learningRate for e in exps])
        self.momentum = column([e.momentum for e in exps])
        # Penalty rates in float32, as torch multiplies a float32 sum by a Python float.
        self.l1 = column([e.regularizationRate * (e.regularization == "L1") for e in exps]).float()
        self.l2 = column([e.regularizationRate * (e.regularization == "L2") for e in exps]).float()
        self.dropout = [e.dropout for e in exps]

    # --- training --------------------------------------------------------------------------
    def train_epochs(self, n: int = 1) -> None:
        """Every live run trains `n` more epochs; then each trainer takes its new state."""
        for _ in range(n):
            alive = self.alive[:, 0].cpu().numpy()
            if not alive.any():
                break
            self._epoch(alive)
        self.sync()

    def _epoch(self, alive: np.ndarray) -> None:
        n_train = self.x.shape[1]
        # Each run's own shuffle of this epoch, from its own stream: [R, N].
        perms = np.stack([t.shuffle_rng.permutation(n_train) for t in self.trainers])
        order = torch.from_numpy(perms).to(self.device)
        widths = self.sizes[1:-1]
        masks = self._masks(n_train, widths, alive)
        for s in range(0, n_train, self.batch):
            rows = order[:, s : s + self.batch]
            step_masks = None
            if masks is not None:
                b, col = rows.shape[1], s * sum(widths)
                step_masks = []
                for w in widths:
                    step_masks.append(masks[:, col : col + b * w].reshape(-1, b, w))
                    col += b * w
            self._step(rows, step_masks)
        self.epochs += self.alive.long()

    def _masks(self, n_train: int, widths: Sequence[int], alive: np.ndarray) -> torch.Tensor | None:
        """Inverted-dropout factors for the epoch, drawn as `Trainer` draws them: per run, one
        flat stream of (rows × all hidden widths), in batch order, layer after layer."""
        if not widths or not any(p > 0 for p in self.dropout):
            return None
        total = n_train * sum(widths)
        out = np.ones((len(self.trainers), total), np.float32)
        for r, (t, p) in enumerate(zip(self.trainers, self.dropout)):
            if p > 0 and alive[r]:
                uniform = t.dropout_rng.random(total)
                out[r] = (uniform >= p) / (1.0 - p)
        return torch.from_numpy(out).to(self.device)

    def _step(self, rows: torch.Tensor, masks: list[torch.Tensor] | None) -> None:
        """One minibatch for every live run; a run whose loss is not finite stops before it."""
        flat, loss = self._losses(self.x[self.runs, rows], self.y[self.runs, rows], masks)
        finite = torch.isfinite(loss)
        (grad,) = torch.autograd.grad(torch.where(finite, loss, 0.0).sum(), flat)
        self.alive &= finite[:, None]
        self.updates += self.alive.long()
        with torch.no_grad():
            self._update(grad, self.alive)

    def sync(self) -> None:
        """Each trainer takes its run's parameters, epoch, updates and divergence. Optimizer
        state stays in the group: runs trained by a group go on training through it."""
        params = self.params.cpu().numpy()
        epochs = self.epochs[:, 0].cpu().numpy()
        updates = self.updates[:, 0].cpu().numpy()
        alive = self.alive[:, 0].cpu().numpy()
        for r, t in enumerate(self.trainers):
            if t.diverged_at is not None:
                continue
            t.load_parameters(params[r])
            t.epoch += int(epochs[r])
            t.steps += int(updates[r])
            if not alive[r]:
                t.diverged_at = t.epoch
        self.epochs.zero_()
        self.updates.zero_()
