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
from typing import Any

import numpy as np
import torch

from ..imagelab.parts import Parts
from ..labsession import Send, SlicedSession
from ..messages import said
from .config import TABLE, AEConfig, AEConfigError
from .limits import AELimits
from .model import Autoencoder

PROTOCOL_VERSION = 1
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


class AESession(SlicedSession):
    config_error = AEConfigError
    diverged_key = "ae.diverged"
    table = TABLE
    default_config = AEConfig()

    def __init__(self, send: Send, *, limits: AELimits | None = None):
        super().__init__(send)
        self.limits = limits or AELimits()
        self.model: Autoencoder | None = None
        self.selected = 0  # the shown digit whose reconstruction and activations are sent
        self.probe: tuple[float, float] | None = None  # the point last decoded, redrawn each frame

    @property
    def trainee(self) -> Autoencoder | None:
        return self.model

    def _drop(self) -> None:
        self.model = None

    # --- updates and frames ----------------------------------------------------------------
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
        message = {"type": "frame", "version": self.version,
                   "state": self.state, "updates": model.updates,
                   "loss": None if model.loss is None else round(model.loss, 6),
                   "test_error": round(test_error, 6),
                   "codes": np.round(np.nan_to_num(codes), 4).tolist(),
                   "selected": self.selected,
                   "reconstruction": _bytes(outs[-1][0].numpy()),
                   "layers": [np.round(np.nan_to_num(o[0].numpy()), 3).tolist()
                              for o in outs[:-1]]}
        if self.probe is not None:  # the decoder changes as it trains: its picture too
            message["probe"] = self._decoded()
        self._frame_done(message, began, "examples_per_s")

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
        self._fresh()
        self.probe = None  # another plane
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

    def _on_select(self, m: dict[str, Any]) -> Parts[None]:
        model = self.model
        assert model is not None
        index = int(m["index"])
        if not 0 <= index < len(model.shown):
            raise AEConfigError("index", said("ae.err.index", count=len(model.shown),
                                              got=index))
        self.selected = index
        yield from self._frame()

    def _decoded(self) -> dict[str, Any]:
        assert self.model is not None and self.probe is not None
        x, y = self.probe
        return {"x": x, "y": y, "image": _bytes(self.model.decode((x, y)))}

    def _on_decode(self, m: dict[str, Any]) -> Parts[None]:
        self.probe = (float(m["x"]), float(m["y"]))
        self._emit({"type": "decoded", **self._decoded()})
        yield from ()
