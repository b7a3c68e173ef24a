"""A lab frame: what the page draws after some training, as JSON with small packed arrays."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from . import inspection
from .trainer import LabTrainer


def pack(array: np.ndarray) -> dict[str, Any]:
    """A small array as JSON: dtype, shape and little-endian bytes in base64."""
    a = np.ascontiguousarray(array)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return {
        "dtype": str(a.dtype),
        "shape": list(a.shape),
        "b64": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode(),
    }


def frame(
    t: LabTrainer, rate: float, seq: int, version: int, state: str, example: int
) -> dict[str, Any]:
    """One training frame: metrics, live values, filters, feature maps of test example
    `example`, top-3 predictions and the test confusion matrix. Small arrays are `pack`ed."""
    preds = inspection.predictions(t)
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
        "val": t.evaluate("val").to_json(),
        "test": t.evaluate("test").to_json(),
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
            for f in inspection.filters(t)
        ],
        "maps": [
            {
                "layer": f["layer"],
                **({"maps": pack(f["maps"])} if "maps" in f else {"vector": pack(f["vector"])}),
            }
            for f in inspection.feature_maps(t, example)
        ],
        "predictions": {k: v.tolist() for k, v in preds.items()},
        "confusion": inspection.confusion(t).tolist(),
    }
