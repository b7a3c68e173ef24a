"""The agent lab's world: ConvNetJS's `rldemo` arena, deterministic from the seed.

A 700 × 500 room with two inner boxes open on their left side, items on the floor (apples and
poison, half and half on average) and one round agent with two wheels. Each of its 9 eyes looks
up to 85 px along its own direction and senses the nearest wall, apple or poison on its line.
Every tick the agent picks one of 5 wheel-speed pairs; the reward is ConvNetJS's: how far the
eyes see from walls (up to 1), a small bonus for going straight in the open, +5 for an apple
and −6 for poison. Eaten items come back elsewhere over time; old ones are replaced.

Geometry runs in NumPy, all rays against all walls and items at once. Every random draw comes
from the world's own generator, so the same seed and the same actions give the same world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WIDTH, HEIGHT = 700, 500
PAD = 10  # the outer wall's distance from the edge
ITEM_RADIUS = 10.0
AGENT_RADIUS = 10.0
EYE_RANGE = 85.0
EYE_ANGLES = np.array([(k - 3) * 0.25 for k in range(9)])  # radians from the heading
# The five actions: the two wheels' rotation speeds (radians per tick).
ACTIONS = ((1.0, 1.0), (0.8, 1.0), (1.0, 0.8), (0.5, 0.0), (0.0, 0.5))
APPLE, POISON = 1, 2  # item kinds; an eye that sees a wall senses kind 0, nothing −1
EAT_REWARD = {APPLE: 5.0, POISON: -6.0}
ITEM_OLD = 5000  # ticks after which an item may be replaced
SENSES = 3  # per eye: wall, apple, poison proximity


def _box(x: float, y: float, w: float, h: float,
         open_left: bool = False) -> list[tuple[float, float, float, float]]:
    sides = [(x, y, x + w, y), (x + w, y, x + w, y + h), (x + w, y + h, x, y + h),
             (x, y + h, x, y)]
    return sides[:3] if open_left else sides


WALLS = np.array(_box(PAD, PAD, WIDTH - 2 * PAD, HEIGHT - 2 * PAD)
                 + _box(100, 100, 200, 300, open_left=True)
                 + _box(400, 100, 200, 300, open_left=True), dtype=np.float64)


_Q1 = WALLS[:, :2]
_E = WALLS[:, 2:] - WALLS[:, :2]


def _crosses(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """For segments p1→p2 [R, 2] (p1 may be one point [2]) against the walls: where along each
    segment (0–1) each wall crosses it, inf where it does not (strictly inside both segments;
    parallel never)."""
    d = p2 - p1  # [R, 2]
    q1, e = _Q1, _E
    p1 = np.broadcast_to(p1, d.shape)
    denom = e[None, :, 1] * d[:, None, 0] - e[None, :, 0] * d[:, None, 1]
    rel = p1[:, None, :] - q1[None, :, :]  # [R, K, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ua = (e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]) / denom
        ub = (d[:, None, 0] * rel[..., 1] - d[:, None, 1] * rel[..., 0]) / denom
    hit = (denom != 0) & (ua > 0) & (ua < 1) & (ub > 0) & (ub < 1)
    return np.where(hit, ua, np.inf)


@dataclass
class Sight:
    """What the eyes sense at the start of a tick: per eye the kind seen (−1 nothing, 0 wall,
    1 apple, 2 poison) and how far (`EYE_RANGE` when nothing)."""

    kind: np.ndarray  # [9] int
    distance: np.ndarray  # [9] float

    def __post_init__(self) -> None:
        out = np.ones((len(self.kind), SENSES), dtype=np.float32)
        seen = self.kind >= 0
        out[np.flatnonzero(seen), self.kind[seen]] = self.distance[seen] / EYE_RANGE
        self._state = out.reshape(-1)
        self._state.flags.writeable = False

    def state(self) -> np.ndarray:
        """The agent's input: per eye (wall, apple, poison), each 1 unless that kind is seen,
        then its distance over the range (near → 0), as ConvNetJS encodes it. Read-only."""
        return self._state


class World:
    """One agent among the items. Not thread-safe: one owner at a time."""

    def __init__(self, seed: int, items: int = 30):
        self.rng = np.random.default_rng(seed)
        self.items_wanted = items
        self.clock = 0
        self.x, self.y, self.angle = 50.0, 50.0, 0.0
        self.items = np.zeros((0, 2))
        self.kinds = np.zeros(0, dtype=np.int64)
        self.ages = np.zeros(0, dtype=np.int64)
        for _ in range(items):
            self._add_item()
        self.eaten = {APPLE: 0, POISON: 0}
        self.sight = self.look()

    def _add_item(self) -> None:
        x = self.rng.uniform(20, WIDTH - 20)
        y = self.rng.uniform(20, HEIGHT - 20)
        kind = int(self.rng.integers(1, 3))
        self.items = np.vstack([self.items, [[x, y]]])
        self.kinds = np.append(self.kinds, kind)
        self.ages = np.append(self.ages, 0)

    def eye_directions(self) -> np.ndarray:
        a = self.angle + EYE_ANGLES
        return np.stack([np.sin(a), np.cos(a)], axis=1)  # [9, 2], unit vectors

    def look(self) -> Sight:
        """The nearest wall or item along each eye."""
        p = np.array([self.x, self.y])
        dirs = self.eye_directions()
        ends = p + EYE_RANGE * dirs
        wall = _crosses(p, ends).min(axis=1) * EYE_RANGE  # the nearest wall's distance, or inf
        kind = np.where(np.isfinite(wall), 0, -1)
        distance = np.where(np.isfinite(wall), wall, EYE_RANGE)
        if len(self.items):
            rel = self.items - p  # [N, 2]
            t = dirs @ rel.T  # [9, N]: how far along each eye the item's centre lies
            off = np.abs(dirs[:, 0:1] * rel[None, :, 1] - dirs[:, 1:2] * rel[None, :, 0])
            seen = (off <= ITEM_RADIUS) & (t > 0) & (t < EYE_RANGE)
            t = np.where(seen, t, np.inf)
            nearest = np.argmin(t, axis=1)
            near = t[np.arange(len(dirs)), nearest]
            closer = near < distance
            kind = np.where(closer, self.kinds[nearest], kind)
            distance = np.where(closer, near, distance)
        return Sight(kind.astype(np.int64), distance)

    def step(self, action: int) -> float:
        """Move by `action`, eat, renew the items, and return the tick's reward (which uses
        what the eyes saw at the start of the tick, before the move, as ConvNetJS's does)."""
        sight = self.sight
        self.clock += 1
        self._move(*ACTIONS[action])
        digestion = self._eat()
        self._renew()
        self.sight = self.look()
        return reward(sight, action) + digestion

    def _move(self, rot1: float, rot2: float) -> None:
        """Two wheels half a radius either side of the centre, each turning the body about the
        other: the new centre is the mean of the two turned positions."""
        h = AGENT_RADIUS / 2.0
        side = np.array([math.cos(self.angle), -math.sin(self.angle)]) * h  # to wheel 1
        p = np.array([self.x, self.y])
        w1, w2 = p + side, p - side
        moved = 0.5 * (w2 + _rotate(side, -rot1)) + 0.5 * (w1 + _rotate(-side, rot2))
        self.angle = (self.angle - rot1 + rot2) % (2 * math.pi)
        if np.isfinite(_crosses(p, moved[None])).any():
            return  # it would pass a wall: it stays where it was (turned)
        self.x = float(np.clip(moved[0], 0, WIDTH))
        self.y = float(np.clip(moved[1], 0, HEIGHT))

    def _eat(self) -> float:
        if not len(self.items):
            return 0.0
        p = np.array([self.x, self.y])
        close = np.flatnonzero(np.hypot(*(self.items - p).T) < ITEM_RADIUS + AGENT_RADIUS)
        if not len(close):
            return 0.0
        clear = ~np.isfinite(_crosses(p, self.items[close])).any(axis=1)
        eaten = close[clear]
        gained = 0.0
        for i in eaten:
            kind = int(self.kinds[i])
            self.eaten[kind] += 1
            gained += EAT_REWARD[kind]
        self._drop(eaten)
        return gained

    def _renew(self) -> None:
        """Items age; an old one may go every 100 ticks, and a missing one may come back
        every 10 (ConvNetJS's rates)."""
        self.ages += 1
        if self.clock % 100 == 0 and len(self.items):
            draws = self.rng.random(len(self.items))
            self._drop(np.flatnonzero((self.ages > ITEM_OLD) & (draws < 0.1)))
        if len(self.items) < self.items_wanted and self.clock % 10 == 0 and self.rng.random() < 0.25:
            self._add_item()

    def _drop(self, index: np.ndarray) -> None:
        if len(index):
            keep = np.ones(len(self.items), dtype=bool)
            keep[index] = False
            self.items, self.kinds, self.ages = self.items[keep], self.kinds[keep], self.ages[keep]


def _rotate(v: np.ndarray, a: float) -> np.ndarray:
    """`v` turned by `a` radians clockwise on the screen (y grows downward)."""
    c, s = math.cos(a), math.sin(a)
    return np.array([v[0] * c + v[1] * s, -v[0] * s + v[1] * c])


def reward(sight: Sight, action: int) -> float:
    """ConvNetJS's reward without the eating: the mean over eyes of how far each sees from a
    wall (1 when it sees none), doubled and capped at 1, plus a tenth of that for going straight
    ahead when walls are far."""
    free = np.where(sight.kind == 0, sight.distance / EYE_RANGE, 1.0)
    proximity = min(1.0, 2.0 * float(free.mean()))
    forward = 0.1 * proximity if action == 0 and proximity > 0.75 else 0.0
    return proximity + forward
