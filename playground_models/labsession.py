"""`ShellSession`: what a session of a lab on the shared socket shell (`server/labshell.py`) is,
as the sequence lab's `SeqSession` and the agent lab's `RLSession` both are.

`LabLink` (`server/labloop.py`) hands it one message or one slice of work per job on the
shared workers; `work` goes on with a half-done command first, else handles the message, else
(running) builds the next frame when one is due or advances the run. A command is a generator
of pieces (`imagelab/parts.py`), so a long one spreads over jobs. An error a message can name
becomes an `error` naming the field; a bug becomes `internal`; the session goes on either way.

A lab says what running means (`_running`), when a frame is due (`_frame_due`), how to build
one (`_frame`), how to advance (`_advance`), whether it has started (`_started`), its state
message (`_set_state`), its settings (`table`, `default_config`, `current_config`, `limits`
with `check(config)`), how to build a run (`_build`) and apply live settings (`_apply_live`),
and has a method `_on_<type>` per message type. `start`, `update`, `reset` and `play` are the
shell's: a link opens as the lab's `ParamTable` reads it; a change of live settings keeps the
run, any other rebuilds it from the seed and goes on playing if it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .imagelab.parts import Parts, run_until
from .imagelab.session import LabError
from .messages import in_lang, said
from .paramtable import ParamTable

Send = Callable[[dict[str, Any]], None]


class ShellSession:
    config_error: type[Exception] = ValueError  # with `key` and `message`
    due_in_s = 0.0  # never paced unless the lab says so
    table: ParamTable  # the lab's settings
    default_config: Any  # what a link without settings opens
    limits: Any  # `check(config)` raises `config_error` for a setting over a limit

    def __init__(self, send: Send):
        self._send = send
        self.state = "paused"
        self.version = 0
        self.lang = "en"
        self._task: Parts[None] | None = None
        self._frame_pending = False
        self._last_frame = 0.0
        self._seq = 0
        self._closed = False

    # --- what the lab says ---------------------------------------------------------------------
    @property
    def _running(self) -> bool:
        return self.state == "playing"

    @property
    def _started(self) -> bool:
        raise NotImplementedError

    def _frame_due(self) -> bool:
        raise NotImplementedError

    def _frame(self) -> Parts[None]:
        raise NotImplementedError

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        raise NotImplementedError

    def _set_state(self, state: str) -> None:
        raise NotImplementedError

    def _drop(self) -> None:
        """Let go of the models (the session is closed)."""

    @property
    def current_config(self) -> Any:
        raise NotImplementedError

    def _build(self, config: Any, warnings: list[str]) -> Parts[None]:
        """A new run of `config` from its seed: `config` (rebuilt), `frame`, `state`."""
        raise NotImplementedError

    def _apply_live(self, config: Any) -> None:
        """Live settings, applied to the run as it is."""
        raise NotImplementedError

    def _changing(self, changes: dict[str, Any]) -> None:
        """Checked `changes` about to apply (a lab may let something go)."""

    def _on_playing(self) -> None:
        """The run starts playing (a lab may restart its clocks)."""

    # --- called by the server (the interface of `server/labloop.py`) -----------------------
    @property
    def takes_messages(self) -> bool:
        return self._task is None

    @property
    def busy(self) -> bool:
        return not self._closed and (self._task is not None or self._running)

    def frame_sent(self) -> None:
        self._frame_pending = False

    def close(self) -> None:
        self._closed = True
        self._task = None
        self._drop()

    def work(self, budget_s: float, message: dict[str, Any] | None = None,
             stop_early: Callable[[], bool] | None = None) -> None:
        """About `budget_s` seconds of work on the calling worker thread: a half-done command,
        else `message`, else (running) the next frame when due or one slice of the run."""
        if self._closed:
            return
        deadline = time.perf_counter() + budget_s
        if self._task is None:
            if message is not None:
                self._task = self._handle(message)
            elif self._frame_due():
                self._task = self._guarded(self._frame(), "frame")
            elif self._running:
                self._advance(deadline, stop_early)
                return
            else:
                return
        if run_until(self._task, deadline, stop_early):
            self._task = None

    # --- messages ------------------------------------------------------------------------------
    def _emit(self, message: dict[str, Any]) -> None:
        if not self._closed:
            self._send(message)

    def _guarded(self, parts: Parts[None], kind: str) -> Parts[None]:
        """`parts`, with an error a message can name said as one, and a bug as `internal`;
        the session goes on either way."""
        try:
            yield from parts
        except LabError as err:
            self._emit({"type": "error", "code": err.code, "field": err.field,
                        "message": err.message})
        except self.config_error as err:
            key, text = err.key, err.message  # type: ignore[attr-defined]
            self._emit({"type": "error", "code": "bad_value", "field": key,
                        "message": f"{key}: {in_lang(text, self.lang)}"})
        except Exception as err:  # noqa: BLE001 — a bug must not end the session
            if self._running:
                self._set_state("paused")
            self._emit({"type": "error", "code": "internal", "field": None,
                        "message": f"{kind} failed: {type(err).__name__}: {err}"})

    def _handle(self, message: dict[str, Any]) -> Parts[None]:
        kind = message["type"]
        if kind not in ("start", "ping") and not self._started:
            return self._guarded(_raise(LabError("not_started", None, "send 'start' first")), kind)
        return self._guarded(getattr(self, f"_on_{kind}")(message), kind)

    def _config_message(self, config: Any, **extra: Any) -> dict[str, Any]:
        return {"type": "config", "config": config.to_dict(), "query": config.query,
                "version": self.version, "live": list(self.table.live), **extra}

    # --- the commands every lab of the shell answers alike -----------------------------------
    def _on_start(self, m: dict[str, Any]) -> Parts[None]:
        self.lang = m.get("lang") or "en"
        default = self.default_config
        if m.get("url") is not None:
            config, warnings = self.table.parse_link(m["url"], default)
            # A setting over a limit at its default, the rest of the link kept.
            config = self.table.within(config, self.limits.check, warnings, default)
        else:
            config, warnings = self.table.with_changes(default, m.get("config") or {}), []
        yield from self._build(config, [in_lang(w, self.lang) for w in warnings])

    def _on_update(self, m: dict[str, Any]) -> Parts[None]:
        changes = m["changes"]
        config = self.table.with_changes(self.current_config, changes)
        self.limits.check(config)
        self._changing(changes)
        if any(k not in self.table.live for k in changes):
            playing = self.state == "playing"
            yield from self._build(config, [])
            if playing:
                self._play()
            return
        self._apply_live(config)
        self.version += 1
        self._emit(self._config_message(config, changed=sorted(changes)))

    def _on_reset(self, m: dict[str, Any]) -> Parts[None]:
        yield from self._build(self.current_config, [])

    def _play(self) -> None:
        if self.state != "diverged":
            self._on_playing()
            self._set_state("playing")

    def _on_play(self, m: dict[str, Any]) -> Parts[None]:
        self._play()
        yield from ()

    def _on_ping(self, m: dict[str, Any]) -> Parts[None]:
        self._emit({"type": "pong", "id": m.get("id")})
        yield from ()


def _raise(err: Exception) -> Parts[None]:
    raise err
    yield  # a generator: the error is raised when the job runs it


class SlicedSession(ShellSession):
    """A shell lab that trains one model in slices of updates while playing (the painting and
    autoencoder labs): frames at most every `FRAME_EVERY_S`, never taking more than
    `FRAME_SHARE` of the time, so a costly frame does not starve training; `step` trains a few
    updates a piece; a loss that explodes stops the run, said with the lab's `diverged_key`.

    The lab gives `trainee` (its model: `train(n)`, `updates`, `diverged`, `config.batchSize`)
    and builds its frame from `began = time.perf_counter()` to `_frame_done(message, began,
    rate_key)`, which adds the examples a second trained since the last frame as `rate_key`."""

    FRAME_EVERY_S = 0.1  # the shortest gap between two frames
    FRAME_SHARE = 0.2  # the most of the time frames may take
    UPDATES_PER_CHECK = 5  # updates between two looks at the clock
    diverged_key = ""

    def __init__(self, send: Send):
        super().__init__(send)
        self._unframed = 0  # updates since the last frame
        self._frame_cost = 0.0  # seconds the last frame took
        self._rate = (0, 0.0)  # examples trained and seconds spent since the last frame

    @property
    def trainee(self) -> Any:
        raise NotImplementedError

    @property
    def _started(self) -> bool:
        return self.trainee is not None

    @property
    def current_config(self) -> Any:
        return self.trainee.config

    def _apply_live(self, config: Any) -> None:
        self.trainee.update(config)

    def _on_playing(self) -> None:
        self._last_frame = time.perf_counter()
        self._rate = (0, 0.0)

    def _fresh(self) -> None:
        """A new run: nothing trained since a frame."""
        self._unframed = 0
        self._rate = (0, 0.0)

    def _frame_due(self) -> bool:
        share = self.FRAME_SHARE
        gap = max(self.FRAME_EVERY_S, self._frame_cost * (1 - share) / share)
        return (self.state == "playing" and not self._frame_pending and self._unframed > 0
                and time.perf_counter() - self._last_frame >= gap)

    def _train(self, n: int) -> None:
        model = self.trainee
        start, before = time.perf_counter(), model.updates
        model.train(n)
        self._unframed += model.updates - before
        examples, seconds = self._rate
        self._rate = (examples + (model.updates - before) * model.config.batchSize,
                      seconds + time.perf_counter() - start)

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        while True:
            self._train(self.UPDATES_PER_CHECK)
            if self.trainee.diverged:
                self._set_state("diverged")
                return
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                return

    def _frame_done(self, message: dict[str, Any], began: float, rate_key: str) -> None:
        """Send `message` (its `seq` and `rate_key` filled in), a frame begun at `began`."""
        examples, seconds = self._rate
        self._rate = (0, 0.0)
        self._seq += 1
        self._unframed = 0
        message.update(seq=self._seq, **{rate_key: round(examples / seconds) if seconds > 0
                                         else 0})
        self._frame_pending = True
        self._last_frame = time.perf_counter()
        self._frame_cost = self._last_frame - began
        self._emit(message)

    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.trainee is not None:
            text = in_lang(said(self.diverged_key, updates=f"{self.trainee.updates:,}"),
                           self.lang)
        self._emit({"type": "state", "state": state, "message": text})

    def _on_pause(self, m: dict[str, Any]) -> Parts[None]:
        playing = self.state == "playing"
        self.state = "paused"
        if playing and self._unframed:  # the updates since the last frame, shown
            yield from self._frame()
        self._set_state("paused")

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        self.state = "paused"
        self._rate = (0, 0.0)
        left = int(m.get("n", 1))
        while left > 0 and not self.trainee.diverged:  # a few updates a piece
            self._train(min(self.UPDATES_PER_CHECK, left))
            left -= self.UPDATES_PER_CHECK
            yield
        yield from self._frame()
        self._set_state("diverged" if self.trainee.diverged else "paused")
