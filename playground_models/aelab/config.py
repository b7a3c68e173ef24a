"""The autoencoder lab's settings: one table of parameters, checked by `ParamTable`, and the
share form.

A link looks like `/ae?data=digits&layers=50,50&activation=tanh&...&seed=1`. The network is
ConvNetJS's `autoencoder` (two layers of 50 tanh units down to a linear code of 2, and the
mirror image back up, a linear output, squared error) except where a measurement chose
otherwise, as noted at the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..imagelab.config import LabParam
from ..imagelab.data import DATASETS
from ..messages import said
from ..paramtable import ParamTable

ACTIVATIONS = ("tanh", "relu", "sigmoid")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adadelta")
MAX_LAYERS = 4
MAX_WIDTH = 256

# Live settings apply at the next update with the weights kept; the others rebuild from the seed.
AE_PARAMS: tuple[LabParam, ...] = (
    LabParam("data", "choice", "digits", False, "Data", choices=tuple(DATASETS)),
    LabParam("layers", "layers", "50,50", False, "Encoder layers"),
    LabParam("activation", "choice", "tanh", False, "Activation", choices=ACTIVATIONS),
    LabParam("optimizer", "choice", "adam", True, "Optimizer", choices=OPTIMIZERS),
    LabParam("learningRate", "float", 0.003, True, "Learning rate", min=1e-5, max=2.0),
    LabParam("batchSize", "int", 50, True, "Batch size", min=1, max=500),
    LabParam("weightDecay", "float", 0.0, True, "Weight decay (L2)", min=0.0, max=1.0),
    LabParam("seed", "string", "1", False, "Seed"),
)


class AEConfigError(ValueError):
    """A setting that cannot be used; `key` names it, `message` may be a `Said` sentence."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def _layers(p: LabParam, value: Any) -> str:
    """The encoder's hidden widths such as "50,50" (the decoder mirrors them): 0–4 of 1–256."""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise AEConfigError(p.name, said("ae.err.layers", got=repr(value)))
    text = value.replace(" ", "")
    parts = text.split(",") if text else []
    if len(parts) > MAX_LAYERS or not all(s.isdigit() and 1 <= int(s) <= MAX_WIDTH for s in parts):
        raise AEConfigError(p.name, said("ae.err.layers", got=repr(value)))
    return ",".join(str(int(s)) for s in parts)


TABLE = ParamTable(AE_PARAMS, AEConfigError, kinds=(("layers", _layers),))


@dataclass(frozen=True)
class AEConfig:
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def query(self) -> str:
        return TABLE.query(self)

    @property
    def widths(self) -> list[int]:
        return [int(s) for s in self.layers.split(",")] if self.layers else []

    def with_changes(self, changes: dict[str, Any]) -> AEConfig:
        return TABLE.with_changes(self, changes)
