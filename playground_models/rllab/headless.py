"""The agent lab without a server: `netplay run "/rl?…"`, the random baseline, and the
measurement of how well a policy does.

A run reports every `every` ticks the mean reward per tick over the last 1,000 ticks, ε, the
mean Q loss, what was eaten and the memory's size, as one JSON-ready record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..rng import stream_seed
from .agent import N_ACTIONS, Agent
from .config import TABLE, RLConfig
from .pretrained import load_into
from .world import World

REPORT_EVERY = 1000  # ticks between two records of `netplay run`


def is_rl_link(url: str) -> bool:
    """Whether `url` is an agent-lab link (its path is `/rl`)."""
    return urlsplit(url).path.rstrip("/").endswith("/rl") or url.startswith("rl?")


def record(agent: Agent) -> dict[str, Any]:
    eaten = agent.world.eaten
    return {"tick": agent.ticks, "reward": agent.rewards.mean(), "epsilon": agent.epsilon,
            "loss": agent.losses.mean(), "apples": eaten[1], "poison": eaten[2],
            "replay": agent.replay.size}


def run_ticks(config: RLConfig, ticks: int, every: int = REPORT_EVERY) -> Iterator[dict[str, Any]]:
    """Run `ticks` ticks of `config`, a record after each `every` (and the last)."""
    agent = Agent(config)
    load_into(agent, config)
    if config.start == "pretrained":
        agent.learning = False
    while agent.ticks < ticks and not agent.diverged:
        for _ in range(min(every, ticks - agent.ticks)):
            agent.tick()
        yield {**record(agent), "diverged": agent.diverged}


def run_link(url: str, ticks: int, warn: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """`netplay run` of an agent-lab link. A bad value is an error (`RLConfigError`), as a
    2-D link's is; unknown keys are warnings."""
    config = TABLE.parse_strict(url, RLConfig(), warn)
    yield from run_ticks(config, ticks)


def random_policy_reward(config: RLConfig, ticks: int) -> float:
    """Mean reward per tick of uniformly random actions in the seed's world (the baseline)."""
    world = World(stream_seed(config.seed, "world"), config.items)
    rng = np.random.default_rng(stream_seed(config.seed, "random-policy"))
    total = 0.0
    for _ in range(ticks):
        total += world.step(int(rng.integers(0, N_ACTIONS)))
    return total / ticks


def policy_reward(agent: Agent, ticks: int, epsilon: float = 0.05) -> float:
    """Mean reward per tick of `agent`'s policy without learning (ε-greedy at `epsilon`), in a
    fresh world of its seed."""
    agent.learning = False
    agent.config = agent.config.with_changes({"epsTest": epsilon})
    agent.world = World(stream_seed(agent.config.seed, "evaluation"), agent.config.items)
    total = 0.0
    for _ in range(ticks):
        total += agent.tick()
    return total / ticks
