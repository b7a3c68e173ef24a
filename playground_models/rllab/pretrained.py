"""The pretrained agent: a value network the project trains itself (`python -m
playground_models.rllab.pretrain`), kept as `pretrained.npz` beside this file — plain arrays,
read with `allow_pickle=False`, and the link it was trained from.

A link with `start=pretrained` starts from these weights; its network settings (`layers`,
`activation`, `window`) must be the ones the file was trained with.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..messages import said
from .config import RLConfig, RLConfigError, parse_link

if TYPE_CHECKING:
    from .agent import Agent

PATH = Path(__file__).with_name("pretrained.npz")
SHAPED = ("layers", "activation", "window")  # what the weights' shapes and meaning depend on


@functools.cache
def _stored() -> tuple[RLConfig, dict[str, np.ndarray]] | None:
    if not PATH.exists():
        return None
    with np.load(PATH, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    config, _ = parse_link(str(arrays.pop("link")))
    return config, arrays


def pretrained_config() -> RLConfig | None:
    """The settings the pretrained agent was trained with (None when the file is missing)."""
    stored = _stored()
    return stored[0] if stored else None


def check_pretrained(config: RLConfig) -> None:
    """Raise `RLConfigError` (on `start`) when `config` asks for the pretrained agent and its
    network does not match the stored one."""
    if config.start != "pretrained":
        return
    stored = pretrained_config()
    if stored is None:
        raise RLConfigError("start", said("rl.err.noPretrained"))
    wanted = {k: getattr(stored, k) for k in SHAPED}
    if any(getattr(config, k) != v for k, v in wanted.items()):
        shown = ", ".join(f"{k}={v}" for k, v in wanted.items())
        raise RLConfigError("start", said("rl.err.pretrainedNet", net=shown))


def load_into(agent: Agent, config: RLConfig) -> None:
    """Put the stored weights into `agent`'s network when `config` asks for them."""
    if config.start != "pretrained":
        return
    check_pretrained(config)
    stored = _stored()
    assert stored is not None
    state = {k: torch.from_numpy(v) for k, v in stored[1].items()}
    agent.net.load_state_dict(state)


def save(agent: Agent, path: Path = PATH) -> None:
    """Write `agent`'s network and the link it was trained from."""
    arrays = {k: v.detach().numpy() for k, v in agent.net.state_dict().items()}
    np.savez_compressed(path, link=np.array(agent.config.query), **arrays)
    if path == PATH:
        _stored.cache_clear()
