"""Make the pretrained agent: `python -m playground_models.rllab.pretrain [--ticks N]`.

Trains the default link (`/rl?seed=pretrain`, every other setting at its default) for N ticks
with one torch thread, reports the mean reward per 10,000 ticks, and writes the value network to
`pretrained.npz` beside this module. The run is deterministic: the same N gives the same file's
numbers on the same torch build.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .agent import Agent
from .config import RLConfig
from .headless import policy_reward, random_policy_reward
from .pretrained import PATH, save

TICKS = 100_000
SEED = "pretrain"


def train(ticks: int, seed: str = SEED, report: int = 10_000) -> Agent:
    torch.set_num_threads(1)
    agent = Agent(RLConfig(seed=seed))
    start = time.perf_counter()
    while agent.ticks < ticks:
        for _ in range(min(report, ticks - agent.ticks)):
            agent.tick()
        print(json.dumps({"tick": agent.ticks, "reward": round(agent.rewards.mean() or 0, 4),
                          "epsilon": round(agent.epsilon, 3),
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    return agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=TICKS)
    parser.add_argument("--out", type=Path, default=PATH)
    args = parser.parse_args()
    agent = train(args.ticks)
    save(agent, args.out)
    config = agent.config
    print(json.dumps({"saved": str(args.out),
                      "policy_reward": round(policy_reward(agent, 5000), 4),
                      "random_reward": round(random_policy_reward(config, 5000), 4)}))


if __name__ == "__main__":
    main()
