"""The autoencoder lab without a server: `netplay run "/ae?…"` — a record per 500 updates of
the smoothed loss and the test error (the first with the mean digit's error, the baseline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from .config import TABLE, AEConfig
from .model import Autoencoder

REPORT_EVERY = 500


def is_ae_link(url: str) -> bool:
    """Whether `url` is an autoencoder-lab link (its path is `/ae`)."""
    return urlsplit(url).path.rstrip("/").endswith("/ae") or url.startswith("ae?")


def run_updates(config: AEConfig, updates: int,
                every: int = REPORT_EVERY) -> Iterator[dict[str, Any]]:
    model = Autoencoder(config)

    def record() -> dict[str, Any]:
        return {"updates": model.updates, "loss": model.loss,
                "test_error": round(model.test_error(), 6), "diverged": model.diverged}

    yield {**record(), "mean_error": round(model.mean_image_error(), 6)}
    while model.updates < updates and not model.diverged:
        model.train(min(every, updates - model.updates))
        yield record()


def run_link(url: str, updates: int, warn: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """`netplay run` of an autoencoder-lab link; a bad value is an `AEConfigError`."""
    yield from run_updates(TABLE.parse_strict(url, AEConfig(), warn), updates)
