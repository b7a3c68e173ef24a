"""`RLSession`: one learner's live agent lab, as short jobs on the server's shared workers.

A `ShellSession` (`labsession.py`), as the sequence lab's is, so the same connection driver
runs it (`server/labloop.py`): `work` does one message, one frame or one slice of ticks per
job. The speed caps the ticks per second (slow 5, normal 30, fast 150; very fast as many as the worker
gives), and a frame follows every tick at slow and normal speed, at most 30 a second when fast
and 2 a second when very fast; between ticks at a capped speed `due_in_s` tells the driver how
long it may sleep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..imagelab.parts import Parts
from ..labsession import Send, ShellSession
from .agent import Agent
from .config import TABLE, RLConfig, RLConfigError
from .limits import RLLimits
from .pretrained import load_into
from .world import ACTIONS, AGENT_RADIUS, EYE_ANGLES, EYE_RANGE, HEIGHT, ITEM_RADIUS, WALLS, WIDTH

PROTOCOL_VERSION = 1
SPEEDS = {"slow": 5.0, "normal": 30.0, "fast": 150.0, "veryfast": math.inf}  # ticks a second
FRAME_EVERY_S = {"slow": 0.0, "normal": 0.0, "fast": 1 / 30, "veryfast": 0.5}
CURVE_EVERY = 100  # ticks between two points of the reward curve
CURVE_KEPT = 2000  # points a frame may carry at most (the oldest go first)
LAG_S = 0.5  # a capped speed further behind than this forgets the ticks it owes


def world_json() -> dict[str, Any]:
    """The fixed geometry, sent once with each `config`."""
    return {"width": WIDTH, "height": HEIGHT, "walls": WALLS.tolist(), "eye_range": EYE_RANGE,
            "eye_angles": EYE_ANGLES.tolist(), "agent_radius": AGENT_RADIUS,
            "item_radius": ITEM_RADIUS, "actions": [list(a) for a in ACTIONS]}


class RLSession(ShellSession):
    config_error = RLConfigError
    table = TABLE
    default_config = RLConfig()

    def __init__(self, send: Send, *, limits: RLLimits | None = None):
        super().__init__(send)
        self.limits = limits or RLLimits()
        self.agent: Agent | None = None
        self.state = "paused"  # paused, playing, diverged
        self.speed = "fast"
        self._unframed = 0  # ticks since the last frame
        self._anchor = (0.0, 0)  # (time, ticks) the capped speed counts from
        self._rate = (0, 0.0)  # ticks and seconds since the last frame
        self._curve: list[list[float]] = []

    @property
    def _started(self) -> bool:
        return self.agent is not None

    def _drop(self) -> None:
        self.agent = None

    @property
    def current_config(self) -> RLConfig:
        assert self.agent is not None
        return self.agent.config

    def _apply_live(self, config: RLConfig) -> None:
        assert self.agent is not None
        self.agent.update(config)

    def _on_playing(self) -> None:
        self._restart_clock()
        self._last_frame = time.perf_counter()
        self._rate = (0, 0.0)

    @property
    def due_in_s(self) -> float:  # type: ignore[override]
        """Seconds until there is work again while playing at a capped speed (0: now)."""
        if self._task is not None or self.state != "playing" or self._frame_due():
            return 0.0
        rate = SPEEDS[self.speed]
        if math.isinf(rate):
            return 0.0
        since, done = self._anchor
        return max(0.0, since + (self._ticks_since(done) + 1) / rate - time.perf_counter())

    # --- ticks and frames ------------------------------------------------------------------
    def _ticks_since(self, done: int) -> int:
        assert self.agent is not None
        return self.agent.ticks - done

    def _frame_due(self) -> bool:
        return (self.state == "playing" and not self._frame_pending and self._unframed > 0
                and time.perf_counter() - self._last_frame >= FRAME_EVERY_S[self.speed])

    def _restart_clock(self) -> None:
        self._anchor = (time.perf_counter(), self.agent.ticks if self.agent else 0)

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        agent = self.agent
        assert agent is not None
        rate = SPEEDS[self.speed]
        start = time.perf_counter()
        if math.isinf(rate):
            owed = None
        else:
            since, done = self._anchor
            owed = int((start - since) * rate) - self._ticks_since(done)
            if owed > rate * LAG_S:  # far behind (a slow worker): keep the pace from now
                self._restart_clock()
                owed = 1
        ticks = 0
        while owed is None or ticks < owed:
            self._one_tick(agent)
            ticks += 1
            if agent.diverged:
                self._set_state("diverged")
                break
            if FRAME_EVERY_S[self.speed] == 0.0:  # a frame after every tick
                break
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                break
        done, seconds = self._rate
        self._rate = (done + ticks, seconds + time.perf_counter() - start)

    def _one_tick(self, agent: Agent) -> None:
        agent.tick()
        self._unframed += 1
        if agent.ticks % CURVE_EVERY == 0:
            mean = agent.rewards.mean()
            self._curve.append([agent.ticks, round(mean if mean is not None else 0.0, 4)])
            del self._curve[:-CURVE_KEPT]

    def _frame(self) -> Parts[None]:
        agent = self.agent
        assert agent is not None
        done, seconds = self._rate
        if self.state == "playing":  # a paced speed waits between ticks: count wall time
            seconds = time.perf_counter() - self._last_frame
        self._rate = (0, 0.0)
        self._seq += 1
        self._unframed = 0
        curve, self._curve = self._curve, []
        message = {"type": "frame", "seq": self._seq, "version": self.version,
                   "state": self.state, "speed": self.speed,
                   "ticks_per_s": round(done / seconds, 1) if seconds > 0 else 0.0,
                   **look(agent), "curve": curve}
        self._frame_pending = True
        self._last_frame = time.perf_counter()
        self._emit(message)
        yield from ()

    # --- messages ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.agent is not None:
            text = f"diverged at tick {self.agent.ticks} — lower the learning rate"
        self._emit({"type": "state", "state": state, "speed": self.speed,
                    "learning": self.agent.learning if self.agent else True, "message": text})

    def _config_message(self, config: RLConfig, **extra: Any) -> dict[str, Any]:
        return super()._config_message(config, world=world_json(), **extra)

    # --- commands ------------------------------------------------------------------------------
    def _build(self, config: RLConfig, warnings: list[str]) -> Parts[None]:
        self.limits.check(config)  # from the settings alone: nothing is allocated yet
        agent = Agent(config)
        load_into(agent, config)  # the pretrained agent's weights, when asked
        if config.start == "pretrained":  # as ConvNetJS loads its net: watch it, at normal speed
            agent.learning = False
            self.speed = "normal"
        self.agent = agent
        self.version += 1
        self.state = "paused"
        self._curve = []
        self._unframed = 0
        self._emit(self._config_message(config, warnings=warnings, rebuilt=True))
        yield
        yield from self._frame()
        self._set_state("paused")

    def _on_pause(self, m: dict[str, Any]) -> Parts[None]:
        playing = self.state == "playing"
        self.state = "paused"
        if playing and self._unframed:  # the ticks since the last frame, shown
            yield from self._frame()
        self._set_state("paused")

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        agent = self.agent
        assert agent is not None
        self.state = "paused"
        start = time.perf_counter()
        for _ in range(int(m.get("n", 1))):  # a tick a piece: the next job goes on
            self._one_tick(agent)
            if agent.diverged:
                break
            yield
        self._rate = (int(m.get("n", 1)), time.perf_counter() - start)
        yield from self._frame()
        self._set_state("diverged" if agent.diverged else "paused")

    def _on_learn(self, m: dict[str, Any]) -> Parts[None]:
        assert self.agent is not None
        self.agent.learning = bool(m["on"])
        self._set_state(self.state)
        yield from ()

    def _on_speed(self, m: dict[str, Any]) -> Parts[None]:
        self.speed = m["speed"]
        self._restart_clock()
        self._set_state(self.state)
        yield from ()


def _round(values: np.ndarray, places: int = 3) -> list[float]:
    return [round(float(v), places) for v in np.nan_to_num(values)]


def look(agent: Agent) -> dict[str, Any]:
    """What a frame shows of the agent, its world and its brain, as small JSON."""
    w, sight = agent.world, agent.world.sight
    acts = agent.activations()
    loss, mean = agent.losses.mean(), agent.rewards.mean()
    return {
        "tick": agent.ticks, "age": agent.age, "learning": agent.learning,
        "agent": {"x": round(w.x, 2), "y": round(w.y, 2), "angle": round(w.angle, 4)},
        "eyes": {"kind": sight.kind.tolist(), "distance": _round(sight.distance, 1)},
        "items": [[round(float(x), 1), round(float(y), 1), int(k)]
                  for (x, y), k in zip(w.items, w.kinds, strict=True)],
        "eaten": {"apples": w.eaten[1], "poison": w.eaten[2]},
        "reward": {"last": round(agent.last_reward, 4),
                   "mean": None if mean is None else round(mean, 4)},
        "loss": None if loss is None else round(loss, 6),
        "epsilon": round(agent.epsilon, 4), "replay": agent.replay.size,
        "action": agent.action if agent.ticks else None, "q": _round(acts[-1], 4),
        "layers": [_round(a) for a in acts],
    }

