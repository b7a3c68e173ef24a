"""`PaintSession`: one learner's live painting lab, as short jobs on the server's shared workers.

A `ShellSession` (`labsession.py`), as the sequence and agent labs' are, so the same connection
driver runs it (`server/labloop.py`): `work` does one message, one frame or one slice of
updates per job. A frame is the network's whole picture (a PNG), painted in bands of rows so
no job is long; frames come at most every 0.1 s, and never take more than a fifth of the time
(a frame that cost 50 ms waits 200 ms for the next), so a big picture still trains.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..imagelab.parts import Parts
from ..labsession import Send, ShellSession
from ..messages import in_lang, said
from .config import TABLE, PaintConfig, PaintConfigError
from .limits import PaintLimits
from .painter import Painter, mean_colour_psnr, psnr
from .pictures import PictureError, decode_upload, gallery_picture, png

PROTOCOL_VERSION = 1
FRAME_EVERY_S = 0.1  # the shortest gap between two frames
FRAME_SHARE = 0.2  # the most of the time frames may take
BAND_MACS = 20_000_000  # multiply-adds of one band of rows of a frame (a piece of a job)
UPDATES_PER_CHECK = 5  # updates between two looks at the clock
CURVE_KEPT = 2000
OWN_SIZE = 256  # an upload is kept at the largest size, and shrunk for a smaller one


def data_url(picture: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(picture)).decode("ascii")


class PaintSession(ShellSession):
    config_error = PaintConfigError
    table = TABLE
    default_config = PaintConfig()

    def __init__(self, send: Send, *, limits: PaintLimits | None = None):
        super().__init__(send)
        self.limits = limits or PaintLimits()
        self.painter: Painter | None = None
        self.own: np.ndarray | None = None  # the learner's picture, at OWN_SIZE
        self.own_name = ""
        self._unframed = 0  # updates since the last frame
        self._frame_cost = 0.0  # seconds the last frame took
        self._rate = (0, 0.0)  # pixels and seconds since the last frame

    @property
    def _started(self) -> bool:
        return self.painter is not None

    def _drop(self) -> None:
        self.painter = None
        self.own = None

    @property
    def current_config(self) -> PaintConfig:
        assert self.painter is not None
        return self.painter.config

    def _apply_live(self, config: PaintConfig) -> None:
        assert self.painter is not None
        self.painter.update(config)

    def _changing(self, changes: dict[str, Any]) -> None:
        if "picture" in changes:
            self.own = None  # a gallery picture chosen: the learner's own is let go

    def _on_playing(self) -> None:
        self._last_frame = time.perf_counter()
        self._rate = (0, 0.0)

    # --- updates and frames ----------------------------------------------------------------
    def _frame_due(self) -> bool:
        gap = max(FRAME_EVERY_S, self._frame_cost * (1 - FRAME_SHARE) / FRAME_SHARE)
        return (self.state == "playing" and not self._frame_pending and self._unframed > 0
                and time.perf_counter() - self._last_frame >= gap)

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        painter = self.painter
        assert painter is not None
        start, before = time.perf_counter(), painter.pixels_seen
        while True:
            painter.train(UPDATES_PER_CHECK)
            self._unframed += UPDATES_PER_CHECK
            if painter.diverged:
                self._set_state("diverged")
                break
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                break
        pixels, seconds = self._rate
        self._rate = (pixels + painter.pixels_seen - before,
                      seconds + time.perf_counter() - start)

    def _frame(self) -> Parts[None]:
        painter = self.painter
        assert painter is not None
        began = time.perf_counter()
        weights = sum(w.numel() for w in painter.weights)
        rows = max(1, BAND_MACS // max(1, painter.width * weights))
        bands = []
        for top in range(0, painter.height, rows):
            bands.append(painter.paint(top, min(painter.height, top + rows)))
            yield  # the next band in the next piece: no job is long
        painted = np.concatenate(bands)
        pixels, seconds = self._rate
        self._rate = (0, 0.0)
        self._seq += 1
        self._unframed = 0
        quality = psnr(painted, painter.picture)
        message = {"type": "frame", "seq": self._seq, "version": self.version,
                   "state": self.state, "updates": painter.updates,
                   "pixels": painter.pixels_seen,
                   "pixels_per_s": round(pixels / seconds) if seconds > 0 else 0,
                   "loss": None if painter.loss is None else round(painter.loss, 6),
                   "psnr": round(quality, 2),
                   "image": data_url(painted)}
        self._frame_pending = True
        self._last_frame = time.perf_counter()
        self._frame_cost = self._last_frame - began
        self._emit(message)

    # --- messages ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.painter is not None:
            text = in_lang(said("paint.diverged", updates=f"{self.painter.updates:,}"),
                           self.lang)
        self._emit({"type": "state", "state": state, "message": text})

    def _picture(self, config: PaintConfig) -> np.ndarray:
        if self.own is None:
            return gallery_picture(config.picture, config.size)
        if config.size >= OWN_SIZE:
            return self.own
        from PIL import Image

        image = Image.fromarray(self.own, "RGB")
        image.thumbnail((config.size, config.size), Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.uint8)

    # --- commands ------------------------------------------------------------------------------
    def _build(self, config: PaintConfig, warnings: list[str]) -> Parts[None]:
        self.limits.check(config)  # from the settings alone: nothing is allocated yet
        picture = self._picture(config)
        yield
        painter = Painter(config, picture)
        self.painter = painter
        self.version += 1
        self.state = "paused"
        self._unframed = 0
        self._rate = (0, 0.0)
        height, width = picture.shape[:2]
        self._emit(self._config_message(
            config, warnings=warnings, rebuilt=True,
            picture={"source": "gallery" if self.own is None else "own",
                     "name": config.picture if self.own is None else self.own_name,
                     "width": width, "height": height, "image": data_url(picture),
                     "baseline_psnr": round(mean_colour_psnr(picture), 2)}))
        yield
        yield from self._frame()
        self._set_state("paused")

    def _on_picture(self, m: dict[str, Any]) -> Parts[None]:
        """The learner's own picture: decoded and shrunk here; the run starts over on it."""
        assert self.painter is not None
        try:
            data = base64.b64decode(m["data"], validate=True)
        except (binascii.Error, ValueError):
            raise PaintConfigError("picture", said("paint.err.base64")) from None
        limits = self.limits
        try:
            own = decode_upload(data, OWN_SIZE, limits.max_upload_bytes,
                                limits.max_upload_pixels)
        except PictureError as err:  # said as a bad setting is: the field and why
            raise PaintConfigError(err.key, err.message) from None
        yield
        playing = self.state == "playing"
        self.own, self.own_name = own, m.get("name") or ""
        yield from self._build(self.painter.config, [])
        if playing:
            self._play()

    def _on_pause(self, m: dict[str, Any]) -> Parts[None]:
        playing = self.state == "playing"
        self.state = "paused"
        if playing and self._unframed:  # the updates since the last frame, shown
            yield from self._frame()
        self._set_state("paused")

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        painter = self.painter
        assert painter is not None
        self.state = "paused"
        start, before = time.perf_counter(), painter.pixels_seen
        left = int(m.get("n", 1))
        while left > 0 and not painter.diverged:  # a few updates a piece: the next job goes on
            painter.train(min(UPDATES_PER_CHECK, left))
            left -= UPDATES_PER_CHECK
            yield
        self._rate = (painter.pixels_seen - before, time.perf_counter() - start)
        yield from self._frame()
        self._set_state("diverged" if painter.diverged else "paused")
