"""The painting lab without a server: `netplay run "/paint?…"`, and what the tests and the
benchmark measure (how like the photograph the network's picture is after some updates).

A run reports every `every` updates the pixels trained, the smoothed loss and the PSNR of the
whole picture against the photograph, as one JSON-ready record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from .config import TABLE, PaintConfig
from .painter import Painter, mean_colour_psnr, psnr
from .pictures import gallery_picture

REPORT_EVERY = 500  # updates between two records of `netplay run`


def is_paint_link(url: str) -> bool:
    """Whether `url` is a painting-lab link (its path is `/paint`)."""
    return urlsplit(url).path.rstrip("/").endswith("/paint") or url.startswith("paint?")


def painter_for(config: PaintConfig) -> Painter:
    return Painter(config, gallery_picture(config.picture, config.size))


def record(painter: Painter) -> dict[str, Any]:
    return {"updates": painter.updates, "pixels": painter.pixels_seen, "loss": painter.loss,
            "psnr": round(psnr(painter.paint(), painter.picture), 3),
            "diverged": painter.diverged}


def run_updates(config: PaintConfig, updates: int,
                every: int = REPORT_EVERY) -> Iterator[dict[str, Any]]:
    """Train `updates` updates of `config`, a record after each `every` (and the last); the
    first record (update 0) carries the mean colour's PSNR, the baseline."""
    painter = painter_for(config)
    yield {**record(painter), "baseline_psnr": round(mean_colour_psnr(painter.picture), 3)}
    while painter.updates < updates and not painter.diverged:
        painter.train(min(every, updates - painter.updates))
        yield record(painter)


def run_link(url: str, updates: int, warn: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """`netplay run` of a painting-lab link. A bad value is an error (`PaintConfigError`), as
    a 2-D link's is; unknown keys are warnings."""
    config = TABLE.parse_strict(url, PaintConfig(), warn)
    yield from run_updates(config, updates)
