"""Make the image lab's pretrained network: `python -m playground_models.imagelab.pretrain`.

Trains ConvNetJS's CIFAR-10 net (the `convnetjs-cifar10` preset) on the colour shapes with the
link's defaults otherwise (seed `pretrain`, 3,000 pictures, Adam at 0.003, batches of 32,
augmentation on) for a fixed number of epochs with one torch thread, reports the test accuracy
after each, and writes the network file (`netfile.py`) that the page's "Load the pretrained
network" opens. The run is deterministic: the same epochs give the same file on the same torch
build.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .config import LabConfig
from .presets import PRESETS
from .trainer import LabTrainer

EPOCHS = 20
NAME = "shapes"  # what the page asks for: `{"type": "load", "pretrained": "shapes"}`
PATH = Path(__file__).with_name("pretrained") / f"{NAME}.netplay"
CONFIG = LabConfig(data="shapes", net=PRESETS["convnetjs-cifar10"].net, augment="on",
                   seed="pretrain")


def train(epochs: int, config: LabConfig = CONFIG) -> LabTrainer:
    torch.set_num_threads(1)
    trainer = LabTrainer(config, torch.device("cpu"))
    start = time.perf_counter()
    while trainer.epoch < epochs:
        trainer.step(1)
        if trainer._pos >= trainer.n_train:  # an epoch's last batch: report it
            test = trainer.evaluate("test")
            print(json.dumps({"epoch": trainer.epoch + 1, "test_acc": round(test.acc or 0, 4),
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)
            if trainer.epoch + 1 >= epochs:
                break
    return trainer


def main() -> None:
    from .session import network_file

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=PATH)
    args = parser.parse_args()
    trainer = train(args.epochs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(network_file(trainer))
    print(json.dumps({"saved": str(args.out), "bytes": args.out.stat().st_size,
                      "test_acc": round(trainer.evaluate("test").acc or 0, 4)}))


if __name__ == "__main__":
    main()
