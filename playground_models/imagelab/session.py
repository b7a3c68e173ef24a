"""`LabSession`: one learner's live image lab, as short jobs on the server's shared workers.

The server validates client messages and passes each to `work`, which it runs as one job at a
time on a worker thread (never on the event loop, never two at once); the session hands every
outgoing message to the `send` callback. Work comes in parts (`parts`): a command that takes
longer than a job's budget (a `step` of many batches, a dream, building a frame) goes on in the
next job, and while playing each job trains for one slice. Frames are paced: while the previous
frame has not been sent (`frame_sent`), training goes on and no new frame is built, so a slow
client sees fewer frames, never a growing queue. `close` drops the trainer.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .. import netfile
from ..messages import Said, in_lang, said
from ..uploads import PictureError, decode_upload
from . import data as labdata
from . import inspection, pretrain, snapshot
from .config import BY_NAME, LAB_PARAMS, LabConfig, LabConfigError, parse_link
from .limits import LabLimits
from .parts import Parts, run_until
from .race import OptimizerRace
from .summary import summarize
from .trainer import LabTrainer, pick_device

UPLOAD_SIDE = 64  # a learner's picture is shrunk to this before it is read as a digit


def as_ink(picture: np.ndarray) -> np.ndarray:
    """An RGB picture as the data's digits are: grey in [0, 1], ink high on a dark ground. A
    light ground (the picture's border, mostly) is turned dark; the ground's level goes to 0
    and the darkest ink to 1."""
    grey = picture.astype(np.float32) @ np.array(labdata.LUMA, dtype=np.float32) / 255
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:
        grey, border = 1.0 - grey, 1.0 - border
    ground = float(np.median(border))
    top = float(grey.max())
    if top - ground < 1e-3:  # one flat colour: no ink at all
        return np.zeros_like(grey)
    return np.clip((grey - ground) / (top - ground), 0.0, 1.0)

def network_file(t: LabTrainer) -> bytes:
    """A trainer's network as a file to keep (`netfile.py`): settings, progress and weights."""
    tensors = {k: v.detach().float().cpu().numpy() for k, v in t.net.state_dict().items()}
    return netfile.write("image", t.config.to_dict(), t.config.query,
                         {"steps": t.steps, "examples": t.examples, "epoch": t.epoch}, tensors)


PROTOCOL_VERSION = 1
FRAME_INTERVAL_S = 0.2  # at most 5 frames a second: each carries filters and feature maps
Send = Callable[[dict[str, Any]], None]


class LabError(Exception):
    """A command that cannot be carried out; becomes an `error` message naming `field`."""

    def __init__(self, code: str, field: str | None, message: str):
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


class LabSession:
    def __init__(self, send: Send, *, limits: LabLimits | None = None):
        self._send = send
        self.limits = limits or LabLimits()  # checked before a build or a dream allocates
        self._frame_pending = False
        self._task: Parts[None] | None = None  # a command or frame that is not finished yet
        self._trained = (0, 0.0)  # examples and seconds trained since the last frame
        self._last_frame = 0.0
        self.device = pick_device()
        self.trainer: LabTrainer | None = None
        self.race: OptimizerRace | None = None
        self.state = "paused"  # paused, playing, racing, diverged
        self.version = 0
        self.example = 0
        self.lang = "en"  # the page's language (`start`'s `lang`): the one warnings are said in
        self._seq = 0
        self._closed = False

    # --- called by the server ---------------------------------------------------------
    @property
    def takes_messages(self) -> bool:
        """False while a command is half done: `work` goes on with it before the next one."""
        return self._task is None

    due_in_s = 0.0  # never paced: busy means work now

    @property
    def busy(self) -> bool:
        """Whether `work` has something to do without a new message."""
        return not self._closed and (
            self._task is not None or self.state in ("playing", "racing")
        )

    def frame_sent(self) -> None:
        self._frame_pending = False

    def close(self) -> None:
        """Drop the models; call when no job of this session is running."""
        self._closed = True
        self._task = None
        self.trainer = self.race = None

    def work(self, budget_s: float, message: dict[str, Any] | None = None,
             stop_early: Callable[[], bool] | None = None) -> None:
        """About `budget_s` seconds of this session's work, on the calling (worker) thread.

        Goes on with a half-done command first; else handles `message`; else, while playing,
        builds the next frame when one is due, or trains one slice. A single training step or
        piece of a frame longer than the budget still runs whole. `stop_early()`, asked between
        steps and pieces, ends the job sooner (the server's: another kind of session waits).
        """
        if self._closed:
            return
        deadline = time.perf_counter() + budget_s
        if self._task is None:
            if message is not None:
                self._task = self._handle(message)
            elif self._frame_due():
                self._task = self._play_frame()
            elif self.state in ("playing", "racing"):
                try:
                    self._train_until(deadline, stop_early)
                except Exception as err:  # noqa: BLE001 — a bug must not end the session
                    self._set_state("paused")
                    self._internal_error("training", err)
                return
            else:
                return
        if run_until(self._task, deadline, stop_early):
            self._task = None

    # --- playing --------------------------------------------------------------------------
    def _frame_due(self) -> bool:
        return (
            self.state in ("playing", "racing")
            and not self._frame_pending
            and self._trained[0] > 0
            and time.perf_counter() - self._last_frame >= FRAME_INTERVAL_S
        )

    def _play_frame(self) -> Parts[None]:
        try:
            yield from self._emit_frame(self._trained)
        except Exception as err:  # noqa: BLE001 — a bug must not end the session
            self._set_state("paused")
            self._internal_error("frame", err)

    def _train_until(self, deadline: float, stop_early: Callable[[], bool] | None = None) -> None:
        """Train at least one step, then until `deadline` or `stop_early()`; counts what it
        trained."""
        start = time.perf_counter()
        before = self._examples()
        while True:
            if self.state == "racing" and self.race is not None:
                self.race.step(1)
            elif self.trainer is not None:
                self.trainer.step(1)
                if self.trainer.diverged:
                    self._set_state("diverged")
                    break
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                break
        examples, seconds = self._trained
        self._trained = (
            examples + self._examples() - before,
            seconds + time.perf_counter() - start,
        )

    def _examples(self) -> int:
        if self.state == "racing" and self.race is not None:
            return self.race.examples
        return self.trainer.examples if self.trainer else 0

    def _emit(self, message: dict[str, Any]) -> None:
        if not self._closed:
            self._send(message)

    def _emit_frame(self, trained: tuple[int, float] = (0, 0.0)) -> Parts[None]:
        self._trained = (0, 0.0)
        rate = trained[0] / trained[1] if trained[1] > 0 else 0.0
        if self.state == "racing" and self.race is not None:
            p = yield from self.race.point_in_parts()
            self._frame_pending = True
            self._last_frame = time.perf_counter()
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
            message = yield from snapshot.frame_in_parts(
                self.trainer, rate, self._seq, self.version, self.state, self.example,
                max_bytes=self.limits.max_frame_kb * 1024,
            )
            self._frame_pending = True
            self._last_frame = time.perf_counter()
            self._emit(message)

    def _internal_error(self, kind: str, err: Exception) -> None:
        self._emit(
            {
                "type": "error",
                "code": "internal",
                "field": None,
                "message": f"{kind} failed: {type(err).__name__}: {err}",
            }
        )

    def _handle(self, message: dict[str, Any]) -> Parts[None]:
        kind = message["type"]
        try:
            if kind not in ("start", "ping") and self.trainer is None:
                raise LabError("not_started", None, "send 'start' first")
            parts = getattr(self, f"_on_{kind}")(message)
            if parts is not None:  # a command in parts: the next job goes on with it
                yield from parts
        except LabError as err:
            self._emit(
                {"type": "error", "code": err.code, "field": err.field, "message": err.message}
            )
        except LabConfigError as err:
            self._emit(
                {"type": "error", "code": "bad_value", "field": err.key,
                 "message": err.in_lang(self.lang)}
            )
        except Exception as err:  # noqa: BLE001 — a bug must not end the session
            self._internal_error(kind, err)

    def _set_state(self, state: str) -> None:
        self.state = state
        message = None
        if state == "diverged" and self.trainer:
            message = f"diverged at epoch {self.trainer.epoch} — lower the learning rate"
        self._emit({"type": "state", "state": state, "message": message})

    # --- commands -----------------------------------------------------------------------
    def _on_ping(self, m: dict[str, Any]) -> None:
        self._emit({"type": "pong", "id": m.get("id")})

    def _on_start(self, m: dict[str, Any]) -> Parts[None]:
        self.lang = m.get("lang") or "en"
        if not m.get("url"):
            yield from self._build(LabConfig().with_changes(m.get("config") or {}), [])
            return
        # A link opens whatever it holds: a bad value, a net that does not fit, data that is
        # not installed or a limit passed leaves that setting at its default, named.
        config, warnings = parse_link(m["url"])
        default = LabConfig()
        for _ in range(len(LAB_PARAMS)):
            try:
                yield from self._build(config, warnings)
                return
            except (LabError, LabConfigError) as err:
                field = err.field if isinstance(err, LabError) else err.key
                if field not in BY_NAME or getattr(config, field) == getattr(default, field):
                    raise
                text = err.message
                if not isinstance(text, Said):
                    text = text.removeprefix(f"{field}: ")
                warnings.append(said("lab.warn.atDefault", field=field, error=text))
                config = replace(config, **{field: getattr(default, field)})

    def _build(self, config: LabConfig, warnings: list[str]) -> Parts[None]:
        trainer, summary = self._new_trainer(config)
        yield from self._adopt(trainer, summary, warnings)

    def _new_trainer(self, config: LabConfig) -> tuple[LabTrainer, dict[str, Any]]:
        summary = summarize(config.net, config.data)
        if not summary["fits"]:
            self._emit({"type": "summary", **summary})
            raise LabError("bad_value", "net", "; ".join(summary["errors"]))
        self.limits.check(config)  # from the shapes alone: nothing is allocated yet
        self.limits.check_memory(config)
        try:
            return LabTrainer(config, self.device), summary
        except labdata.DataUnavailable as err:
            raise LabError("unavailable", "data", str(err)) from None

    def _adopt(self, trainer: LabTrainer, summary: dict[str, Any],
               warnings: list[str], notice: str | None = None) -> Parts[None]:
        self.trainer, self.race = trainer, None
        self.version += 1
        self.example = 0
        self.state = "paused"
        self._emit(self._config_message(summary, warnings, notice))
        yield from self._emit_frame()
        self._set_state("paused")

    def _config_message(self, summary: dict[str, Any], warnings: list[str],
                        notice: str | None = None) -> dict[str, Any]:
        t = self.trainer
        assert t is not None
        return {
            "type": "config",
            "config": t.config.to_dict(),
            "query": t.config.query,
            "version": self.version,
            "warnings": [in_lang(w, self.lang) for w in warnings],
            "notice": in_lang(notice, self.lang) if notice else None,  # news: a network loaded
            "summary": summary,
            "device": t.device.type,
            "data_shape": list(t.data.shape),
            "sizes": {s: len(t.y[s]) for s in ("train", "val", "test")},
            "credit": labdata.CREDITS[t.config.data],
            "classes": list(t.data.classes),
            "examples": snapshot.pack(inspection.example_images(t)),
            "live": [p.name for p in LAB_PARAMS if p.live],
        }

    def _on_update(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        changes = m["changes"]
        config = self.trainer.config.with_changes(changes)
        self.limits.check(config)  # a live batch size change can pass the activation limit too
        rebuild = [k for k in changes if k != "preset" and not _is_live(k)] or (
            ["net"] if "preset" in changes else []
        )
        if rebuild:
            yield from self._build(config, [])
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

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        self.state = "paused"
        before, seconds = self.trainer.examples, 0.0
        for _ in range(int(m.get("n", 1))):  # a step at a time: the next job goes on
            start = time.perf_counter()
            self.trainer.step(1)
            seconds += time.perf_counter() - start
            if self.trainer.diverged:
                break
            yield
        yield from self._emit_frame((self.trainer.examples - before, seconds))
        self._set_state("diverged" if self.trainer.diverged else "paused")

    def _on_reset(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        self.trainer.reset()
        yield from self._emit_frame()
        self._set_state("paused")

    def _on_select(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        example = int(m["example"])
        if not 0 <= example < len(self.trainer.y["test"]):
            raise LabError("bad_value", "example", f"must be below {len(self.trainer.y['test'])}")
        self.example = example
        yield from self._emit_frame()

    def _on_predict(self, m: dict[str, Any]) -> None:
        assert self.trainer is not None
        if self.trainer.data.colour:
            raise LabError("bad_value", "pixels", in_lang(said("lab.err.drawColour"), self.lang))
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

    def _on_predict_file(self, m: dict[str, Any]) -> Parts[None]:
        """A picture from the learner's computer, classified as a drawing is: decoded and
        shrunk (`uploads.py`), made grey, turned ink-bright on dark as the data are when its
        background is light (a digit on paper), then cropped, centred and resized."""
        assert self.trainer is not None
        try:
            raw = base64.b64decode(m["data"], validate=True)
        except ValueError:
            raise LabError("bad_value", "file", in_lang(said("paint.err.base64"), self.lang)) \
                from None
        limits = self.limits
        try:
            picture = decode_upload(raw, UPLOAD_SIDE, limits.max_upload_bytes,
                                    limits.max_upload_pixels)
        except PictureError as err:
            raise LabError("bad_value", "file", in_lang(err.message, self.lang)) from None
        yield
        t = self.trainer
        result = (inspection.predict_picture(t, picture) if t.data.colour
                  else inspection.predict_drawing(t, as_ink(picture)))
        self._emit({"type": "prediction", "id": m.get("id"), "file": m.get("name") or "",
                    "probs": [round(float(p), 5) for p in result["probs"]],
                    "seen": snapshot.pack(result["seen"])})

    def _on_save(self, m: dict[str, Any]) -> None:
        """The network as a file to keep (`netfile.py`): settings, progress and weights."""
        t = self.trainer
        assert t is not None
        self._emit({"type": "network", "name": f"netplay-lab-{t.config.seed}-{t.steps}.netplay",
                    "data": base64.b64encode(network_file(t)).decode("ascii")})

    def _on_load(self, m: dict[str, Any]) -> Parts[None]:
        """A kept network, or the pretrained one (`pretrain.py`): its settings built as a
        link's are, its weights put in, training going on from there (with a fresh optimizer).
        A file that does not fit changes nothing."""
        if m.get("pretrained"):
            raw, name = pretrain.PATH.read_bytes(), pretrain.PATH.name
        else:
            try:
                raw = base64.b64decode(m.get("data") or "", validate=True)
            except ValueError:
                raise LabError("bad_value", "file", in_lang(said("paint.err.base64"), self.lang)) \
                    from None
            name = m.get("name") or ""
        try:
            header, tensors = netfile.read(raw, self.limits.max_upload_bytes)
        except netfile.NetFileError as err:
            raise LabError("bad_value", "file", in_lang(err.message, self.lang)) from None
        if header["lab"] != "image":
            raise LabError("bad_value", "file",
                           in_lang(said("net.err.otherLab", lab=header["lab"]), self.lang))
        try:
            config = LabConfig().with_changes(header["config"])
        except LabConfigError as err:
            raise LabError("bad_value", "file", f"{err.key}: {err.in_lang(self.lang)}") from None
        trainer, summary = self._new_trainer(config)
        yield
        try:
            state = netfile.load_into(trainer.net.state_dict(), tensors)
        except netfile.NetFileError as err:
            raise LabError("bad_value", "file", in_lang(err.message, self.lang)) from None
        trainer.net.load_state_dict(state)
        done = header.get("trained") or {}
        trainer.steps, trainer.examples, trainer.epoch = (
            int(done.get(k, 0)) for k in ("steps", "examples", "epoch"))
        yield from self._adopt(trainer, summary, [], said("net.loaded", name=name))

    def _on_dream(self, m: dict[str, Any]) -> Parts[None]:
        assert self.trainer is not None
        self.limits.check_dream(self.trainer.cost, int(m["layer"]))
        try:
            result = yield from inspection.dream_in_parts(
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
