"""`SeqTrainer`: one sequence-lab experiment (task, net, optimizer), trained on fresh batches
drawn from the seed's own stream, and evaluated on a fixed test set of the same seed.

The update rules are torch.optim's as the other labs name them (`rules.torch_optimizer`);
gradients are clipped to `clip` by total norm (`torch.nn.utils.clip_grad_norm_`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..imagelab.parts import Parts, drain
from ..imagelab.trainer import Metrics
from ..rng import stream_seed
from ..rules import torch_optimizer
from . import tasks
from .config import SeqConfig
from .network import SeqNet, unroll

TEST_SEQUENCES = 256  # the fixed test set: accuracy in steps of 0.4 %
EVAL_CHUNK = 64  # test sequences evaluated per piece of a frame
INSPECT_SEQUENCES = 32  # test sequences the per-step gradients and gates are averaged over
SHOWN_UNITS = 64  # hidden units a frame's heatmap carries at most (the first ones)
# An LSTM's forget gate starts nearly open, σ(3) ≈ 0.95, so that at first its cell keeps most
# of what it holds over tens of steps. At 1 (another common choice) the LSTMs of seeds 1 and 2
# were still at chance on `remember` at N = 50 after 1,000 updates; at 3 seed 1 learned it.
FORGET_BIAS = 3.0


def _generator(seed: str, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(stream_seed(seed, name) % 2**63)


class SeqTrainer:
    """Not thread-safe: one owner at a time (a session's jobs run one after another)."""

    def __init__(self, config: SeqConfig):
        self.config = config
        task = config.task
        self.net = SeqNet(config.cell, tasks.input_size(task), config.hidden, config.layers,
                          tasks.output_size(task))
        init = _generator(config.seed, "init")
        with torch.no_grad():  # torch's own initialisation, U(−1/√H, 1/√H), from the seed
            bound = 1.0 / math.sqrt(config.hidden)
            for p in self.net.parameters():
                p.uniform_(-bound, bound, generator=init)
            if config.cell == "lstm":  # torch's gate order: input, forget, cell, output
                for name, p in self.net.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[config.hidden : 2 * config.hidden] = FORGET_BIAS
        self.initial_state = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.test = tasks.make_batch(task, config.length, TEST_SEQUENCES,
                                     _generator(config.seed, "test"), config.noise)
        self.reset()

    def reset(self) -> None:
        """Back to the seed's first weights and first batch."""
        self.net.load_state_dict(self.initial_state)
        self.data = _generator(self.config.seed, "data")
        self.optimizer = self._optimizer()
        self.steps = 0
        self.examples = 0
        self.diverged = False
        self.grad_norm: float | None = None  # of the last step, before clipping
        self._loss_sum = 0.0
        self._correct = 0
        self._answers = 0
        self._batches = 0

    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        return torch_optimizer(c.optimizer, self.net.parameters(), c.learningRate, momentum=0.9)

    def update(self, config: SeqConfig) -> None:
        """Apply live settings (optimizer, learning rate, clipping, batch size), weights kept;
        a new optimizer starts with fresh state."""
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self.optimizer = self._optimizer()
        for group in self.optimizer.param_groups:
            group["lr"] = config.learningRate

    def step(self, n: int = 1) -> None:
        """`n` updates, each on a fresh batch of `batchSize` sequences."""
        c = self.config
        self.net.train()
        for _ in range(n):
            batch = tasks.make_batch(c.task, c.length, c.batchSize, self.data, c.noise)
            loss, correct = tasks.loss_and_correct(c.task, self.net(batch.x), batch.y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            limit = c.clip if c.clip > 0 else math.inf
            norm = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), limit))
            value = loss.item()
            if not (math.isfinite(value) and math.isfinite(norm)):
                self.diverged = True
                return
            self.optimizer.step()
            self.grad_norm = norm
            self.steps += 1
            self.examples += c.batchSize
            self._loss_sum += value
            self._correct += int(correct)
            self._answers += tasks.answers(c.task, batch.y)
            self._batches += 1

    def take_train_metrics(self) -> Metrics:
        """Mean training loss and accuracy since the last call (None before any step)."""
        if not self._batches:
            return Metrics(None, None)
        m = Metrics(self._loss_sum / self._batches, self._correct / self._answers)
        self._loss_sum, self._correct, self._answers, self._batches = 0.0, 0, 0, 0
        return m

    def evaluate(self) -> Metrics:
        """Loss and accuracy on the fixed test set."""
        return drain(self.evaluate_in_parts())

    def evaluate_in_parts(self) -> Parts[Metrics]:
        """`evaluate`, `EVAL_CHUNK` sequences a piece (a frame's job stays short at N = 200)."""
        task, x, y = self.config.task, self.test.x, self.test.y
        loss_sum, correct, answers = 0.0, 0, 0
        for start in range(0, len(x), EVAL_CHUNK):
            with torch.no_grad():  # entered and left within one piece: grad mode is per thread
                self.net.eval()
                part_y = y[start : start + EVAL_CHUNK]
                loss, right = tasks.loss_and_correct(task, self.net(x[start : start + EVAL_CHUNK]),
                                                     part_y)
            n = tasks.answers(task, part_y)
            loss_sum, correct, answers = loss_sum + loss.item() * n, correct + int(right), answers + n
            yield
        value = loss_sum / answers
        return Metrics(value if math.isfinite(value) else None, correct / answers)

    def inspect(self) -> dict[str, np.ndarray]:
        """What the net does inside, on the first test sequences, as float32 arrays:
        `hidden` [T, min(H, 64)], the top layer's state over time for the first sequence;
        `grad` [T], the mean over sequences of ‖d loss / d h_t‖ (the gradient that reaches each
        step back through time); for an LSTM `gates` [3, T], the mean input, forget and output
        gate of the top layer per step."""
        c = self.config
        x, y = self.test.x[:INSPECT_SEQUENCES], self.test.y[:INSPECT_SEQUENCES]
        self.net.eval()
        self.net.zero_grad(set_to_none=True)
        run = unroll(self.net, x)
        loss, _ = tasks.loss_and_correct(c.task, run.out, y)
        loss.backward()
        self.net.zero_grad(set_to_none=True)  # the next training step starts clean
        grads = [s.grad.norm(dim=1).mean() if s.grad is not None else torch.zeros(())
                 for s in run.states]
        found = {
            "hidden": torch.stack([s[0, :SHOWN_UNITS] for s in run.states]).detach(),
            "grad": torch.stack(grads),
        }
        if run.gates:
            found["gates"] = torch.stack([run.gates[k].mean(dim=(0, 2))
                                          for k in ("input", "forget", "output")])
        return {k: np.nan_to_num(v.numpy().astype(np.float32)) for k, v in found.items()}
