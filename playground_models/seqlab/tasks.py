"""Toy sequence tasks with a dependency across `N` steps, generated from a seeded stream.

- `remember`: a sequence starts with one of `SYMBOLS` symbols, then `N` distractors (other
  symbols); at the last step the net says which symbol came first. Chance is 1/`SYMBOLS`.
- `adding`: `N` steps of (value in [0, 1), marker); two steps are marked, one in each half, and
  at the last step the net gives the sum of the two marked values.
- `sine`: `N` steps of a sine wave (random frequency and phase) plus Gaussian noise; at every
  step the net predicts the clean wave's next value.

Inputs are `[batch, T, features]` float32; targets are class indices `[batch]` (remember),
values `[batch]` (adding) or `[batch, T]` (sine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

TASKS = ("remember", "adding", "sine")
SYMBOLS = 4  # symbols the first step may hold: chance is 1/4
DISTRACTORS = 4  # other symbols, one-hot after the first SYMBOLS
# A regression answer counts as right within this much of the target (adding: the threshold
# long used for the adding problem; sine: a tenth of the wave's amplitude).
TOLERANCE = {"adding": 0.04, "sine": 0.1}


@dataclass(frozen=True)
class Batch:
    x: torch.Tensor  # [B, T, features]
    y: torch.Tensor  # remember: long [B]; adding: [B]; sine: [B, T]


def steps(task: str, n: int) -> int:
    """Time steps T of a sequence of `task` at `N` = `n`."""
    return n + 1 if task == "remember" else max(n, 2)


def input_size(task: str) -> int:
    return {"remember": SYMBOLS + DISTRACTORS, "adding": 2, "sine": 1}[task]


def output_size(task: str) -> int:
    return SYMBOLS if task == "remember" else 1


def classifies(task: str) -> bool:
    return task == "remember"


def make_batch(task: str, n: int, batch: int, gen: torch.Generator, noise: float = 0.0) -> Batch:
    """`batch` fresh sequences of `task`, drawn from `gen`."""
    t = steps(task, n)
    if task == "remember":
        first = torch.randint(SYMBOLS, (batch,), generator=gen)
        rest = SYMBOLS + torch.randint(DISTRACTORS, (batch, t - 1), generator=gen)
        symbols = torch.cat([first[:, None], rest], dim=1)
        return Batch(F.one_hot(symbols, SYMBOLS + DISTRACTORS).float(), first)
    if task == "adding":
        values = torch.rand(batch, t, generator=gen)
        half = t // 2
        a = torch.randint(half, (batch,), generator=gen)
        b = half + torch.randint(t - half, (batch,), generator=gen)
        marks = torch.zeros(batch, t)
        rows = torch.arange(batch)
        marks[rows, a] = 1.0
        marks[rows, b] = 1.0
        return Batch(torch.stack([values, marks], dim=2), (values * marks).sum(dim=1))
    if task == "sine":
        omega = 0.1 + 0.3 * torch.rand(batch, 1, generator=gen)  # radians per step
        phase = 2 * math.pi * torch.rand(batch, 1, generator=gen)
        time = torch.arange(t + 1, dtype=torch.float32)[None, :]
        wave = torch.sin(omega * time + phase)
        jitter = noise * torch.randn(batch, t, generator=gen)
        return Batch((wave[:, :t] + jitter)[:, :, None], wave[:, 1:])
    raise ValueError(f"task: unknown task {task!r}")


def loss_and_correct(task: str, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean loss of a batch and its count of right answers, from the net's outputs
    `[B, T, out]`: cross-entropy of the last step (remember), squared error of the last step
    (adding) or of every step (sine); right within `TOLERANCE` for regression."""
    if task == "remember":
        logits = out[:, -1]
        return F.cross_entropy(logits, y), (logits.argmax(dim=1) == y).sum()
    pred = out[:, -1, 0] if task == "adding" else out[..., 0]
    correct = ((pred - y).abs() < TOLERANCE[task]).sum()
    return F.mse_loss(pred, y), correct


def answers(task: str, y: torch.Tensor) -> int:
    """How many answers a batch of targets `y` asks for (sine: one per step)."""
    return y.numel()
