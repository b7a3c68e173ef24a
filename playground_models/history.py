"""A run's history: the live changes made while it trained, each with the update (step) at
which it took effect, so that a link replays the run to the same numbers, bit for bit.

A link holds the run's current settings, as any link does, and its `h` key the changes plus
`from`: what the settings they move were when the run started, so the start is the link's
settings with those put back. A change is one of
- `["set", step, {name: value, …}]`: live, data or view parameters (λ, the learning rate,
  points added or removed, …); a parameter that rebuilds the run starts a new run instead, with
  an empty history, so none is ever in one;
- `["w", step, layer, to, from, value]` and `["b", step, layer, to, value]`: a weight or bias
  set by hand.

The trainer records them (`Trainer.history`); a link carries them in its `h` key, deflated
JSON in base64url after `v1.`, and may name an epoch to open at in `at`. A link stays within
`MAX_CHARS` of history: 700 to 1,900 changes (measured: 729 weights set by hand at random
steps; 948 to 1,889 learning rates set by hand). Past that, the link carries the changes that
fit and opens at the epoch before the first that did not (`fits`), and the page says so.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .experiment import ConfigError
from .messages import said
from .params import BY_NAME, Effect

if TYPE_CHECKING:
    from .trainer import Trainer

KEY = "h"
AT_KEY = "at"
PREFIX = "v1."
MAX_CHARS = 6000  # of the `h` value: a link of the biggest config plus this stays under 8 KB
MAX_CHANGES = 5000  # read from one link at most (their replay is bounded by work, elsewhere)
MAX_AT = 1_000_000  # the latest epoch a link may open at (its replay is bounded by work, too)

Change = list[Any]


def start_values(changes: Sequence[Change], base: Any) -> dict[str, Any]:
    """What the settings that `changes` move were when the run started (from `base`, its
    experiment): a link holds the current settings, and these to go back to its start."""
    names: dict[str, None] = {}
    for change in changes:
        if change[0] == "set":
            names.update(dict.fromkeys(change[2]))
    return {name: _plain(base[name]) for name in names}


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


def encode(changes: Sequence[Change], start: dict[str, Any] | None = None) -> str:
    """The `h` value: `{"from": start, "changes": changes}`, deflated, in base64url."""
    body = {"from": start or {}, "changes": list(changes)}
    raw = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def fits(changes: Sequence[Change], start: dict[str, Any] | None = None) -> int:
    """How many of the first changes a link can carry (all of them, usually)."""
    if len(encode(changes, start)) <= MAX_CHARS:
        return len(changes)
    low, high = 0, len(changes)  # the longest prefix within MAX_CHARS
    while low < high:
        mid = (low + high + 1) // 2
        if len(encode(changes[:mid], start)) <= MAX_CHARS:
            low = mid
        else:
            high = mid - 1
    return low


def decode(text: str) -> tuple[dict[str, Any], list[Change]]:
    """The start values and changes of an `h` value, checked in shape and order (their values
    are checked when they are applied); a bad one raises `ConfigError("h")`."""
    if not text.startswith(PREFIX):
        raise ConfigError(KEY, said("err.h.prefix", prefix=repr(PREFIX)))
    body = text[len(PREFIX):]
    try:
        data = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)),
                                          bufsize=1 << 16))
    except (binascii.Error, zlib.error, ValueError):
        raise ConfigError(KEY, said("err.h.undecodable")) from None
    if not isinstance(data, dict) or set(data) != {"from", "changes"}:
        raise ConfigError(KEY, said("err.h.shape"))
    start, changes = data["from"], data["changes"]
    if not isinstance(start, dict) or not all(_live(name) for name in start):
        raise ConfigError(KEY, said("err.h.fromLive"))
    if not isinstance(changes, list) or len(changes) > MAX_CHANGES:
        raise ConfigError(KEY, said("err.h.tooMany", max=MAX_CHANGES))
    last = 0
    for i, change in enumerate(changes):
        _check(change, i)
        if change[1] < last:
            raise ConfigError(KEY, said("err.h.order", n=i + 1, step=change[1]))
        last = change[1]
    return start, changes


def _live(name: str) -> bool:
    p = BY_NAME.get(name)
    return p is not None and p.effect is not Effect.REBUILD


def _check(change: Any, i: int) -> None:
    n = i + 1
    if not isinstance(change, list) or len(change) < 3 or change[0] not in ("set", "w", "b"):
        raise ConfigError(KEY, said("err.h.notChange", n=n))
    step = change[1]
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**53:
        raise ConfigError(KEY, said("err.h.step", n=n))
    if change[0] == "set":
        values = change[2]
        if len(change) != 3 or not isinstance(values, dict) or not values:
            raise ConfigError(KEY, said("err.h.setsNothing", n=n))
        for name in values:
            if not _live(name):
                raise ConfigError(KEY, said("err.h.notLive", n=n, name=repr(name)))
        return
    numbers = change[2:]
    if len(numbers) != (4 if change[0] == "w" else 3) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        raise ConfigError(KEY, said("err.h.notEdit", n=n))


class Replay:
    """Training a fresh trainer (the link's config) through `changes`, each applied when its
    step is reached, up to the last one, or to the end of epoch `at_epoch` when given (training
    on to it if the changes end before; a change made at that very step is left for later), or
    to update `at_step` when given (every change made, then training on to that step: the
    moment a change was made, before it). `advance` does it a slice at a time; a run that
    diverges stops where it did. A change that cannot be made raises `ConfigError("h")`."""

    def __init__(self, trainer: Trainer, changes: Sequence[Change], at_epoch: int | None = None,
                 at_step: int | None = None):
        self.trainer, self.changes, self.at_epoch = trainer, list(changes), at_epoch
        self.at_step = at_step
        self.applied = 0  # changes made so far

    def advance(self, max_steps: int | None = None) -> bool:
        """Train at most `max_steps` updates (all that is left for None); whether it is done."""
        t, at = self.trainer, self.at_epoch
        budget = max_steps if max_steps is not None else 2**62
        while t.diverged_at is None:
            # At epoch `at` the page shows what its maker saw then: a change made right after
            # that epoch's frame (at its last step) is not made yet.
            if at is not None and t.epoch >= at:
                return True
            if self.applied == len(self.changes):
                if self.at_step is not None:
                    left = self.at_step - t.steps
                    if left <= 0:
                        return True
                    if budget <= 0:
                        return False
                    budget -= t.train_steps(min(budget, left))
                    continue
                if at is None:
                    return True
                if budget <= 0:
                    return False
                budget -= t.train_steps(min(budget, len(t.y_train)), stop_at_epoch_end=True)
                continue
            change = self.changes[self.applied]
            if t.steps >= change[1]:
                try:
                    _apply(t, change)
                except (ConfigError, ValueError) as err:
                    raise ConfigError(KEY, said("err.h.cannotMake", n=self.applied + 1, error=_reason(err))) from None
                self.applied += 1
                continue
            if budget <= 0:
                return False
            budget -= t.train_steps(min(budget, change[1] - t.steps), stop_at_epoch_end=at is not None)
        return True


def replay(trainer: Trainer, changes: Sequence[Change], at_epoch: int | None = None) -> int:
    """`Replay` in one go; how many changes were made."""
    r = Replay(trainer, changes, at_epoch)
    r.advance()
    return r.applied


def _apply(trainer: Trainer, change: Change) -> None:
    kind = change[0]
    if kind == "set":
        trainer.update(trainer.experiment.replace(**change[2]))
    elif kind == "w":
        _, _, layer, to, from_, value = change
        trainer.set_weight(int(layer), int(to), int(from_), float(value))
    else:
        _, _, layer, to, value = change
        trainer.set_bias(int(layer), int(to), float(value))


def _reason(err: Exception) -> Any:
    """Why a change could not be made, said in any language where it can be."""
    return said("err.field", field=err.key, error=err.message) if isinstance(err, ConfigError) else str(err)
