"""The autoencoder lab's settings: one table of parameters, checked by `ParamTable`, and the
share form.

A link looks like `/ae?data=digits&layers=50,50&activation=tanh&...&seed=1`. The network is
ConvNetJS's `autoencoder` (two layers of 50 tanh units down to a linear code of 2, and the
mirror image back up, a linear output, squared error) except where a measurement chose
otherwise, as noted at the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..imagelab.config import LabParam
from ..imagelab.data import DIGIT_SETS
from ..paramtable import ParamTable, SettingError, TableConfig, layer_widths

ACTIVATIONS = ("tanh", "relu", "sigmoid")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adadelta")
MAX_LAYERS = 4
MAX_WIDTH = 256

# Live settings apply at the next update with the weights kept; the others rebuild from the seed.
AE_PARAMS: tuple[LabParam, ...] = (
    LabParam("data", "choice", "digits", False, "Data", choices=DIGIT_SETS),
    LabParam("layers", "layers", "50,50", False, "Encoder layers"),
    LabParam("activation", "choice", "tanh", False, "Activation", choices=ACTIVATIONS),
    LabParam("optimizer", "choice", "adam", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.003, True, "Learning rate", min=1e-5, max=2.0),
    LabParam("batchSize", "int", 50, True, "Batch size", min=1, max=500),
    LabParam("weightDecay", "float", 0.0, True, "Weight decay (L2)", min=0.0, max=1.0),
    LabParam("seed", "string", "1", False, "Seed"),
)


class AEConfigError(SettingError):
    """A setting of this lab that cannot be used (`key`, `message`)."""


_LAYERS = layer_widths(AEConfigError, "ae.err.layers", MAX_LAYERS, MAX_WIDTH, empty=True)
TABLE = ParamTable(AE_PARAMS, AEConfigError, kinds=(("layers", _LAYERS),))


@dataclass(frozen=True)
class AEConfig(TableConfig):
    table: ClassVar[ParamTable] = TABLE
    data: str = "digits"
    layers: str = "50,50"
    activation: str = "tanh"
    # Adam at 0.003, not ConvNetJS's Adadelta at 1: measured on the digits, Adam's test error
    # after 10 s was 0.033 against Adadelta's 0.043 (docs/benchmarks.md, "Autoencoder lab").
    optimizer: str = "adam"
    learningRate: float = 0.003
    batchSize: int = 50
    weightDecay: float = 0.0
    seed: str = "1"
