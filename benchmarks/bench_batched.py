"""Many runs of net (a) trained as one program, against the same runs trained one by one on the
C fast path and in the plain PyTorch loop, in the same process.

The program is a pool of live-session rows (playground_models/pool.py, `--group-sessions`). For
each size R: the time of one epoch of all R runs together (25 minibatch steps, with each run's
own shuffle and the gathering of every row's minibatches on the host) and the ratios against R
single runs. The pool is measured full (R busy rows of R) and with one busy row in a pool of R,
the cost of its fixed shape. Prints one JSON object.

    python benchmarks/bench_batched.py [--runs 1,16,256,1024] [--device cpu|cuda] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch
from bench_engine import engine, per_epoch_ms, plain_loop  # the script's own folder

from playground_models.pool import PoolSet
from playground_models.reference_nets import NET_A
from playground_models.trainer import Trainer, train_together


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def pool_figures(runs: int, device: torch.device, epochs: int) -> dict[str, float]:
    pools = PoolSet(device, runs)
    trainers = [Trainer(NET_A.replace(seed=f"r{i}", regularization="L2",
                                      regularizationRate=(i % 8) * 0.001), pools=pools)
                for i in range(runs)]
    steps = len(trainers[0].y_train) // NET_A.batchSize  # one epoch: 25 updates
    train_together([(t, steps) for t in trainers])  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        train_together([(t, steps) for t in trainers])
    _sync(device)
    full_ms = (time.perf_counter() - start) * 1e3 / epochs
    start = time.perf_counter()
    for _ in range(epochs):
        train_together([(trainers[0], steps)])
    _sync(device)
    one_ms = (time.perf_counter() - start) * 1e3 / epochs
    return {"pool_epoch_ms": round(full_ms, 3), "pool_per_run_epoch_ms": round(full_ms / runs, 5),
            "pool_one_busy_row_epoch_ms": round(one_ms, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1,4,16,256,1024")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    # Same-run baselines: one run of net (a) per epoch, C fast path and plain PyTorch loop.
    fast = engine(NET_A, None)
    plain = plain_loop(NET_A, NET_A.optimizer)
    fast_ms = statistics.median(per_epoch_ms(fast, 200) for _ in range(5))
    plain_ms = statistics.median(per_epoch_ms(plain, 5) for _ in range(3))

    out: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"
                   + (f", {torch.cuda.get_device_name()}" if device.type == "cuda" else ""),
        "device": str(device),
        "torch": torch.__version__,
        "threads": args.threads,
        "one_run_fast_path_epoch_ms": round(fast_ms, 4),
        "one_run_plain_pytorch_epoch_ms": round(plain_ms, 3),
        "groups": [],
    }
    for runs in (int(r) for r in args.runs.split(",")):
        fig = {"runs": runs, **pool_figures(runs, device, args.epochs)}
        fig["pool_vs_plain_pytorch"] = round(plain_ms * runs / fig["pool_epoch_ms"], 2)
        fig["pool_vs_fast_path"] = round(fast_ms * runs / fig["pool_epoch_ms"], 3)
        out["groups"].append(fig)
        print(json.dumps(fig), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
