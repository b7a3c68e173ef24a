"""A lab frame: what the page draws after some training: JSON-ready values, and its arrays as
`Packed` (the server sends a message that holds any in the binary envelope, docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import inspection
from .parts import Parts, drain
from .trainer import LabTrainer


@dataclass(frozen=True, eq=False)
class Packed:
    """An array in a lab message: uint8 or int8 as it is, anything else as float32. Two are
    equal when they would travel as the same bytes."""

    array: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Packed):
            return NotImplemented
        a, b = self.array, other.array
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    __hash__ = None  # type: ignore[assignment]  # mutable contents


def pack(array: np.ndarray) -> Packed:
    a = np.asarray(array)
    if a.dtype not in (np.uint8, np.int8, np.float32):
        a = a.astype(np.float32)
    return Packed(np.ascontiguousarray(a))


# JSON a frame needs besides its arrays: metrics, predictions, the confusion matrix, the
# keys of up to 41 layers' entries and the envelope's table of arrays (measured: 7 KB with 40
# layers), with room to spare.
FRAME_OVERHEAD_BYTES = 16 * 1024
BYTES_PER_VALUE = 4  # float32 in the binary envelope


def array_budget(max_bytes: int) -> tuple[int, int]:
    """Values of filters and of feature maps a frame of at most `max_bytes` may carry: a
    quarter for filters, the rest for maps."""
    values = max(0, int((max_bytes - FRAME_OVERHEAD_BYTES) / BYTES_PER_VALUE))
    return values // 4, values - values // 4


def frame(
    t: LabTrainer, rate: float, seq: int, version: int, state: str, example: int,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """One training frame: metrics, live values, filters, feature maps of test example
    `example`, top-3 predictions and the test confusion matrix. Small arrays are `pack`ed;
    with `max_bytes`, filters and maps are cut to fit (see `inspection.fit_counts`)."""
    return drain(frame_in_parts(t, rate, seq, version, state, example, max_bytes))


def frame_in_parts(
    t: LabTrainer, rate: float, seq: int, version: int, state: str, example: int,
    max_bytes: int | None = None,
) -> Parts[dict[str, Any]]:
    """`frame`, yielding after each chunk of the evaluation (see `parts`). The test set's
    logits are computed once, for its metrics, the confusion matrix and the predictions."""
    val = t.metrics_of((yield from t.logits_in_parts(t.x["val"])), "val")
    test_logits = yield from t.logits_in_parts(t.x["test"])
    count = inspection.PREDICTION_EXAMPLES
    preds = inspection.predictions_of(test_logits[:count], t.y["test"][:count])
    filter_budget, map_budget = array_budget(max_bytes) if max_bytes else (None, None)
    filters = inspection.filters(t, filter_budget)
    if filter_budget is not None and map_budget is not None:  # what filters leave goes to maps
        map_budget += filter_budget - sum(f["weights"].size for f in filters)
    c = t.config
    return {
        "type": "frame",
        "seq": seq,
        "version": version,
        "state": state,
        "steps": t.steps,
        "epoch": t.epoch,
        "examples": t.examples,
        "examples_per_s": round(rate, 1),
        "train": t.take_train_metrics().to_json(),
        "val": val.to_json(),
        "test": t.metrics_of(test_logits, "test").to_json(),
        "live": {
            "optimizer": c.optimizer,
            "learningRate": c.learningRate,
            "momentum": c.momentum,
            "batchSize": c.batchSize,
            "weightDecay": c.weightDecay,
        },
        "example": example,
        "filters": [
            {"layer": f["layer"], "shape": f["shape"], "weights": pack(f["weights"])}
            for f in filters
        ],
        "maps": [
            {
                "layer": f["layer"],
                **({"maps": pack(f["maps"])} if "maps" in f else {"vector": pack(f["vector"])}),
            }
            for f in inspection.feature_maps(t, example, map_budget)
        ],
        "predictions": {k: v.tolist() for k, v in preds.items()},
        "confusion": inspection.confusion_of(test_logits, t.y["test"]).tolist(),
    }
