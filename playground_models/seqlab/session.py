"""`SeqSession`: one learner's live sequence lab, as short jobs on the server's shared workers.

It has the image lab's shape (`imagelab/session.py`), so the same connection driver runs it
(`server/labloop.py`): `work` does one message or one slice of training per job, a frame is
built in parts (`imagelab/parts.py`) and only after the previous one was sent (`frame_sent`).
While comparing, an RNN and an LSTM with the session's other settings train in lockstep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..imagelab.parts import Parts, run_until
from ..imagelab.session import LabError as SeqError  # a command that cannot be carried out
from ..imagelab.snapshot import pack
from ..messages import in_lang
from .config import LIVE, SeqConfig, SeqConfigError, parse_link
from .limits import SeqLimits
from .trainer import SeqTrainer

PROTOCOL_VERSION = 1
FRAME_INTERVAL_S = 0.2  # at most 5 frames a second
COMPARED = ("rnn", "lstm")
Send = Callable[[dict[str, Any]], None]


class SeqSession:
    def __init__(self, send: Send, *, limits: SeqLimits | None = None):
        self._send = send
        self.limits = limits or SeqLimits()
        self.trainer: SeqTrainer | None = None
        self.compared: dict[str, SeqTrainer] = {}
        self.state = "paused"  # paused, playing, comparing, diverged
        self.version = 0
        self.lang = "en"
        self._task: Parts[None] | None = None
        self._frame_pending = False
        self._last_frame = 0.0
        self._trained = (0, 0.0)  # examples and seconds since the last frame
        self._seq = 0
        self._closed = False

    # --- called by the server (the interface of `server/labloop.py`) -----------------------
    @property
    def takes_messages(self) -> bool:
        return self._task is None

    @property
    def busy(self) -> bool:
        return not self._closed and (self._task is not None or self._running)

    due_in_s = 0.0  # never paced: busy means work now

    @property
    def _running(self) -> bool:
        return self.state in ("playing", "comparing")

    def frame_sent(self) -> None:
        self._frame_pending = False

    def close(self) -> None:
        self._closed = True
        self._task = None
        self.trainer = None
        self.compared = {}

    def work(self, budget_s: float, message: dict[str, Any] | None = None,
             stop_early: Callable[[], bool] | None = None) -> None:
        """About `budget_s` seconds of work on the calling worker thread: a half-done command,
        else `message`, else (running) the next frame when due or one slice of training."""
        if self._closed:
            return
        deadline = time.perf_counter() + budget_s
        if self._task is None:
            if message is not None:
                self._task = self._handle(message)
            elif self._frame_due():
                self._task = self._guarded(self._frame(), "frame")
            elif self._running:
                self._train_until(deadline, stop_early)
                return
            else:
                return
        if run_until(self._task, deadline, stop_early):
            self._task = None

    # --- training and frames -----------------------------------------------------------------
    def _frame_due(self) -> bool:
        return (self._running and not self._frame_pending and self._trained[0] > 0
                and time.perf_counter() - self._last_frame >= FRAME_INTERVAL_S)

    def _trainers(self) -> list[SeqTrainer]:
        if self.state == "comparing":
            return list(self.compared.values())
        return [self.trainer] if self.trainer is not None else []

    def _train_until(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
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
    def _emit(self, message: dict[str, Any]) -> None:
        if not self._closed:
            self._send(message)

    def _guarded(self, parts: Parts[None], kind: str) -> Parts[None]:
        """`parts`, with an error a message can name said as one, and a bug as `internal`;
        the session goes on either way."""
        try:
            yield from parts
        except SeqError as err:
            self._emit({"type": "error", "code": err.code, "field": err.field,
                        "message": err.message})
        except SeqConfigError as err:
            self._emit({"type": "error", "code": "bad_value", "field": err.key,
                        "message": f"{err.key}: {in_lang(err.message, self.lang)}"})
        except Exception as err:  # noqa: BLE001 — a bug must not end the session
            if self._running:
                self._set_state("paused")
            self._emit({"type": "error", "code": "internal", "field": None,
                        "message": f"{kind} failed: {type(err).__name__}: {err}"})

    def _handle(self, message: dict[str, Any]) -> Parts[None]:
        kind = message["type"]
        if kind not in ("start", "ping") and self.trainer is None:
            return self._guarded(_raise(SeqError("not_started", None, "send 'start' first")), kind)
        return self._guarded(getattr(self, f"_on_{kind}")(message), kind)

    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.trainer is not None:
            text = f"diverged at step {self.trainer.steps} — lower the learning rate"
        self._emit({"type": "state", "state": state, "message": text})

    def _config_message(self, config: SeqConfig, **extra: Any) -> dict[str, Any]:
        return {"type": "config", "config": config.to_dict(), "query": config.query,
                "version": self.version, "live": list(LIVE), **extra}

    # --- commands ------------------------------------------------------------------------------
    def _on_ping(self, m: dict[str, Any]) -> Parts[None]:
        self._emit({"type": "pong", "id": m.get("id")})
        yield from ()

    def _on_start(self, m: dict[str, Any]) -> Parts[None]:
        self.lang = m.get("lang") or "en"
        if m.get("url") is not None:
            config, warnings = parse_link(m["url"])
            try:  # a link over a limit opens at the defaults, saying why
                self.limits.check(config)
            except SeqConfigError as err:
                warnings.append(f"{err.key}: {in_lang(err.message, self.lang)}")
                config = SeqConfig()
        else:
            config, warnings = SeqConfig().with_changes(m.get("config") or {}), []
        yield from self._build(config, [in_lang(w, self.lang) for w in warnings])

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


def _raise(err: Exception) -> Parts[None]:
    raise err
    yield  # a generator: the error is raised when the job runs it
