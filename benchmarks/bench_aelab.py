"""Autoencoder-lab figures: digits trained per second of `Autoencoder` against a plain PyTorch
loop of the same network (nn.Sequential, torch.optim, F.mse_loss on the same batches' sizes),
and the test reconstruction error after 5, 10 and 30 s of training — netplay's default and
ConvNetJS's trainer (Adadelta, learning rate 1, batches of 50) — beside the mean digit's.

Prints JSON lines; one intra-op thread, as the server's workers run.

    python benchmarks/bench_aelab.py [--seconds 5] [--rounds 3] [--upto 30]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time

import torch
from torch import nn

from playground_models.aelab.config import AEConfig
from playground_models.aelab.model import Autoencoder, sizes

CONVNETJS = {"optimizer": "adadelta", "learningRate": 1.0}


def engine_rate(model: Autoencoder, seconds: float) -> float:
    start, before = time.perf_counter(), model.updates
    while time.perf_counter() - start < seconds:
        model.train(20)
    return (model.updates - before) * model.config.batchSize / (time.perf_counter() - start)


def plain_rate(model: Autoencoder, seconds: float) -> float:
    dims = sizes(model.config, model.pixels)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(a, b))
        if i not in (model.code_layer, len(dims) - 2):
            layers.append(nn.Tanh())
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=model.config.learningRate)
    x, batch, n = model.train_x, model.config.batchSize, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            xb = x[torch.randint(0, len(x), (batch,))]
            loss = nn.functional.mse_loss(net(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += batch
    return n / (time.perf_counter() - start)


def quality(config: AEConfig, marks: list[float]) -> dict:
    model = Autoencoder(config)
    out: dict = {"data": config.data, "mean_error": round(model.mean_image_error(), 4),
                 "test_error": {}}
    trained = 0.0
    for mark in marks:
        while trained < mark:
            start = time.perf_counter()
            model.train(20)
            trained += time.perf_counter() - start
        out["test_error"][f"{mark:g}s"] = round(model.test_error(), 4)
    out["digits_per_s"] = round(model.updates * config.batchSize / trained)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--upto", type=float, default=30.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"machine": platform.processor() or platform.machine(),
                      "torch": torch.__version__, "threads": 1}))
    for data in ("digits", "synth"):
        model = Autoencoder(AEConfig(data=data))
        for round_ in range(args.rounds):
            engine, plain = engine_rate(model, args.seconds), plain_rate(model, args.seconds)
            print(json.dumps({"data": data, "round": round_, "engine_digits_per_s": round(engine),
                              "plain_digits_per_s": round(plain),
                              "ratio": round(engine / plain, 2)}), flush=True)
    marks = [m for m in (5.0, 10.0, 30.0) if m <= args.upto]
    for data in ("digits", "synth"):
        for name, changes in (("netplay", {}), ("convnetjs-trainer", CONVNETJS)):
            config = AEConfig(data=data).with_changes(changes)
            print(json.dumps({"trainer": name, **quality(config, marks)}), flush=True)


if __name__ == "__main__":
    main()
