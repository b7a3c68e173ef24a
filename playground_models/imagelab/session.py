"""`LabSession`: one learner's live image lab, run on its own worker thread.

The server validates client messages and hands them to `submit`; the worker thread owns the
trainer (PyTorch is never touched from the event loop) and hands every outgoing message to the
`send` callback. Frames are paced: while the previous frame has not been sent (`frame_sent`),
the worker keeps training and builds no new frame, so a slow client sees fewer frames, never a
growing queue. `close` stops the thread and drops the trainer.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import data as labdata
from . import inspection, snapshot
from .config import LAB_PARAMS, LabConfig, LabConfigError, parse_query
from .limits import LabLimits
from .race import OptimizerRace
from .summary import summarize
from .trainer import LabTrainer, pick_device

PROTOCOL_VERSION = 1
FRAME_INTERVAL_S = 0.2  # at most 5 frames a second: each carries filters and feature maps
Send = Callable[[dict[str, Any]], None]


class LabError(Exception):
    """A command that cannot be carried out; becomes an `error` message naming `field`."""

    def __init__(self, code: str, field: str | None, message: str):
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def limit_torch_threads() -> None:
    """One intra-op thread per process while lab sessions run.

    Small conv nets gain little from a second thread, and on a shared 2-core machine
    oversubscribed OpenMP threads spin: measured here, ConvNetJS's net fell from ~28,000 to
    ~200 examples/s with 2 threads while another process was busy. Parallelism comes from
    running sessions side by side instead.
    """
    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)


class LabSession:
    def __init__(self, send: Send, *, limits: LabLimits | None = None):
        limit_torch_threads()
        self._send = send
        self.limits = limits or LabLimits()  # checked before a build or a dream allocates
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._frame_pending = threading.Event()
        self.device = pick_device()
        self.trainer: LabTrainer | None = None
        self.race: OptimizerRace | None = None
        self.state = "paused"  # paused, playing, racing, diverged
        self.version = 0
        self.example = 0
        self._seq = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lab-session", daemon=True)
        self._thread.start()

    # --- called from the event loop -----------------------------------------------------
    def submit(self, message: dict[str, Any]) -> None:
        self._inbox.put(message)

    def frame_sent(self) -> None:
        self._frame_pending.clear()

    def request_close(self) -> None:
        """Ask the worker to stop, without waiting (safe from the event loop)."""
        self._closed = True
        self._inbox.put(None)

    def close(self) -> None:
        self.request_close()
        self._thread.join(timeout=5)
        self.trainer = self.race = None

    # --- the worker thread --------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._serve()
        finally:  # the worker frees the models itself, even if nobody waits for it to end
            self.trainer = self.race = None

    def _serve(self) -> None:
        last_frame = 0.0
        while not self._closed:
            busy = self.state in ("playing", "racing")
            try:
                message = self._inbox.get(timeout=None if not busy else 0.0)
            except queue.Empty:
                message = {}
            if message is None:
                return
            if message:
                self._handle(message)
                continue
            deadline = time.perf_counter() + FRAME_INTERVAL_S
            trained = self._train_until(deadline)
            now = time.perf_counter()
            if not self._frame_pending.is_set() and now - last_frame >= FRAME_INTERVAL_S:
                last_frame = now
                self._emit_frame(trained)

    def _train_until(self, deadline: float) -> tuple[int, float]:
        """Train until `deadline` or a new message; returns (examples, seconds) trained."""
        start = time.perf_counter()
        before = self._examples()
        while time.perf_counter() < deadline and self._inbox.empty():
            if self.state == "racing" and self.race is not None:
                self.race.step(1)
            elif self.trainer is not None:
                self.trainer.step(1)
                if self.trainer.diverged:
                    self._set_state("diverged")
                    break
        return self._examples() - before, time.perf_counter() - start

    def _examples(self) -> int:
        if self.state == "racing" and self.race is not None:
            return self.race.examples
        return self.trainer.examples if self.trainer else 0

    def _emit(self, message: dict[str, Any]) -> None:
        if not self._closed:
            self._send(message)

    def _emit_frame(self, trained: tuple[int, float] = (0, 0.0)) -> None:
        self._frame_pending.set()
        rate = trained[0] / trained[1] if trained[1] > 0 else 0.0
        if self.state == "racing" and self.race is not None:
            p = self.race.point()
            self._emit(
                {
                    "type": "race_frame",
                    "examples": p.examples,
                    "loss": p.loss,
                    "val_acc": p.val_acc,
                    "examples_per_s": rate,
                }
            )
            return
        if self.trainer is not None:
            self._seq += 1
            self._emit(
                snapshot.frame(
                    self.trainer, rate, self._seq, self.version, self.state, self.example,
                    max_bytes=self.limits.max_frame_kb * 1024,
                )
            )

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        try:
            if kind not in ("start", "ping") and self.trainer is None:
                raise LabError("not_started", None, "send 'start' first")
            getattr(self, f"_on_{kind}")(message)
        except LabError as err:
            self._emit(
                {"type": "error", "code": err.code, "field": err.field, "message": err.message}
            )
        except LabConfigError as err:
            self._emit(
                {"type": "error", "code": "bad_value", "field": err.key, "message": str(err)}
            )
        except Exception as err:  # noqa: BLE001 — a bug must not kill the session's thread
            self._emit(
                {
                    "type": "error",
                    "code": "internal",
                    "field": None,
                    "message": f"{kind} failed: {type(err).__name__}: {err}",
                }
            )

    def _set_state(self, state: str) -> None:
        self.state = state
        message = None
        if state == "diverged" and self.trainer:
            message = f"diverged at epoch {self.trainer.epoch} — lower the learning rate"
        self._emit({"type": "state", "state": state, "message": message})

    # --- commands -----------------------------------------------------------------------
    def _on_ping(self, m: dict[str, Any]) -> None:
        self._emit({"type": "pong", "id": m.get("id")})

    def _on_start(self, m: dict[str, Any]) -> None:
        warnings: list[str] = []
        if m.get("url"):
            config, warnings = parse_query(m["url"])
        else:
            config = LabConfig().with_changes(m.get("config") or {})
        self._build(config, warnings)

    def _build(self, config: LabConfig, warnings: list[str]) -> None:
        summary = summarize(config.net, config.data)
        if not summary["fits"]:
            self._emit({"type": "summary", **summary})
            raise LabError("bad_value", "net", "; ".join(summary["errors"]))
        self.limits.check(config)  # from the shapes alone: nothing is allocated yet
        self.limits.check_memory(config)
        try:
            trainer = LabTrainer(config, self.device)
        except labdata.DataUnavailable as err:
            raise LabError("unavailable", "data", str(err)) from None
        self.trainer, self.race = trainer, None
        self.version += 1
        self.example = 0
        self.state = "paused"
        self._emit(self._config_message(summary, warnings))
        self._emit_frame()
        self._set_state("paused")

    def _config_message(self, summary: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        t = self.trainer
        assert t is not None
        return {
            "type": "config",
            "config": t.config.to_dict(),
            "query": t.config.query,
            "version": self.version,
            "warnings": warnings,
            "summary": summary,
            "device": t.device.type,
            "data_shape": list(t.data.shape),
            "sizes": {s: len(t.y[s]) for s in ("train", "val", "test")},
            "credit": labdata.CREDITS[t.config.data],
            "examples": snapshot.pack(inspection.example_images(t)),
            "live": [p.name for p in LAB_PARAMS if p.live],
        }

    def _on_update(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        changes = m["changes"]
        config = self.trainer.config.with_changes(changes)
        self.limits.check(config)  # a live batch size change can pass the activation limit too
        rebuild = [k for k in changes if k != "preset" and not _is_live(k)] or (
            ["net"] if "preset" in changes else []
        )
        if rebuild:
            self._build(config, [])
            return
        self.trainer.update(config)
        if self.race is not None and self.state == "racing":
            self.race.base.update(config)  # batch size of the race follows too
        self.version += 1
        self._emit(
            {
                "type": "config",
                "config": config.to_dict(),
                "query": config.query,
                "version": self.version,
                "changed": sorted(changes),
            }
        )

    def _on_play(self, m: dict[str, Any]) -> None:
        if self.state != "diverged":
            self._set_state("playing")

    def _on_pause(self, m: dict[str, Any]) -> None:
        self._set_state("paused")

    def _on_step(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        self.state = "paused"
        start = time.perf_counter()
        self.trainer.step(int(m.get("n", 1)))
        self._emit_frame(
            (int(m.get("n", 1)) * self.trainer.config.batchSize, time.perf_counter() - start)
        )
        self._set_state("diverged" if self.trainer.diverged else "paused")

    def _on_reset(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        self.trainer.reset()
        self._emit_frame()
        self._set_state("paused")

    def _on_select(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        example = int(m["example"])
        if not 0 <= example < len(self.trainer.y["test"]):
            raise LabError("bad_value", "example", f"must be below {len(self.trainer.y['test'])}")
        self.example = example
        self._emit_frame()

    def _on_predict(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        side = int(m["size"])
        try:
            raw = base64.b64decode(m["pixels"], validate=True)
        except ValueError:
            raise LabError("bad_value", "pixels", "must be base64") from None
        if len(raw) != side * side:
            raise LabError("bad_value", "pixels", f"must be {side}×{side} = {side * side} bytes")
        pixels = np.frombuffer(raw, dtype=np.uint8).reshape(side, side) / 255.0
        result = inspection.predict_drawing(self.trainer, pixels)
        self._emit(
            {
                "type": "prediction",
                "id": m.get("id"),
                "probs": [round(float(p), 5) for p in result["probs"]],
                "seen": snapshot.pack(result["seen"]),
            }
        )

    def _on_dream(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        self.limits.check_dream(self.trainer.cost, int(m["layer"]))
        try:
            result = inspection.activation_maximization(
                self.trainer, int(m["layer"]), int(m["unit"])
            )
        except ValueError as err:
            field = str(err).split(":")[0]
            raise LabError("bad_value", field, str(err)) from None
        self._emit(
            {
                "type": "dream",
                "layer": result["layer"],
                "unit": result["unit"],
                "activation": result["activation"],
                "image": snapshot.pack(result["image"]),
            }
        )

    def _on_race(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        if m["action"] == "start":
            self.limits.check_memory(self.trainer.config, "an optimizer race")
            self.race = OptimizerRace(self.trainer.config, self.device)
            self._set_state("racing")
        else:
            self.race = None
            self._set_state("paused")


def _is_live(key: str) -> bool:
    return any(p.name == key and p.live for p in LAB_PARAMS)
