"""`LabTrainer`: data on the device, the conv net, its optimizer, steps and live changes.

Built for many small steps: the data sit on the device already resized and standardised, each
epoch is one permutation gather, batches are views, and loss/accuracy are summed as tensors so a
step never waits for a number to come back to Python. On the CPU activations are channels-last,
which the oneDNN convolutions run fastest on small nets (see docs/benchmarks-imagelab.md).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from playground_models.rng import stream, stream_seed
from playground_models.rules import MOMENTUM_OPTIMIZERS, torch_optimizer

from . import data as labdata
from .config import LabConfig
from .cost import NetCost, net_cost
from .layers import LayerInfo, NetSpec, analyze, fits, parse_net
from .network import SeededDropout, build_network
from .parts import Parts

EVAL_CHUNK = 64  # examples per piece of a frame's evaluation: a few ms on the presets


def pick_device() -> torch.device:
    """CUDA when the server has it, the CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_optimizer(
    name: str, net: nn.Module, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    """An optimizer over `net` with L2 decay on weights only: biases and norms are exempt, as in
    ConvNetJS, because shrinking a bias does not make the function any simpler. The update rules
    and their constants are the 2-D lab's (`rules.py`)."""
    decay = [p for p in net.parameters() if p.ndim > 1]
    rest = [p for p in net.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    # foreach kernels update every tensor of a group in one call: fewer per-step calls. The
    # fused Adam does the whole update in one pass per group: ~2.5× cheaper here.
    options: dict[str, Any] = {"fused": True} if name == "adam" else {"foreach": True}
    if graphable(name, net) and name in CAPTURABLE:
        options["capturable"] = True  # step counts on the device: no host sync in the step
    return torch_optimizer(name, groups, lr, momentum, **options)


# Optimizers whose step can be captured in a CUDA graph: SGD keeps no step count, these three
# keep it on the device when `capturable`; Adagrad's step count lives on the host.
GRAPH_OPTIMIZERS = frozenset({"sgd", "momentum", "nesterov", "adam", "adadelta", "rmsprop"})
CAPTURABLE = frozenset({"adam", "adadelta", "rmsprop"})  # torch's classes with `capturable`
GRAPH_WARMUP = 3  # eager steps on a side stream before a capture, as torch.cuda.graphs asks
# One warm-up or capture at a time in the process: sessions train on several worker threads,
# torch captures every graph on one shared stream, and a capture's start (a device-wide sync
# and cache release) must not meet another capture or a warm-up on that stream.
_CAPTURE_LOCK = threading.Lock()


def graphable(optimizer: str, net: nn.Module) -> bool:
    """Whether `net`'s training step with `optimizer` can run as one CUDA graph: on CUDA, and
    with no seeded dropout (its generator is not one a graph can advance)."""
    on_cuda = any(p.is_cuda for p in net.parameters())
    dropout = any(isinstance(m, SeededDropout) for m in net.modules())
    return on_cuda and optimizer in GRAPH_OPTIMIZERS and not dropout


EVAL_FLOOR_VALUES = 4 * 1024 * 1024  # 16 MB of float32: small nets evaluate in big chunks


def eval_chunk(cost: NetCost, batch_size: int) -> int:
    """Examples per no-grad pass: as many as fit in a training step's activation memory
    (at least 16 MB' worth, at most 1024), so evaluating never needs more than training."""
    budget = max(cost.train_values * batch_size, EVAL_FLOOR_VALUES)
    return max(1, min(1024, budget // max(cost.eval_values, 1)))


@torch.no_grad()
def forward_chunks(net: nn.Module, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """`net(x)` in eval mode, `chunk` examples at a time."""
    net.eval()
    return torch.cat([net(x[i : i + chunk]) for i in range(0, len(x), chunk)])


SHIFT = 2  # pixels an augmented image moves at most, each way


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image of a batch [B, C, H, W] shifted by -2..2 pixels each way and mirrored left to
    right with probability 1/2, as ConvNetJS's CIFAR-10 demo does. What moves in from outside is
    0: the data's mean, since the inputs are standardised."""
    b, _, h, w = x.shape
    dy, dx = (torch.randint(-SHIFT, SHIFT + 1, (2, b), generator=gen)).to(x.device)
    flip = (torch.rand(b, generator=gen) < 0.5).to(x.device)
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT))
    rows = (torch.arange(h, device=x.device) + SHIFT + dy[:, None])  # [B, H]
    cols = torch.arange(w, device=x.device).expand(b, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + SHIFT + dx[:, None]  # [B, W]
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return out.permute(0, 3, 1, 2)  # channels-last in memory, as the CPU's batches are


@dataclass
class Metrics:
    loss: float | None
    acc: float | None

    def to_json(self) -> dict[str, Any]:
        return {"loss": self.loss, "acc": self.acc}


class LabTrainer:
    """One image-lab experiment: data, network, optimizer. Not thread-safe: one owner thread."""

    def __init__(
        self, config: LabConfig, device: torch.device | None = None, cuda_graphs: bool = True
    ):
        self.config = config
        self.cuda_graphs = cuda_graphs
        self.device = device or pick_device()
        self.spec: NetSpec = parse_net(config.net)
        self.data = labdata.load(config.data, stream(config.seed, "data"), config.samples)
        self.infos: list[LayerInfo] = analyze(self.spec, self.data.shape)
        if not fits(self.infos):
            bad = next(i for i in self.infos if i.error)
            raise ValueError(f"net: layer {bad.index} ({bad.token}): {bad.error}")
        self.input_shape = self.infos[0].output_shape
        self.cost: NetCost = net_cost(self.spec, self.infos)
        self.channels_last = self.device.type == "cpu"
        train = labdata.to_input(self.data.train.images, self.input_shape)
        self.mean = float(train.mean())
        self.std = float(train.std()) or 1.0
        self.x = {
            "train": self._place(train),
            "val": self._place(labdata.to_input(self.data.val.images, self.input_shape)),
            "test": self._place(labdata.to_input(self.data.test.images, self.input_shape)),
        }
        self.y = {
            name: torch.as_tensor(split.labels, device=self.device)
            for name, split in (
                ("train", self.data.train),
                ("val", self.data.val),
                ("test", self.data.test),
            )
        }
        init_gen = torch.Generator().manual_seed(stream_seed(config.seed, "init") % 2**63)
        self.dropout_gen = torch.Generator(self.device)
        self.dropout_gen.manual_seed(stream_seed(config.seed, "dropout") % 2**63)
        self.shuffle_gen = torch.Generator().manual_seed(
            stream_seed(config.seed, "shuffle") % 2**63
        )
        self.augment_gen = torch.Generator().manual_seed(stream_seed(config.seed, "augment") % 2**63)
        self.net = build_network(self.spec, self.infos, init_gen, self.dropout_gen).to(self.device)
        if self.channels_last:
            # torch's stubs omit Module.to's memory_format keyword, which it accepts.
            self.net = self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.initial_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.optimizer = self._optimizer()
        self.steps = 0
        self.examples = 0
        self.epoch = 0
        self._follow_schedule()
        self.diverged = False
        self._order: torch.Tensor | None = None
        self._epoch_x: torch.Tensor | None = None
        self._epoch_y: torch.Tensor | None = None
        self._pos = 0
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), device=self.device, dtype=torch.long)
        self._seen = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_key: tuple[Any, ...] | None = None
        self._graph_x: torch.Tensor | None = None
        self._graph_y: torch.Tensor | None = None
        self._warm = 0  # eager steps taken under the current graph key

    def _place(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x - self.mean) / self.std).to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] shaped like the input, standardised and placed like the data."""
        return self._place(x)

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        return make_optimizer(c.optimizer, self.net, c.learningRate, c.momentum, c.weightDecay)

    @property
    def n_train(self) -> int:
        return len(self.y["train"])

    def update(self, config: LabConfig) -> None:
        """Apply live changes (learning rate, momentum, batch size, weight decay, optimizer).

        The weights are kept. A new optimizer starts with fresh state (no momentum carried
        over), since each optimizer keeps different statistics.
        """
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self._drop_graph()
            self.optimizer = self._optimizer()
            self._follow_schedule()
            return
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate
            if "momentum" in group and config.optimizer in MOMENTUM_OPTIMIZERS:
                group["momentum"] = config.momentum
        # Only the first group (weights) decays; biases and norms stay exempt.
        self.optimizer.param_groups[0]["weight_decay"] = config.weightDecay

    @property
    def learning_rate(self) -> float:
        """The rate in force: the schedule's, at this epoch (one scheduler step per epoch)."""
        return self.config.lr_schedule.rate(self.config.learningRate, self.epoch)

    def _follow_schedule(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

    def reset(self) -> None:
        """Back to the exact initial weights of this seed; shuffling and dropout restart too."""
        self.net.load_state_dict(self.initial_state)
        self._drop_graph()
        self.optimizer = self._optimizer()
        self.shuffle_gen.manual_seed(stream_seed(self.config.seed, "shuffle") % 2**63)
        self.dropout_gen.manual_seed(stream_seed(self.config.seed, "dropout") % 2**63)
        self.augment_gen.manual_seed(stream_seed(self.config.seed, "augment") % 2**63)
        self.steps = self.examples = self.epoch = self._pos = self._seen = 0
        self._epoch_x = self._epoch_y = None
        self.diverged = False
        self._follow_schedule()
        self.take_train_metrics()

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._epoch_x is None or self._epoch_y is None or self._pos >= self.n_train:
            if self._epoch_x is not None:
                self.epoch += 1
                if self.config.schedule != "constant":
                    self._follow_schedule()
            order = torch.randperm(self.n_train, generator=self.shuffle_gen).to(self.device)
            self._epoch_x = self.x["train"].index_select(0, order)
            self._epoch_y = self.y["train"].index_select(0, order)
            self._pos = 0
        end = min(self._pos + self.config.batchSize, self.n_train)
        xb, yb = self._epoch_x[self._pos : end], self._epoch_y[self._pos : end]
        self._pos = end
        if self.config.augment == "on":
            xb = augment(xb, self.augment_gen)
        return xb, yb

    def step(self, n: int = 1) -> None:
        """`n` minibatch updates. Divergence (a non-finite loss) stops and sets `diverged`.

        On CUDA a full batch's step (forward, backward, update, the metric sums) is replayed as
        one CUDA graph: a small net's step is ~40 tiny kernels whose launches cost more than
        their work. The graph is captured after a few eager steps with the same settings and
        captured again after any change to them (a rate, the batch size, a new optimizer); a
        short last batch of an epoch runs eagerly. Same arithmetic, same numbers."""
        if self.diverged:
            return
        self.net.train()
        for _ in range(n):
            xb, yb = self._next_batch()
            if not self._replay(xb, yb):
                self._eager_step(xb, yb)
            self._seen += len(yb)
            self.steps += 1
            self.examples += len(yb)
        if not math.isfinite(float(self._loss_sum)):  # one sync per call, not per step
            self.diverged = True

    def _train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        out = self.net(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self._loss_sum += loss.detach() * len(yb)
            self._correct += (out.argmax(1) == yb).sum()

    def _eager_step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if not self._graphing(len(yb)):
            self._train_step(xb, yb)
            return
        with _CAPTURE_LOCK:
            side = torch.cuda.Stream(self.device)  # warm-up, as a capture needs
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                self._train_step(xb, yb)
            torch.cuda.current_stream(self.device).wait_stream(side)
        self._warm += 1

    def _graphing(self, batch: int) -> bool:
        """Whether this step belongs to a graph (now or once warmed up): it follows the
        current settings' key, dropping a graph made under others."""
        if not (self.cuda_graphs and graphable(self.config.optimizer, self.net)):
            self._drop_graph()
            return False
        if batch != self.config.batchSize:
            return False  # a short last batch: eager, the graph kept for the next epoch
        # The optimizer itself, not its id: a new optimizer may reuse a freed one's id, and a
        # graph replays the state of the optimizer it was captured with.
        key = (self.optimizer, batch) + tuple(
            (g["lr"], g.get("momentum"), g["weight_decay"]) for g in self.optimizer.param_groups)
        if key != self._graph_key:
            self._drop_graph()
            self._graph_key = key
        return True

    def _drop_graph(self) -> None:
        """Forget the graph, its static inputs and its key (its memory pool goes with it)."""
        self._graph = self._graph_x = self._graph_y = self._graph_key = None
        self._warm = 0

    def _replay(self, xb: torch.Tensor, yb: torch.Tensor) -> bool:
        """One step as the graph, capturing it first if warm; False when it must run eagerly."""
        if not self._graphing(len(yb)):
            return False
        if self._graph is None:
            if self._warm < GRAPH_WARMUP:
                return False
            self._graph_x, self._graph_y = xb.clone(), yb.clone()
            self.optimizer.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with _CAPTURE_LOCK, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._train_step(self._graph_x, self._graph_y)
            self._graph = graph
        assert self._graph_x is not None and self._graph_y is not None
        self._graph_x.copy_(xb)
        self._graph_y.copy_(yb)
        self._graph.replay()
        return True

    def take_train_metrics(self) -> Metrics:
        """Average training loss and accuracy over the steps since the last call."""
        if self._seen == 0:
            return Metrics(None, None)
        loss = float(self._loss_sum) / self._seen
        acc = float(self._correct) / self._seen
        self._loss_sum.zero_()
        self._correct.zero_()
        self._seen = 0
        return Metrics(loss if math.isfinite(loss) else None, acc)

    def eval_chunk(self) -> int:
        """Examples per no-grad pass (`eval_chunk`)."""
        return eval_chunk(self.cost, self.config.batchSize)

    @torch.no_grad()
    def logits(self, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        return forward_chunks(self.net, x, chunk or self.eval_chunk())

    def logits_in_parts(self, x: torch.Tensor, chunk: int = EVAL_CHUNK) -> Parts[torch.Tensor]:
        """As `logits`, yielding after each `chunk` examples (see `parts`); never more at once
        than fits a training step's memory."""
        chunk = min(chunk, self.eval_chunk())
        pieces = []
        for i in range(0, len(x), chunk):
            with torch.no_grad():  # within the piece: grad mode belongs to the thread
                self.net.eval()
                pieces.append(self.net(x[i : i + chunk]))
            yield
        return torch.cat(pieces)

    def evaluate(self, split: str) -> Metrics:
        """Loss and accuracy on `val` or `test` (or the whole `train` set), in eval mode."""
        return self.metrics_of(self.logits(self.x[split]), split)

    def metrics_of(self, out: torch.Tensor, split: str) -> Metrics:
        """Loss and accuracy of logits `out` [N, classes] for every example of `split`."""
        loss = float(F.cross_entropy(out, self.y[split]))
        acc = float((out.argmax(1) == self.y[split]).float().mean())
        return Metrics(loss if math.isfinite(loss) else None, acc)
