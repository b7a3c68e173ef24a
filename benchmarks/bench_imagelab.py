"""Image-lab speed: ConvNetJS's MNIST and CIFAR-10 nets through our engine vs the plain PyTorch
loop (the CIFAR-10 net on the colour shapes, with and without augmentation), and the time a small
conv net needs to reach 95 % test accuracy on the real 8×8 digits.

Prints one JSON object. Both loops run in the same process, alternating, so the ratio holds on
a noisy shared machine. One intra-op thread by default (`--threads`), as the lab server runs.

    python benchmarks/bench_imagelab.py [--threads 1] [--seconds 2] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from playground_models.imagelab.config import LabConfig
from playground_models.imagelab.presets import PRESETS
from playground_models.imagelab.trainer import LabTrainer

CONVNETJS = PRESETS["convnetjs-mnist"].net  # 24×24×1 → conv 5×5 8 p2 → pool 2 → 16 → pool 3 → 10
SMALL_DIGITS = PRESETS["small-digits"].net
CIFAR = PRESETS["convnetjs-cifar10"].net  # 32×32×3 → three 5×5 conv layers of 16, 20, 20 → 10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def engine_rate(device: torch.device, batch: int, seconds: float,
                config: LabConfig | None = None, graphs: bool = True) -> float:
    """Examples/s of `LabTrainer.step` on ConvNetJS's net (Adadelta, as ConvNetJS trains it);
    on CUDA with the step as a CUDA graph unless `graphs` is off."""
    config = config or LabConfig(
        net=CONVNETJS, optimizer="adadelta", learningRate=1.0, batchSize=batch, weightDecay=0.001
    )
    trainer = LabTrainer(config, device, cuda_graphs=graphs)
    trainer.step(20)  # warm-up: allocator, oneDNN primitive cache
    _sync(device)
    start, done = time.perf_counter(), trainer.examples
    while time.perf_counter() - start < seconds:
        trainer.step(20)
    _sync(device)
    return (trainer.examples - done) / (time.perf_counter() - start)


def plain_rate(
    device: torch.device, batch: int, seconds: float, x: torch.Tensor, y: torch.Tensor,
    net: nn.Module | None = None, weight_decay: float = 0.001,
) -> float:
    """The obvious loop: nn.Sequential, torch.optim.Adadelta, slicing a tensor per batch."""
    torch.manual_seed(0)  # the reference loop may use the global RNG; the engine never does
    net = (net or nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(256, 10),
    )).to(device)
    opt = torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95, eps=1e-6,
                               weight_decay=weight_decay)
    x, y = x.to(device), y.to(device)
    n = len(y)

    def run(steps: int, pos: int) -> int:
        for _ in range(steps):
            if pos + batch > n:
                pos = 0
            loss = F.cross_entropy(net(x[pos : pos + batch]), y[pos : pos + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            pos += batch
        return pos

    pos = run(20, 0)
    _sync(device)
    start, examples = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        pos = run(20, pos)
        examples += 20 * batch
    _sync(device)
    return examples / (time.perf_counter() - start)


def cifar_net() -> nn.Module:
    """ConvNetJS's CIFAR-10 net, written out as a PyTorch user would."""
    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 16), *block(16, 20), *block(20, 20), nn.Flatten(),
                         nn.Linear(320, 10))


def colour_rates(device: torch.device, seconds: float, repeats: int) -> dict[str, object]:
    """The CIFAR-10 net on the colour shapes as ConvNetJS's demo trains it (Adadelta, batch 4,
    L2 0.0001), with augmentation off and on, against the plain loop at batch 4 and 64."""
    base = LabConfig(data="shapes", net=CIFAR, optimizer="adadelta", learningRate=1.0,
                     weightDecay=0.0001)
    data = LabTrainer(base, torch.device("cpu"))
    x, y = data.x["train"].contiguous(), data.y["train"]
    out: dict[str, object] = {"net": CIFAR, "data": "shapes", "optimizer": "adadelta"}
    for batch in (4, 64):
        off, on, plain = [], [], []
        for _ in range(repeats):
            config = replace(base, batchSize=batch)
            off.append(engine_rate(device, batch, seconds, config))
            on.append(engine_rate(device, batch, seconds, replace(config, augment="on")))
            plain.append(plain_rate(device, batch, seconds, x, y, cifar_net(), 0.0001))
        out[f"batch_{batch}"] = {
            "engine_examples_per_s": round(max(off)),
            "engine_augmented_examples_per_s": round(max(on)),
            "plain_pytorch_examples_per_s": round(max(plain)),
            "ratio_engine_over_plain": round(max(off) / max(plain), 2),
        }
    return out


def time_to_accuracy(device: torch.device, target: float = 0.95) -> dict[str, float | int]:
    """Seconds of training (test evaluations included) until the test accuracy reaches
    `target` on the UCI 8×8 digits, with the lab's small-digits preset and Adam."""
    t0 = time.perf_counter()
    config = LabConfig(net=SMALL_DIGITS, optimizer="adam", learningRate=0.01, batchSize=32)
    trainer = LabTrainer(config, device)
    built = time.perf_counter()
    acc = 0.0
    while acc < target and time.perf_counter() - built < 60:
        trainer.step(10)
        acc = trainer.evaluate("test").acc or 0.0
    trained = time.perf_counter()
    return {
        "seconds_to_target": round(trained - built, 3),
        "build_seconds": round(built - t0, 3),
        "test_acc": round(acc, 4),
        "steps": trainer.steps,
        "epochs": round(trainer.examples / trainer.n_train, 2),
        "params": sum(p.numel() for p in trainer.net.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0, help="per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    data = LabTrainer(LabConfig(net=CONVNETJS), torch.device("cpu"))
    x, y = data.x["train"].contiguous(), data.y["train"]  # the same images for both loops
    rates: dict[str, dict[str, float]] = {}
    cuda = device.type == "cuda"
    for batch in (20, 64):
        engine, eager, plain = [], [], []
        for _ in range(args.repeats):  # alternate so both see the same machine load
            engine.append(engine_rate(device, batch, args.seconds))
            if cuda:
                eager.append(engine_rate(device, batch, args.seconds, graphs=False))
            plain.append(plain_rate(device, batch, args.seconds, x, y))
        rates[f"batch_{batch}"] = {
            "engine_examples_per_s": round(max(engine)),
            "plain_pytorch_examples_per_s": round(max(plain)),
            "ratio_engine_over_plain": round(max(engine) / max(plain), 2),
        }
        if cuda:
            rates[f"batch_{batch}"]["engine_without_cuda_graphs_examples_per_s"] = round(max(eager))
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        },
        "convnetjs_mnist_net": {"net": CONVNETJS, "optimizer": "adadelta", **rates},
        "digits_8x8_to_95pct": {"net": SMALL_DIGITS, **time_to_accuracy(device)},
        "convnetjs_cifar10_net_on_shapes": colour_rates(device, args.seconds, args.repeats),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
