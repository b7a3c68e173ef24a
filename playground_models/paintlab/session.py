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
from typing import Any

import numpy as np

from ..imagelab.parts import Parts
from ..labsession import Send, SlicedSession
from ..messages import said
from .config import TABLE, PaintConfig, PaintConfigError
from .limits import PaintLimits
from .painter import Painter, mean_colour_psnr, psnr
from .pictures import PictureError, decode_upload, gallery_picture, png

PROTOCOL_VERSION = 1
BAND_MACS = 20_000_000  # multiply-adds of one band of rows of a frame (a piece of a job)
OWN_SIZE = 256  # an upload is kept at the largest size, and shrunk for a smaller one


def data_url(picture: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(picture)).decode("ascii")


class PaintSession(SlicedSession):
    config_error = PaintConfigError
    diverged_key = "paint.diverged"
    table = TABLE
    default_config = PaintConfig()

    def __init__(self, send: Send, *, limits: PaintLimits | None = None):
        super().__init__(send)
        self.limits = limits or PaintLimits()
        self.painter: Painter | None = None
        self.own: np.ndarray | None = None  # the learner's picture, at OWN_SIZE
        self.own_name = ""

    @property
    def trainee(self) -> Painter | None:
        return self.painter

    def _drop(self) -> None:
        self.painter = None
        self.own = None

    def _changing(self, changes: dict[str, Any]) -> None:
        if "picture" in changes:
            self.own = None  # a gallery picture chosen: the learner's own is let go

    def _frame(self) -> Parts[None]:
        painter = self.painter
        assert painter is not None
        began = time.perf_counter()  # the frame's cost counts its painting
        weights = sum(w.numel() for w in painter.weights)
        rows = max(1, BAND_MACS // max(1, painter.width * weights))
        bands = []
        for top in range(0, painter.height, rows):
            bands.append(painter.paint(top, min(painter.height, top + rows)))
            yield  # the next band in the next piece: no job is long
        painted = np.concatenate(bands)
        quality = psnr(painted, painter.picture)
        message = {"type": "frame", "version": self.version,
                   "state": self.state, "updates": painter.updates,
                   "pixels": painter.pixels_seen,
                   "loss": None if painter.loss is None else round(painter.loss, 6),
                   "psnr": round(quality, 2),
                   "image": data_url(painted)}
        self._frame_done(message, began, "pixels_per_s")

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
        self._fresh()
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
