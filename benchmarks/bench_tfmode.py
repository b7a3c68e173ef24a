"""TensorFlow Playground mode's speed: epochs/s of TF's default net (and of the deep 6 × 8 relu
net with all seven features) on the C kernel and on the numpy engine.

An epoch is TF's oneStep: 250 examples one at a time, 25 updates, then the train and test loss
(both in the figure, as the page needs them every frame). Prints one JSON object; each figure is
the median over rounds, the two paths alternating round by round.

    python benchmarks/bench_tfmode.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from playground_models.tfcompat.engine import TfConfig, TfRun
from playground_models.urlcodec import parse

NETS = {
    "tf_default": "#compat=tf&seed=0.5",  # circle, x1 x2 -> [4, 2] tanh -> tanh, batch 10
    "deep_relu_7_features": "#compat=tf&seed=0.5&dataset=spiral&activation=relu"
    "&networkShape=8,8,8,8,8,8&xSquared=true&ySquared=true&xTimesY=true&sinX=true&sinY=true",
}


def epochs_per_s(link: str, use_kernel: bool, epochs: int) -> float:
    state = parse(link, strict=True)
    run = TfRun(TfConfig.from_experiment(state.experiment, state.hidden), use_kernel=use_kernel)
    start = time.perf_counter()
    for _ in range(epochs):
        run.train_epoch()
    return epochs / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    out: dict = {"python": platform.python_version(), "machine": platform.machine()}
    for name, link in NETS.items():
        samples: dict[str, list[float]] = {"kernel": [], "numpy": []}
        for _ in range(args.rounds):
            samples["kernel"].append(epochs_per_s(link, True, 400))
            samples["numpy"].append(epochs_per_s(link, False, 20))
        out[name] = {path: round(statistics.median(v)) for path, v in samples.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
