"""`AESession`: one learner's live autoencoder lab, as short jobs on the server's shared workers.

A `ShellSession` (`labsession.py`), as the other socket-shell labs' are. A frame carries where
the shown training digits sit on the code plane, the selected digit's reconstruction and every
layer's activations for it, the smoothed loss and the test error; frames come at most every
0.1 s and take at most a fifth of the time. A `decode` asks for the decoder's image at any point
of the plane, answered at once, playing or not.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..imagelab.parts import Parts
from ..labsession import Send, ShellSession
from ..messages import in_lang, said
from .config import TABLE, AEConfig, AEConfigError
from .limits import AELimits
from .model import Autoencoder

PROTOCOL_VERSION = 1
FRAME_EVERY_S = 0.1
FRAME_SHARE = 0.2
UPDATES_PER_CHECK = 5
SPRITE_COLUMNS = 20
# One colour per class (ten, told apart by more than hue), as the 2-D lab's palette starts.
CLASS_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (80, 80, 80), (188, 189, 34), (23, 190, 207))


def _bytes(image: np.ndarray) -> list[int]:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(int).reshape(-1).tolist()


def sprite(images: np.ndarray, labels: np.ndarray) -> str:
    """The shown digits as one PNG `data:` URL, `SPRITE_COLUMNS` to a row, each digit's ink in
    its class's colour on transparency."""
    from PIL import Image

    n, side = len(images), images.shape[1]
    rows = -(-n // SPRITE_COLUMNS)
    sheet = np.zeros((rows * side, SPRITE_COLUMNS * side, 4), dtype=np.uint8)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        r, c = divmod(i, SPRITE_COLUMNS)
        cell = sheet[r * side:(r + 1) * side, c * side:(c + 1) * side]
        cell[..., :3] = CLASS_COLOURS[int(label) % 10]
        cell[..., 3] = np.round(np.clip(image, 0, 1) * 255)
    out = io.BytesIO()
    Image.fromarray(sheet, "RGBA").save(out, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


class AESession(ShellSession):
    config_error = AEConfigError
    table = TABLE
    default_config = AEConfig()

    def __init__(self, send: Send, *, limits: AELimits | None = None):
        super().__init__(send)
        self.limits = limits or AELimits()
        self.model: Autoencoder | None = None
        self.selected = 0  # the shown digit whose reconstruction and activations are sent
        self._unframed = 0
        self._frame_cost = 0.0
        self._rate = (0, 0.0)  # examples and seconds since the last frame

    @property
    def _started(self) -> bool:
        return self.model is not None

    def _drop(self) -> None:
        self.model = None

    @property
    def current_config(self) -> AEConfig:
        assert self.model is not None
        return self.model.config

    def _apply_live(self, config: AEConfig) -> None:
        assert self.model is not None
        self.model.update(config)

    def _on_playing(self) -> None:
        self._last_frame = time.perf_counter()
        self._rate = (0, 0.0)

    # --- updates and frames ----------------------------------------------------------------
    def _frame_due(self) -> bool:
        gap = max(FRAME_EVERY_S, self._frame_cost * (1 - FRAME_SHARE) / FRAME_SHARE)
        return (self.state == "playing" and not self._frame_pending and self._unframed > 0
                and time.perf_counter() - self._last_frame >= gap)

    def _advance(self, deadline: float, stop_early: Callable[[], bool] | None) -> None:
        model = self.model
        assert model is not None
        start, before = time.perf_counter(), model.updates
        while True:
            model.train(UPDATES_PER_CHECK)
            self._unframed += UPDATES_PER_CHECK
            if model.diverged:
                self._set_state("diverged")
                break
            if time.perf_counter() >= deadline or (stop_early is not None and stop_early()):
                break
        examples, seconds = self._rate
        self._rate = (examples + (model.updates - before) * model.config.batchSize,
                      seconds + time.perf_counter() - start)

    def _frame(self) -> Parts[None]:
        model = self.model
        assert model is not None
        began = time.perf_counter()
        codes = model.codes(model.train_x[model.shown])
        yield
        digit = model.train_x[model.shown[self.selected]][None]
        with torch.no_grad():
            outs = model.layers(digit)
        test_error = model.test_error()
        examples, seconds = self._rate
        self._rate = (0, 0.0)
        self._seq += 1
        self._unframed = 0
        message = {"type": "frame", "seq": self._seq, "version": self.version,
                   "state": self.state, "updates": model.updates,
                   "examples_per_s": round(examples / seconds) if seconds > 0 else 0,
                   "loss": None if model.loss is None else round(model.loss, 6),
                   "test_error": round(test_error, 6),
                   "codes": np.round(np.nan_to_num(codes), 4).tolist(),
                   "selected": self.selected,
                   "reconstruction": _bytes(outs[-1][0].numpy()),
                   "layers": [np.round(np.nan_to_num(o[0].numpy()), 3).tolist()
                              for o in outs[:-1]]}
        self._frame_pending = True
        self._last_frame = time.perf_counter()
        self._frame_cost = self._last_frame - began
        self._emit(message)

    # --- messages ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        text = None
        if state == "diverged" and self.model is not None:
            text = in_lang(said("ae.diverged", updates=f"{self.model.updates:,}"), self.lang)
        self._emit({"type": "state", "state": state, "message": text})

    def _build(self, config: AEConfig, warnings: list[str]) -> Parts[None]:
        self.limits.check(config)  # from the settings alone: nothing is allocated yet
        old = self.model
        same_data = old is not None and (old.config.data, old.config.seed) == (config.data,
                                                                               config.seed)
        yield
        model = Autoencoder(config, old.data if same_data and old is not None else None)
        self.model = model
        self.version += 1
        self.state = "paused"
        self._unframed = 0
        self._rate = (0, 0.0)
        self.selected = min(self.selected, len(model.shown) - 1)
        shown = model.data.train.images[model.shown]
        labels = model.data.train.labels[model.shown]
        yield
        self._emit(self._config_message(
            config, warnings=warnings, rebuilt=True,
            digits={"side": model.side, "count": len(model.shown),
                    "labels": labels.tolist(), "columns": SPRITE_COLUMNS,
                    "sprite": sprite(shown, labels),
                    "mean_error": round(model.mean_image_error(), 6)}))
        yield
        yield from self._frame()
        self._set_state("paused")

    def _on_pause(self, m: dict[str, Any]) -> Parts[None]:
        playing = self.state == "playing"
        self.state = "paused"
        if playing and self._unframed:
            yield from self._frame()
        self._set_state("paused")

    def _on_step(self, m: dict[str, Any]) -> Parts[None]:
        model = self.model
        assert model is not None
        self.state = "paused"
        start, before = time.perf_counter(), model.updates
        left = int(m.get("n", 1))
        while left > 0 and not model.diverged:
            model.train(min(UPDATES_PER_CHECK, left))
            left -= UPDATES_PER_CHECK
            yield
        self._rate = ((model.updates - before) * model.config.batchSize,
                      time.perf_counter() - start)
        yield from self._frame()
        self._set_state("diverged" if model.diverged else "paused")

    def _on_select(self, m: dict[str, Any]) -> Parts[None]:
        model = self.model
        assert model is not None
        index = int(m["index"])
        if not 0 <= index < len(model.shown):
            raise AEConfigError("index", said("ae.err.index", count=len(model.shown),
                                              got=index))
        self.selected = index
        yield from self._frame()

    def _on_decode(self, m: dict[str, Any]) -> Parts[None]:
        model = self.model
        assert model is not None
        x, y = float(m["x"]), float(m["y"])
        self._emit({"type": "decoded", "x": x, "y": y, "image": _bytes(model.decode((x, y)))})
        yield from ()
