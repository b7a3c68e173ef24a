"""What one autoencoder-lab session may ask of the server, checked from the settings alone:
the network's parameters and the multiply-adds of one update (a slice of updates runs on a
shared worker, so one update must be short). Over a limit is an `AEConfigError` naming the
setting to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..imagelab.data import available
from ..messages import said
from .config import AEConfig, AEConfigError
from .model import parameter_count, sizes

BACKWARD = 3  # an update: the forward pass and about twice its work backward
PIXELS = {"digits": 64, "synth": 784, "mnist": 784}


def update_macs(c: AEConfig) -> int:
    pixels = PIXELS[c.data]
    return BACKWARD * c.batchSize * (parameter_count(c, pixels) - sum(sizes(c, pixels)[1:]))


@dataclass(frozen=True)
class AELimits:
    """The defaults let four layers of 256 learn 28 × 28 digits on batches of 50."""

    max_parameters: int = 800_000
    max_update_macs: int = 120_000_000  # ~25–40 ms of one core; the default link's: 1.7 M

    def to_json(self) -> dict[str, Any]:
        return {"max_parameters": self.max_parameters, "max_update_macs": self.max_update_macs}

    def check(self, c: AEConfig) -> None:
        """Raise `AEConfigError` for the first limit `c` passes."""
        if not available()[c.data]:  # mnist without its optional extra
            raise AEConfigError("data", said("ae.err.noData", data=c.data))
        count = parameter_count(c, PIXELS[c.data])
        if count > self.max_parameters:
            raise AEConfigError("layers", said("ae.err.parameters", count=f"{count:,}",
                                               limit=f"{self.max_parameters:,}"))
        macs = update_macs(c)
        if macs > self.max_update_macs:
            raise AEConfigError("batchSize", said(
                "ae.err.updateMacs", macs=f"{macs / 1e6:,.1f}",
                limit=f"{self.max_update_macs / 1e6:,.0f}"))
