"""Agent-lab figures: learning ticks per second of `Agent` (what "very fast" runs) against a
plain PyTorch DQN loop of the same network in the same world, and (`--learning`) how the
smoothed reward of the default link grows, in ticks and minutes, beside a random policy's and
the pretrained agent's.

Prints JSON lines. The engine and the plain loop run in the same process, alternating, so their
ratio holds on a noisy shared machine; one intra-op thread, as the server's workers run.

    python benchmarks/bench_rllab.py [--ticks 3000] [--rounds 3]
    python benchmarks/bench_rllab.py --learning [--upto 30000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from collections import deque

import numpy as np
import torch
from torch import nn

from playground_models.rllab.agent import N_ACTIONS, Agent, input_size, value_net
from playground_models.rllab.config import RLConfig
from playground_models.rllab.headless import policy_reward, random_policy_reward
from playground_models.rllab.pretrained import load_into, pretrained_config
from playground_models.rllab.world import World


def engine_rate(config: RLConfig, ticks: int) -> float:
    """Learning ticks/s of `Agent.tick` once the memory is past `learnStart`."""
    agent = Agent(config)
    while agent.replay.size < config.learnStart + 10:
        agent.tick()
    start = time.perf_counter()
    for _ in range(ticks):
        agent.tick()
    return ticks / (time.perf_counter() - start)


def plain_rate(config: RLConfig, ticks: int) -> float:
    """Learning ticks/s of the textbook DQN loop on the same world and network: a deque of
    transitions, `random.sample`, tensors stacked per batch, one forward pass for the target
    under no_grad and one for the chosen Q, `torch.optim.Adam`."""
    world = World(1, config.items)
    net = value_net(config)
    opt = torch.optim.Adam(net.parameters(), lr=config.learningRate)
    memory: deque[tuple[np.ndarray, int, float, np.ndarray]] = deque(maxlen=config.replay)
    rng = random.Random(1)
    width = input_size(config.window) - 27
    past = np.zeros(width, dtype=np.float32)

    def observe() -> np.ndarray:
        return np.concatenate([world.sight.state(), past])

    state = observe()

    def tick() -> None:
        nonlocal state, past
        if rng.random() < 0.1:
            action = rng.randrange(N_ACTIONS)
        else:
            with torch.no_grad():
                action = int(net(torch.from_numpy(state)[None]).argmax())
        seen = world.sight.state()
        reward = world.step(action)
        one_hot = np.zeros(N_ACTIONS, dtype=np.float32)
        one_hot[action] = 1.0
        past = np.concatenate([seen, one_hot, past])[:width]
        following = observe()
        memory.append((state, action, reward, following))
        state = following
        if len(memory) < config.learnStart:
            return
        batch = rng.sample(memory, config.batchSize) if len(memory) >= config.batchSize else []
        s0 = torch.tensor(np.stack([b[0] for b in batch]))
        a = torch.tensor([b[1] for b in batch])
        r = torch.tensor([b[2] for b in batch], dtype=torch.float32)
        s1 = torch.tensor(np.stack([b[3] for b in batch]))
        with torch.no_grad():
            target = r + config.gamma * net(s1).max(dim=1).values
        q = net(s0).gather(1, a[:, None])[:, 0]
        loss = 0.5 * nn.functional.mse_loss(q, target)
        opt.zero_grad()
        loss.backward()
        opt.step()

    while len(memory) < config.learnStart + 10:
        tick()
    start = time.perf_counter()
    for _ in range(ticks):
        tick()
    return ticks / (time.perf_counter() - start)


def speed(args: argparse.Namespace) -> None:
    config = RLConfig()
    rows = []
    for round_ in range(args.rounds):
        ours, plain = engine_rate(config, args.ticks), plain_rate(config, args.ticks)
        rows.append((ours, plain))
        print(json.dumps({"round": round_, "engine_ticks_per_s": round(ours, 1),
                          "plain_ticks_per_s": round(plain, 1), "ratio": round(ours / plain, 2)}),
              flush=True)
    ours = float(np.median([r[0] for r in rows]))
    plain = float(np.median([r[1] for r in rows]))
    print(json.dumps({"median_engine": round(ours, 1), "median_plain": round(plain, 1),
                      "ratio": round(ours / plain, 2), "torch": torch.__version__,
                      "machine": platform.processor() or platform.machine()}))


def learning(args: argparse.Namespace) -> None:
    config = RLConfig(seed=args.seed)
    baseline = random_policy_reward(config, 5000)
    print(json.dumps({"random_policy_reward": round(baseline, 4)}), flush=True)
    agent = Agent(config)
    start = time.perf_counter()
    while agent.ticks < args.upto:
        for _ in range(5000):
            agent.tick()
        print(json.dumps({"tick": agent.ticks, "smoothed_reward": round(agent.rewards.mean() or 0, 4),
                          "epsilon": round(agent.epsilon, 3),
                          "minutes": round((time.perf_counter() - start) / 60, 2)}), flush=True)
    print(json.dumps({"greedy_policy_reward": round(policy_reward(agent, 5000), 4)}), flush=True)
    stored = pretrained_config()
    if stored is not None:
        trained = Agent(stored.with_changes({"start": "pretrained", "seed": args.seed}))
        load_into(trained, trained.config)
        print(json.dumps({"pretrained_policy_reward": round(policy_reward(trained, 5000), 4)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--learning", action="store_true")
    parser.add_argument("--upto", type=int, default=30000)
    parser.add_argument("--seed", default="1")
    args = parser.parse_args()
    torch.set_num_threads(1)
    (learning if args.learning else speed)(args)


if __name__ == "__main__":
    main()
