"""Painting-lab figures: pixels trained per second of `Painter` against a plain PyTorch loop of
the same network (nn.Sequential and torch.optim on the same random pixels), what one frame
costs (the whole picture painted and encoded as PNG), and (`--quality`) how like the
photograph the network's picture is after 5, 10 and 30 s of training — netplay's default, the
same with Fourier features, and ConvNetJS's trainer (SGD, momentum 0.9, 0.01, batches of 5) —
beside the photograph's one-colour PSNR.

Prints JSON lines. The engine and the plain loop run in the same process, alternating, so their
ratio holds on a noisy shared machine; one intra-op thread, as the server's workers run.

    python benchmarks/bench_paintlab.py [--seconds 5] [--rounds 3]
    python benchmarks/bench_paintlab.py --quality [--upto 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from itertools import pairwise

import torch
from torch import nn

from playground_models.paintlab.config import PaintConfig
from playground_models.paintlab.headless import painter_for
from playground_models.paintlab.painter import mean_colour_psnr, psnr
from playground_models.paintlab.session import data_url

CONVNETJS = {"optimizer": "momentum", "learningRate": 0.01, "batchSize": 5}


def engine_rate(config: PaintConfig, seconds: float) -> float:
    painter = painter_for(config)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        painter.train(50)
    return painter.pixels_seen / (time.perf_counter() - start)


def plain_rate(config: PaintConfig, seconds: float) -> float:
    """The textbook loop: nn.Sequential of nn.Linear and nn.ReLU, torch.optim.Adam."""
    painter = painter_for(config)
    sizes = [config.inputs, *config.widths, 3]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=config.learningRate)
    x, y = painter.inputs, painter.targets
    count, pixels = x.shape[0], 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            index = torch.randint(0, count, (config.batchSize,))
            loss = nn.functional.mse_loss(net(x[index]), y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            pixels += config.batchSize
    return pixels / (time.perf_counter() - start)


def frame_ms(config: PaintConfig, repeats: int = 20) -> float:
    painter = painter_for(config)
    start = time.perf_counter()
    for _ in range(repeats):
        data_url(painter.paint())
    return 1000 * (time.perf_counter() - start) / repeats


def quality(config: PaintConfig, marks: list[float]) -> dict:
    """PSNR at each mark (seconds of training), and the seconds to one-colour + 6 dB."""
    painter = painter_for(config)
    baseline = mean_colour_psnr(painter.picture)
    out: dict = {"picture": config.picture, "baseline_psnr": round(baseline, 2), "psnr": {}}
    trained, recognisable = 0.0, None
    for mark in marks:
        while trained < mark:
            start = time.perf_counter()
            painter.train(25)
            trained += time.perf_counter() - start
            if recognisable is None and psnr(painter.paint(), painter.picture) > baseline + 6:
                recognisable = round(trained, 2)
        out["psnr"][f"{mark:g}s"] = round(psnr(painter.paint(), painter.picture), 2)
    out.update(updates=painter.updates, pixels_per_s=round(painter.pixels_seen / trained),
               seconds_to_baseline_plus_6db=recognisable)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--upto", type=float, default=30.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"machine": platform.processor() or platform.machine(),
                      "torch": torch.__version__, "threads": 1}))
    if args.quality:
        marks = [m for m in (5.0, 10.0, 30.0, 60.0) if m <= args.upto]
        for picture in ("china", "flower"):
            for name, changes in (("netplay", {}), ("netplay+fourier4", {"fourier": 4}),
                                  ("convnetjs-trainer", CONVNETJS)):
                config = PaintConfig(picture=picture).with_changes(changes)
                print(json.dumps({"trainer": name, **quality(config, marks)}), flush=True)
        return
    config = PaintConfig()
    for round_ in range(args.rounds):
        engine, plain = engine_rate(config, args.seconds), plain_rate(config, args.seconds)
        print(json.dumps({"round": round_, "engine_pixels_per_s": round(engine),
                          "plain_pixels_per_s": round(plain), "ratio": round(engine / plain, 2)}),
              flush=True)
    convnetjs = config.with_changes(CONVNETJS)
    print(json.dumps({"convnetjs_trainer_pixels_per_s": round(engine_rate(convnetjs, args.seconds)),
                      "frame_ms_200px": round(frame_ms(config), 2),
                      "frame_ms_256px": round(frame_ms(config.with_changes({"size": 256})), 2)}))


if __name__ == "__main__":
    main()
