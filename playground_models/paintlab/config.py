"""The painting lab's settings: one table of parameters, checked by `ParamTable`, and the share
form.

A link looks like `/paint?picture=china&layers=20,20,20,20,20,20,20&learningRate=0.003&...`.
The network is ConvNetJS's `image_regression` default (seven layers of 20 ReLUs, (x, y) in and
(r, g, b) out, the picture 200 pixels across) except where a measurement chose otherwise, as
noted at the field. A learner's own picture cannot travel in a link: its link names the
gallery picture it opens with instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..imagelab.config import LabParam
from ..paramtable import ParamTable, SettingError, TableConfig, layer_widths
from .pictures import GALLERY

ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
MAX_LAYERS = 10
MAX_WIDTH = 128
DEFAULT_LAYERS = ",".join(["20"] * 7)

# Live settings apply at the next update with the weights kept; the others repaint from the seed.
PAINT_PARAMS: tuple[LabParam, ...] = (
    LabParam("picture", "choice", "china", False, "Picture", choices=tuple(GALLERY)),
    LabParam("size", "int", 200, False, "Size (pixels across)", min=16, max=256),
    LabParam("layers", "layers", DEFAULT_LAYERS, False, "Hidden layers"),
    LabParam("activation", "choice", "relu", False, "Activation", choices=ACTIVATIONS),
    LabParam("fourier", "int", 0, False, "Fourier features", min=0, max=8),
    LabParam("optimizer", "choice", "adam", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.003, True, "Learning rate", min=1e-5, max=1.0),
    LabParam("batchSize", "int", 100, True, "Batch size", min=1, max=1000),
    LabParam("weightDecay", "float", 0.0, True, "Weight decay (L2)", min=0.0, max=1.0),
    LabParam("seed", "string", "1", False, "Seed"),
)


class PaintConfigError(SettingError):
    """A setting of this lab that cannot be used (`key`, `message`)."""


_LAYERS = layer_widths(PaintConfigError, "paint.err.layers", MAX_LAYERS, MAX_WIDTH, empty=False)
TABLE = ParamTable(PAINT_PARAMS, PaintConfigError, kinds=(("layers", _LAYERS),))
LIVE = TABLE.live


@dataclass(frozen=True)
class PaintConfig(TableConfig):
    table: ClassVar[ParamTable] = TABLE
    picture: str = "china"
    size: int = 200  # the longer side, in pixels: ConvNetJS paints 200 × 200
    layers: str = DEFAULT_LAYERS
    activation: str = "relu"
    # Sines and cosines of x and y at 1, 2, 4 … 2^(k−1) cycles across the picture, beside
    # (x, y) itself; 0 is ConvNetJS's plain (x, y). On the gallery, 4 paints 2.8–3.8 dB
    # sharper in the same time (docs/benchmarks.md, "Painting lab").
    fourier: int = 0
    # Adam at 0.003 on batches of 100, not ConvNetJS's SGD (momentum 0.9, 0.01) on batches of
    # 5: torch's cost is per update, and measured on the gallery this is recognisable after
    # 1.2 s where ConvNetJS's trainer took 9.3 s on the temple and never left one colour on
    # the flower (docs/benchmarks.md, "Painting lab"). Both are one setting away.
    optimizer: str = "adam"
    learningRate: float = 0.003
    batchSize: int = 100
    weightDecay: float = 0.0
    seed: str = "1"

    @property
    def inputs(self) -> int:
        return 2 + 4 * self.fourier


def parse_link(text: str) -> tuple[PaintConfig, list[str]]:
    """A painting-lab link as a page opens it: the config and warnings (`ParamTable`)."""
    return TABLE.parse_link(text, PaintConfig())


def schema() -> list[dict[str, Any]]:
    return TABLE.schema()
