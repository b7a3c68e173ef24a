"""What one painting-lab session may ask of the server, checked from the settings alone before
any tensor exists: the network's parameters and the multiply-adds of one update (a slice of
updates runs on a shared worker, so one update must be short), and what an upload may be: its
bytes and its pixels. Over a limit is a `PaintConfigError` naming the setting to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..messages import said
from .config import PaintConfig, PaintConfigError
from .painter import parameter_count

BACKWARD = 3  # an update: the forward pass and about twice its work backward


def update_macs(c: PaintConfig) -> int:
    """Multiply-adds of one update of `batchSize` pixels."""
    weights = parameter_count(c) - sum(c.widths) - 3
    return BACKWARD * c.batchSize * weights


@dataclass(frozen=True)
class PaintLimits:
    """The defaults let 6 layers of 128 learn on batches of 300, and take a 16-megapixel
    photograph of up to 8 MB."""

    max_parameters: int = 100_000
    max_update_macs: int = 30_000_000  # ~5–15 ms of one core; the default link's: 0.75 M
    max_upload_bytes: int = 8_000_000
    max_upload_pixels: int = 16_000_000

    def to_json(self) -> dict[str, Any]:
        return {"max_parameters": self.max_parameters, "max_update_macs": self.max_update_macs,
                "max_upload_bytes": self.max_upload_bytes,
                "max_upload_pixels": self.max_upload_pixels}

    @property
    def max_message_bytes(self) -> int:
        """The largest `picture` message: the upload's base64 and a little JSON around it."""
        return (self.max_upload_bytes + 2) // 3 * 4 + 4096

    def check(self, c: PaintConfig) -> None:
        """Raise `PaintConfigError` for the first limit `c` passes."""
        count = parameter_count(c)
        if count > self.max_parameters:
            raise PaintConfigError("layers", said("paint.err.parameters", count=f"{count:,}",
                                                  limit=f"{self.max_parameters:,}"))
        macs = update_macs(c)
        if macs > self.max_update_macs:
            raise PaintConfigError("batchSize", said(
                "paint.err.updateMacs", macs=f"{macs / 1e6:,.1f}",
                limit=f"{self.max_update_macs / 1e6:,.0f}"))
