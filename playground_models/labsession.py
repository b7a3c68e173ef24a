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
from .messages import in_lang
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
