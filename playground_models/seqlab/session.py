"""`SeqSession`: one learner's live sequence lab, as short jobs on the server's shared workers.

A `ShellSession` (`labsession.py`), so the same connection driver runs it
(`server/labloop.py`): `work` does one message or one slice of training per job, a frame is
built in parts (`imagelab/parts.py`) and only after the previous one was sent (`frame_sent`).
While comparing, an RNN and an LSTM with the session's other settings train in lockstep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..imagelab.parts import Parts
from ..imagelab.snapshot import pack
from ..labsession import Send, ShellSession
from .config import LIVE, TABLE, SeqConfig, SeqConfigError
from .limits import SeqLimits
from .trainer import SeqTrainer

PROTOCOL_VERSION = 1
FRAME_INTERVAL_S = 0.2  # at most 5 frames a second
COMPARED = ("rnn", "lstm")


class SeqSession(ShellSession):
    config_error = SeqConfigError
    table = TABLE
    default_config = SeqConfig()

    def __init__(self, send: Send, *, limits: SeqLimits | None = None):
        super().__init__(send)
        self.limits = limits or SeqLimits()
        self.trainer: SeqTrainer | None = None
        self.compared: dict[str, SeqTrainer] = {}
        self.state = "paused"  # paused, playing, comparing, diverged
        self._trained = (0, 0.0)  # examples and seconds since the last frame

    @property
    def _running(self) -> bool:
        return self.state in ("playing", "comparing")

    @property
    def _started(self) -> bool:
        return self.trainer is not None

    def _drop(self) -> None:
        self.trainer = None
        self.compared = {}

    # --- training and frames -----------------------------------------------------------------
    def _frame_due(self) -> bool:
        return (self._running and not self._frame_pending and self._trained[0] > 0
                and time.perf_counter() - self._last_frame >= FRAME_INTERVAL_S)

    def _trainers(self) -> list[SeqTrainer]:
        if self.state == "comparing":
            return list(self.compared.values())
        return [self.trainer] if self.trainer is not None else []

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        start = time.perf_counter()
        examples = 0
        while True:
            for trainer in self._trainers():
                trainer.step(1)
                examples += trainer.config.batchSize
            if self.state == "playing" and self.trainer is not None and self.trainer.diverged:
                self._set_state("diverged")
                break
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                break
        done, seconds = self._trained
        self._trained = (done + examples, seconds + time.perf_counter() - start)

    def _frame(self) -> Parts[None]:
        done, seconds = self._trained
        self._trained = (0, 0.0)
        rate = round(done / seconds, 1) if seconds > 0 else 0.0
        self._seq += 1
        if self.state == "comparing":
            runs = {}
            for cell, trainer in self.compared.items():
                runs[cell] = yield from _looked_at(trainer)
            message: dict[str, Any] = {"type": "compare_frame", "seq": self._seq,
                                       "examples_per_s": rate, "runs": runs}
        else:
            assert self.trainer is not None
            seen = yield from _looked_at(self.trainer)
            message = {"type": "frame", "seq": self._seq, "version": self.version,
                       "state": self.state, "examples_per_s": rate, **seen,
                       "live": {k: getattr(self.trainer.config, k) for k in LIVE}}
        self._frame_pending = True
        self._last_frame = time.perf_counter()
        self._emit(message)

    # --- messages ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.trainer is not None:
            text = f"diverged at step {self.trainer.steps} — lower the learning rate"
        self._emit({"type": "state", "state": state, "message": text})

    # --- commands ------------------------------------------------------------------------------
    def _build(self, config: SeqConfig, warnings: list[str]) -> Parts[None]:
        self.limits.check(config)  # from the sizes alone: nothing is allocated yet
        self.trainer = SeqTrainer(config)
        self.compared = {}
        self.version += 1
        self.state = "paused"
        self._emit(self._config_message(config, warnings=warnings, rebuilt=True))
        yield
        yield from self._frame()
        self._set_state("paused")

    def _on_update(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        changes = m["changes"]
        config = self.trainer.config.with_changes(changes)
        self.limits.check(config)
        if self.state == "comparing":
            self._stop_compare()
        if any(k not in LIVE for k in changes):
            yield from self._build(config, [])
            return
        self.trainer.update(config)
        self.version += 1
        self._emit(self._config_message(config, changed=sorted(changes)))

    def _on_play(self, m: dict[str, Any]) -> Parts[None]:
        if self.state != "diverged":
            self._stop_compare()
            self._set_state("playing")
        yield from ()

    def _on_pause(self, m: dict[str, Any]) -> Parts[None]:
        self._stop_compare()
        self._set_state("paused")
        yield from ()

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        self._stop_compare()
        self.state = "paused"
        start = time.perf_counter()
        for _ in range(int(m.get("n", 1))):  # one update a piece: the next job goes on
            self.trainer.step(1)
            if self.trainer.diverged:
                break
            yield
        self._trained = (self._trained[0] + int(m.get("n", 1)) * self.trainer.config.batchSize,
                         self._trained[1] + time.perf_counter() - start)
        yield from self._frame()
        self._set_state("diverged" if self.trainer.diverged else "paused")

    def _on_reset(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        self._stop_compare()
        self.trainer.reset()
        self._trained = (0, 0.0)
        yield from self._frame()
        self._set_state("paused")

    def _on_compare(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        if m["action"] == "stop":
            self._stop_compare()
            self._set_state("paused")
            return
        base = self.trainer.config
        configs = {cell: base.with_changes({"cell": cell}) for cell in COMPARED}
        for config in configs.values():
            self.limits.check(config)
        for cell, config in configs.items():
            self.compared[cell] = SeqTrainer(config)
            yield
        self._trained = (0, 0.0)
        self._set_state("comparing")

    def _stop_compare(self) -> None:
        self.compared = {}
        if self.state == "comparing":
            self.state = "paused"


def _looked_at(trainer: SeqTrainer) -> Parts[dict[str, Any]]:
    """A trainer's metrics and what it does inside, in pieces."""
    train = trainer.take_train_metrics()
    test = yield from trainer.evaluate_in_parts()
    inside = trainer.inspect()
    return {
        "cell": trainer.config.cell,
        "steps": trainer.steps,
        "examples": trainer.examples,
        "train": train.to_json(),
        "test": test.to_json(),
        "grad_norm": trainer.grad_norm,
        **{name: pack(array) for name, array in inside.items()},
    }

