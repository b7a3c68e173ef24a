"""Sequence-lab figures: training steps per second of each cell through `SeqTrainer` against a
plain PyTorch loop on the same net and batches, and (`--compare`) the RNN-vs-LSTM measurement:
test accuracy on the remember task after a fixed number of updates, over N and seeds.

Prints JSON lines. The engine and the plain loop run in the same process, alternating, so their
ratio holds on a noisy shared machine; one intra-op thread, as the server's workers run.

    python benchmarks/bench_seqlab.py [--seconds 2] [--length 20]
    python benchmarks/bench_seqlab.py --compare [--lengths 10,20,30,50,75,100]
        [--seeds 1,2,3,4,5] [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import torch

from playground_models.seqlab import tasks
from playground_models.seqlab.config import CELLS, SeqConfig
from playground_models.seqlab.headless import final_accuracy
from playground_models.seqlab.network import SeqNet
from playground_models.seqlab.trainer import SeqTrainer


def engine_rate(config: SeqConfig, seconds: float) -> float:
    """Updates/s of `SeqTrainer.step` (fresh batch, loss, backward, clipping, Adam)."""
    trainer = SeqTrainer(config)
    trainer.step(3)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.step(5)
        n += 5
    return n / (time.perf_counter() - start)


def plain_rate(config: SeqConfig, seconds: float) -> float:
    """Updates/s of the textbook loop: one torch.nn recurrent layer and a linear head, a batch
    made once, cross-entropy of the last step, `clip_grad_norm_`, `torch.optim.Adam`."""
    net = SeqNet(config.cell, tasks.input_size(config.task), config.hidden, config.layers,
                 tasks.output_size(config.task))
    opt = torch.optim.Adam(net.parameters(), lr=config.learningRate)
    batch = tasks.make_batch(config.task, config.length, config.batchSize, torch.Generator())

    def step() -> None:
        loss, _ = tasks.loss_and_correct(config.task, net(batch.x), batch.y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip)
        opt.step()

    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(5):
            step()
        n += 5
    return n / (time.perf_counter() - start)


def frame_ms(config: SeqConfig) -> float:
    """Milliseconds of what a frame computes: the test set's metrics and the inside views
    (`SeqTrainer.evaluate` and `inspect`), best of five."""
    trainer = SeqTrainer(config)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        trainer.evaluate()
        trainer.inspect()
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def speed(args: argparse.Namespace) -> None:
    for cell in CELLS:
        config = SeqConfig(cell=cell, length=args.length)
        engine, plain = [], []
        for _ in range(3):  # alternating, best of three each
            engine.append(engine_rate(config, args.seconds))
            plain.append(plain_rate(config, args.seconds))
        print(json.dumps({"cell": cell, "length": args.length, "hidden": config.hidden,
                          "batch": config.batchSize, "engine_steps_per_s": round(max(engine), 1),
                          "plain_steps_per_s": round(max(plain), 1),
                          "ratio": round(max(engine) / max(plain), 3),
                          "frame_ms": round(frame_ms(config), 1)}), flush=True)


def compare(args: argparse.Namespace) -> None:
    for n in (int(v) for v in args.lengths.split(",")):
        for seed in args.seeds.split(","):
            for cell in ("rnn", "lstm"):
                start = time.perf_counter()
                acc = final_accuracy(SeqConfig(cell=cell, length=n, seed=seed), args.steps)
                print(json.dumps({"length": n, "seed": seed, "cell": cell, "steps": args.steps,
                                  "test_acc": round(acc, 4) if math.isfinite(acc) else None,
                                  "seconds": round(time.perf_counter() - start, 1)}),
                      flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--lengths", default="10,20,30,50,75,100")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"machine": platform.processor() or platform.machine(),
                      "torch": torch.__version__, "threads": 1}), flush=True)
    (compare if args.compare else speed)(args)


if __name__ == "__main__":
    main()
