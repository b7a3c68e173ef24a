"""`Agent`: deep Q-learning in the agent lab's world, as ConvNetJS's `deepqlearn.Brain` does it.

Each tick the agent sees the present state and, with a temporal window of w, its last w states
and actions (one-hot); it acts ε-greedily on its value network's Q-values; the transition
(input, action, reward, next input) goes into a replay memory (a random old one is replaced
when it is full); then, once the memory holds `learnStart` transitions, one minibatch of
`batchSize` drawn with replacement is fitted to r + γ·max Q(next), the loss being half the
squared error of the chosen action's Q. ε falls linearly from 1 after `epsBurnin` learning
ticks to `epsMin` at `epsSteps`; while not learning the agent acts with `epsTest`.

The value network is a `torch.nn.Sequential`; the update rule is torch.optim's as every lab names
it (`rules.torch_optimizer`), weight decay on the weights only. One learning step evaluates the
batch's inputs and next inputs in one forward pass. Draws come from the agent's own generators
(the ε coin, the random action, the replay's slots), so a seed gives one trajectory.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import torch
from torch import nn

from ..rng import stream_seed
from ..rules import torch_optimizer
from .config import RLConfig
from .world import ACTIONS, EYE_ANGLES, SENSES, World

STATE = len(EYE_ANGLES) * SENSES  # 27
N_ACTIONS = len(ACTIONS)
AVERAGE_OVER = 1000  # ticks of the smoothed reward and loss, ConvNetJS's window
ACTIVATION = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
# Each activation's function and its derivative written from its output.
FUNCTION = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
SLOPE = {
    "relu": torch.sign,  # of an output ≥ 0: 1 where it passed, 0 where it was cut
    "tanh": lambda y: 1 - y * y,
    "sigmoid": lambda y: y * (1 - y),
}


def input_size(window: int) -> int:
    return STATE + window * (STATE + N_ACTIONS)


def value_net(config: RLConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = input_size(config.window)
    for out in config.widths:
        layers += [nn.Linear(width, out), ACTIVATION[config.activation]()]
        width = out
    layers.append(nn.Linear(width, N_ACTIONS))
    return nn.Sequential(*layers)


def parameter_count(config: RLConfig) -> int:
    sizes = [input_size(config.window), *config.widths, N_ACTIONS]
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


class Window:
    """The mean of the last `size` values, kept as a running sum."""

    def __init__(self, size: int = AVERAGE_OVER):
        self.values: deque[float] = deque(maxlen=size)
        self.total = 0.0

    def add(self, value: float) -> None:
        if len(self.values) == self.values.maxlen:
            self.total -= self.values[0]
        self.values.append(value)
        self.total += value

    def mean(self) -> float | None:
        return self.total / len(self.values) if self.values else None


class Replay:
    """Transitions in one preallocated tensor, a row [input, next input] per transition (so a
    minibatch is one gather and one forward pass); full, a new one replaces a random slot."""

    def __init__(self, capacity: int, width: int):
        self.capacity = capacity
        self.pairs = torch.zeros(capacity, 2, width)
        self.actions = torch.zeros(capacity, 1, dtype=torch.int64)
        self.rewards = torch.zeros(capacity)
        self.size = 0

    def add(self, rng: np.random.Generator, state: np.ndarray, action: int, reward: float,
            next_state: np.ndarray) -> None:
        if self.size < self.capacity:
            slot = self.size
            self.size += 1
        else:
            slot = int(rng.integers(0, self.capacity))
        self.pairs[slot, 0] = torch.from_numpy(state)
        self.pairs[slot, 1] = torch.from_numpy(next_state)
        self.actions[slot, 0] = action
        self.rewards[slot] = reward


class Agent:
    """The world, the value network and the learner. Not thread-safe: one owner at a time."""

    def __init__(self, config: RLConfig):
        self.config = config
        seed = config.seed
        self.world = World(stream_seed(seed, "world"), config.items)
        torch_init = torch.Generator().manual_seed(stream_seed(seed, "init") % 2**63)
        self.net = value_net(config)
        self._linears = [m for m in self.net if isinstance(m, nn.Linear)]
        self._activation, self._slope = FUNCTION[config.activation], SLOPE[config.activation]
        with torch.no_grad():  # torch's own initialisation, U(−1/√fan_in, 1/√fan_in), seeded
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight.uniform_(-bound, bound, generator=torch_init)
                    layer.bias.uniform_(-bound, bound, generator=torch_init)
        self.rng = np.random.default_rng(stream_seed(seed, "agent"))
        self.replay = Replay(config.replay, input_size(config.window))
        self.optimizer = self._optimizer()
        self.learning = True
        self.age = 0  # learning ticks
        self.ticks = 0
        self.epsilon = 1.0
        self.last_reward = 0.0
        self.rewards = Window()
        self.losses = Window()
        self.q_values = np.zeros(N_ACTIONS, dtype=np.float32)
        self.diverged = False
        width = STATE + N_ACTIONS
        self._past = np.zeros(config.window * width, dtype=np.float32)  # newest first
        self.net_input = self._input(self.world.sight.state())
        self.action = 0

    def _optimizer(self) -> torch.optim.Optimizer:
        """One group, no decay of torch's own: `learn` adds the weights' L2 to their gradients
        (the biases' are not decayed), which is what torch's `weight_decay` does."""
        c = self.config
        # torch's fused CPU kernels where it has them: the same rule in fewer operations.
        speed = {"foreach": True} if c.optimizer == "rmsprop" else {"fused": True}
        return torch_optimizer(c.optimizer, self.net.parameters(), c.learningRate,
                               momentum=0.9, **speed)

    def update(self, config: RLConfig) -> None:
        """Apply live settings, weights and memory kept; a new optimizer starts fresh."""
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self.optimizer = self._optimizer()
        for group in self.optimizer.param_groups:
            group["lr"] = config.learningRate

    def _input(self, state: np.ndarray) -> np.ndarray:
        return np.concatenate([state, self._past]) if len(self._past) else state.copy()

    def _remember(self, state: np.ndarray, action: int) -> None:
        if not len(self._past):
            return
        width = STATE + N_ACTIONS
        self._past[width:] = self._past[:-width]
        self._past[:STATE] = state
        self._past[STATE:width] = 0.0
        self._past[STATE + action] = 1.0

    def _epsilon(self) -> float:
        c = self.config
        if not self.learning:
            return c.epsTest
        span = max(1, c.epsSteps - c.epsBurnin)
        return min(1.0, max(c.epsMin, 1.0 - (self.age - c.epsBurnin) / span))

    def act(self) -> int:
        """The action for the present input: random with probability ε, else the best Q."""
        self.epsilon = self._epsilon()
        with torch.no_grad():
            q = self._forward(torch.from_numpy(self.net_input)[None])[-1][0]
        self.q_values = q.numpy()
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(0, N_ACTIONS))
        return int(np.argmax(self.q_values))

    def tick(self) -> float:
        """One tick: act, move the world, remember, learn from one minibatch. Its reward."""
        state, before = self.world.sight.state(), self.net_input
        action = self.action = self.act()
        reward = self.last_reward = self.world.step(action)
        self.ticks += 1
        self.rewards.add(reward)
        self._remember(state, action)
        self.net_input = self._input(self.world.sight.state())
        if self.learning:
            self.age += 1
            self.replay.add(self.rng, before, action, reward, self.net_input)
            if self.replay.size >= self.config.learnStart:
                self.learn()
        return reward

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input and every layer's output (the last: Q-values), without autograd."""
        outs = [x]
        last = len(self._linears) - 1
        for k, layer in enumerate(self._linears):
            x = torch.addmm(layer.bias, x, layer.weight.t())
            if k < last:
                x = self._activation(x)
            outs.append(x)
        return outs

    def learn(self) -> None:
        """One minibatch of Q-learning from the replay memory.

        The gradient of ½·mean((Q(s, a) − (r + γ·max Q(s′)))²) is written out by hand, through
        the inputs' rows only (the targets are constants): a dozen tensor operations instead of
        autograd's graph, the same numbers (`tests/test_rllab_engine.py` checks it against the
        textbook step). The update is `torch.optim`'s, from the gradients put in `.grad`."""
        c, memory = self.config, self.replay
        rows = torch.from_numpy(self.rng.integers(0, memory.size, c.batchSize))
        n = len(rows)
        with torch.no_grad():
            outs = self._forward(memory.pairs[rows].view(2 * n, -1))  # rows: input, next, ...
            q = outs[-1].view(n, 2, N_ACTIONS)
            target = memory.rewards[rows] + c.gamma * q[:, 1].amax(dim=1)
            actions = memory.actions[rows]
            error = q[:, 0].gather(1, actions)[:, 0] - target
            value = 0.5 * float(error.pow(2).mean())
            if not math.isfinite(value):
                self.diverged = True
                return
            delta = torch.zeros(n, N_ACTIONS).scatter_(1, actions, (error / n)[:, None])
            for k in range(len(self._linears) - 1, -1, -1):
                layer, below = self._linears[k], outs[k][0::2]  # the inputs' rows
                layer.weight.grad = delta.t() @ below
                if c.weightDecay:
                    layer.weight.grad.add_(layer.weight, alpha=c.weightDecay)
                layer.bias.grad = delta.sum(dim=0)
                if k:
                    delta = (delta @ layer.weight) * self._slope(below)
        self.optimizer.step()
        self.losses.add(value)

    def activations(self) -> list[np.ndarray]:
        """Each layer's output for the present input (the last one is the Q-values)."""
        with torch.no_grad():
            return [x[0].numpy().copy()
                    for x in self._forward(torch.from_numpy(self.net_input)[None])]
