"""2-D lab engine speed: an epoch on the fast path, on the reference path, and in the plain
PyTorch loop (nn.Sequential + torch.optim, written inline), on the two reference nets (playground_models/reference_nets.py); and the
100×100 grid + neuron-map snapshot.

Prints one JSON object. Contenders alternate round by round in one process and each figure is
the median over rounds, so the ratios hold on a noisy shared machine. One intra-op thread, as a
server worker trains.

    python benchmarks/bench_engine.py [--rounds 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from playground_models.experiment import Experiment
from playground_models.reference_nets import REFERENCE_NETS
from playground_models.trainer import Trainer

# The two reference nets, and the widest the limits allow (8 layers of 64): its layers run the
# kernel's side-by-side products (kernels/mlp.c), the reference nets' the plain loops.
NETS = {**REFERENCE_NETS, "widest": Experiment(networkShape=[64] * 8, activation="relu",
                                              learningRate=0.003)}  # 0.03 diverges
ACTIVATION_MODULES = {"tanh": nn.Tanh, "relu": nn.ReLU}


def per_epoch_ms(run: Callable[[int], None], epochs: int) -> float:
    start = time.perf_counter()
    run(epochs)
    return (time.perf_counter() - start) * 1e3 / epochs


def engine(exp: Experiment, backend: str | None) -> Callable[[int], None]:
    trainer = Trainer(exp, backend=backend)
    trainer.train_epochs(2)  # warm-up: kernel load, allocator

    def run(epochs: int) -> None:
        trainer.train_epochs(epochs)

    return run


def plain_loop(exp: Experiment, optimizer: str) -> Callable[[int], None]:
    """The obvious loop a PyTorch user writes: a module, an optimizer, a shuffled index."""
    trainer = Trainer(exp, backend="reference")  # only for the same data tensors
    x, y = trainer.x_train, trainer.y_train
    sizes = trainer.arch.sizes
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(sizes[:-1]):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATION_MODULES[exp.activation]()]
    net = nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(net.parameters(), lr=exp.learningRate)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=exp.learningRate)
    gen = torch.Generator().manual_seed(0)
    batch = exp.batchSize

    def run(epochs: int) -> None:
        for _ in range(epochs):
            perm = torch.randperm(len(y), generator=gen)
            for s in range(0, len(y), batch):
                idx = perm[s : s + batch]
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()

    run(2)
    return run


def snapshot_ms(exp: Experiment, repeats: int) -> dict[str, float]:
    trainer = Trainer(exp)
    trainer.train_epochs(5)
    trainer.snapshot(100)
    times, metric_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.snapshot(100)
        mid = time.perf_counter()
        trainer.metrics()
        times.append((mid - start) * 1e3)
        metric_times.append((time.perf_counter() - mid) * 1e3)
    return {
        "snapshot_grid100_ms": round(statistics.median(times), 3),
        "metrics_ms": round(statistics.median(metric_times), 3),
    }


def bench_net(exp: Experiment, rounds: int) -> dict[str, float | str]:
    contenders = {
        # name: (runner, epochs per round), sized so a round of each takes ~20–60 ms
        "fast_sgd": (engine(exp, None), 40),
        "fast_adam": (engine(exp.replace(optimizer="adam", learningRate=0.003), None), 40),
        "reference_sgd": (engine(exp, "reference"), 3),
        "plain_torch_sgd": (plain_loop(exp, "sgd"), 3),
        "plain_torch_adam": (plain_loop(exp, "adam"), 2),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (run, epochs) in contenders.items():
            samples[name].append(per_epoch_ms(run, epochs))
    ms = {name: statistics.median(values) for name, values in samples.items()}
    out: dict[str, float | str] = {"path": Trainer(exp).path}
    out.update({f"{name}_epoch_ms": round(value, 4) for name, value in ms.items()})
    out["speedup_vs_plain_sgd"] = round(ms["plain_torch_sgd"] / ms["fast_sgd"], 1)
    out["speedup_vs_plain_adam"] = round(ms["plain_torch_adam"] / ms["fast_adam"], 1)
    out["speedup_vs_reference"] = round(ms["reference_sgd"] / ms["fast_sgd"], 1)
    out["fast_epochs_per_s"] = round(1e3 / ms["fast_sgd"])
    out.update(snapshot_ms(exp, max(rounds, 5)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "nets": {name: bench_net(exp, args.rounds) for name, exp in NETS.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
