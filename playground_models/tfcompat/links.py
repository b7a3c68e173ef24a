"""How a link reads in TensorFlow Playground mode (`compat=tf`).

TF Playground's state.ts reads any boolean other than `false` as true, only `<name>_hide=true`
hides, and a feature's `_hide` removes that input from the network (playground.ts deletes it
before building). TF's keys that netplay does not implement are reported, never refused.
"""

from __future__ import annotations

from typing import Any

from ..messages import said

MODE_KEY = "compat"
MODE_VALUE = "tf"

# TF Playground's keys (state.ts PROPS), the only ones TF mode reads.
TF_KEYS = frozenset({
    "activation", "regularization", "batchSize", "dataset", "regDataset", "learningRate",
    "regularizationRate", "noise", "networkShape", "seed", "showTestData", "discretize",
    "percTrainData", "x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY",
    "sinY", "collectStats", "tutorial", "problem", "initZero", "hideText",
})
# TF keys with nothing behind them here (cosX/cosY are in TF's links but never in its network).
TF_UNIMPLEMENTED = {
    "tutorial": "TF's tutorial text is not shown here",
    "cosX": "TF Playground itself never feeds cos(X₁) to the network",
    "cosY": "TF Playground itself never feeds cos(X₂) to the network",
    "collectStats": "TF's usage statistics are not collected here",
}


def is_tf_link(pairs: list[tuple[str, str]]) -> bool:
    """Whether the link selects TF Playground mode (its last `compat=` wins, as any key)."""
    mode = [v for k, v in pairs if k == MODE_KEY]
    return bool(mode) and mode[-1] == MODE_VALUE


def tf_bool(text: str) -> bool:
    """TF's reading of a boolean: anything but `false` is true (`x=yes` turns x on)."""
    return text != "false"


def unimplemented_warning(key: str, text: str) -> str | None:
    """A warning for a TF key that would do something in TF but is not implemented here."""
    if key not in TF_UNIMPLEMENTED or not text.strip():
        return None
    if key != "tutorial" and not tf_bool(text):
        return None  # cosX=false and collectStats=false ask for nothing
    return f"{key}={text} ignored: {TF_UNIMPLEMENTED[key]}"


def netplay_only_warnings(values: dict[str, Any]) -> list[str]:
    """Keys the link sets that TF Playground mode does not use (netplay's own parameters)."""
    skip = TF_KEYS | {MODE_KEY, "lang", "gridSize", "knn"}
    return [said("tf.warn.noEffect", key=key) for key in values if key not in skip]
