"""Lessons, message catalogues and the compare view: `/compare`, `/api/lessons`,
`/api/locales/{lang}`, `/api/compare/parse` and `/api/compare/step`.

The compare view trains its runs here, over plain HTTP: the page asks for "the frame after
epoch E+n of this link, given that I hold epoch E". The server keeps the few most recent
`Comparison`s (keyed by the page's own id) and continues one from where it stopped; a request it
cannot continue (evicted, reloaded page, another link) is rebuilt and replayed from epoch 0,
which gives the same numbers because training is deterministic. So a compare link reproduces
its runs exactly, and the server holds at most `MAX_COMPARISONS` of them at once.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from frontend import TEMPLATES
from playground_models.compare import Comparison, parse_compare, unknown_keys
from playground_models.experiment import ConfigError
from playground_models.lessons import LANGS, LESSONS, catalogue

from . import __version__
from .frames import data_arrays, encode, to_int8, to_uint8_unit
from .pages import templates

router = APIRouter()

MAX_COMPARISONS = 16  # held between requests; older ones are rebuilt on demand
MAX_EPOCHS_PER_STEP = 200  # one request's training stays well under a second
MAX_EPOCH = 20_000
GRID = 50  # cells per side of each run's boundary (four runs: 10 kB)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _error(
    field: str | None, message: str, status: int = 422, warnings: list[str] | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": "bad_value", "field": field, "message": message}
    if warnings:
        error["warnings"] = warnings
    return JSONResponse({"error": error}, status_code=status)


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "en"


@router.get("/api/lessons")
async def lessons(lang: str = Query("en", max_length=8)) -> dict[str, Any]:
    """The lesson menu in one language (unknown languages fall back to English)."""
    lang = _lang(lang)
    return {"lang": lang, "lessons": [item.to_json(lang) for item in LESSONS]}


@router.get("/api/locales/{lang}")
async def locale(lang: str) -> Response:
    if lang not in LANGS:
        return _error("lang", f"must be one of {', '.join(LANGS)}", status=404)
    return JSONResponse({"lang": lang, "messages": catalogue(lang)})


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
async def compare_page(request: Request) -> Response:
    """The compare view; like `/`, the page reads its link itself."""
    if not (TEMPLATES / "compare.html").is_file():
        return HTMLResponse("compare page not installed", status_code=503)
    return templates.TemplateResponse(request, "compare.html", {"version": __version__})


class CompareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=16_384)
    client: str = Field("page", max_length=40)
    epoch: int = Field(0, ge=0, le=MAX_EPOCH)  # what the page holds now
    epochs: int = Field(1, ge=0, le=MAX_EPOCHS_PER_STEP)  # how many more to train


@router.post("/api/compare/parse")
async def compare_parse(body: CompareBody) -> Response:
    """The runs of a compare link: canonical link, labels, each run's one-run link."""
    try:
        spec = parse_compare(body.url)
    except ConfigError as err:
        return _error(err.key, err.message, warnings=unknown_keys(body.url))
    return JSONResponse(
        {
            "url": spec.to_url(),
            "lesson": spec.lesson,
            "labels": spec.labels(),
            "overrides": [
                {k: list(v) if isinstance(v, tuple) else v for k, v in o.items()}
                for o in spec.overrides
            ],
            "run_urls": spec.run_urls(),
            "runs": [exp.to_json() for exp in spec.experiments],
            "hidden": sorted(spec.hidden),
            "warnings": spec.warnings,
        }
    )


class _Held:
    """Comparisons kept between requests, most recently used last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[str, str], Comparison] = OrderedDict()

    def take(self, key: tuple[str, str], epoch: int) -> Comparison | None:
        with self.lock:
            comparison = self.items.pop(key, None)
        return comparison if comparison is not None and comparison.epoch == epoch else None

    def put(self, key: tuple[str, str], comparison: Comparison) -> None:
        with self.lock:
            self.items[key] = comparison
            while len(self.items) > MAX_COMPARISONS:
                self.items.popitem(last=False)


HELD = _Held()


HISTORY_KEYS = ("train_loss", "test_loss", "train_acc", "test_acc")
GRAD_SAMPLES = 100  # gradient norms in the history per doubling of the epoch count


def grad_sampled(epoch: int) -> bool:
    """Whether the history carries gradient norms at `epoch`: every epoch below
    2·`GRAD_SAMPLES`, then every 2nd below 4·`GRAD_SAMPLES`, every 4th below 8·, and so on.
    They cost about as much as an epoch of training, so a long run pays for a bounded number
    (`GRAD_SAMPLES` per doubling), while the chart still spans the whole run."""
    stride = 1 << max(0, (epoch // GRAD_SAMPLES).bit_length() - 1)
    return epoch % stride == 0


def _train(comparison: Comparison, epochs: int) -> list[list[dict[str, Any]]]:
    """Train `epochs` epochs in lockstep; per epoch, each run's metrics (for the curves) and,
    on the epochs `grad_sampled` picks, its per-layer gradient norms."""
    history = []
    for _ in range(epochs):
        comparison.train_epochs(1)
        with_grads = grad_sampled(comparison.epoch)
        history.append(
            [
                {
                    "epoch": m["epoch"],
                    **{k: m[k] for k in HISTORY_KEYS if k in m},
                    **({"grad_norms": m["grad_norms"]} if with_grads else {}),
                }
                for m in comparison.metrics(grad_norms=with_grads)
            ]
        )
    return history


def _frame(comparison: Comparison, with_data: bool, history: list) -> bytes:
    """Metrics of every run in the header; each run's boundary (and the data) as arrays."""
    arrays: dict[str, np.ndarray] = {}
    runs = comparison.metrics(grad_norms=True)
    for k, trainer in enumerate(comparison.trainers):
        snap = trainer.snapshot(grid_size=GRID, neuron_grid=1)
        if snap.output is not None:
            arrays[f"output{k}"] = to_int8(snap.output)
        if snap.classes is not None:
            arrays[f"classes{k}"] = np.asarray(snap.classes, np.uint8)
            arrays[f"confidence{k}"] = to_uint8_unit(snap.confidence)
        if snap.curve is not None:
            arrays[f"curve{k}"] = np.asarray(snap.curve, np.float32)
        runs[k]["num_classes"] = trainer.experiment.num_classes
        runs[k]["layers"] = list(trainer.arch.sizes)
    if with_data:  # the same data for every run unless a run overrides a data key
        for k, trainer in enumerate(comparison.trainers):
            for name, array in data_arrays(trainer.data).items():
                arrays[f"{name}{k}"] = array
    header = {"type": "compare", "epoch": comparison.epoch, "runs": runs, "history": history}
    return encode(header, arrays)


@router.post("/api/compare/step")
def compare_step(body: CompareBody) -> Response:
    """Train every run `epochs` more epochs from `epoch`, then return one binary frame: the
    header holds each run's current metrics and gradient norms, and `history`, every trained
    epoch's metrics per run (so the curves miss no epoch however many a request trains), with
    the gradient norms of the epochs `grad_sampled` picks.

    A plain `def`: FastAPI runs it in its thread pool, so training never blocks the event loop.
    `epochs=0` from `epoch=0` gives the initial frame, with the data.
    """
    if not CLIENT_ID.match(body.client):
        return _error("client", "must be letters, digits, '_' or '-'")
    try:
        spec = parse_compare(body.url)
    except ConfigError as err:
        return _error(err.key, err.message)
    key = (body.client, spec.to_url())
    comparison = HELD.take(key, body.epoch)
    if comparison is None:  # replay: the same link always trains to the same numbers
        comparison = Comparison(spec)
        comparison.train_epochs(body.epoch)
    history = _train(comparison, body.epochs)
    payload = _frame(comparison, with_data=body.epoch == 0, history=history)
    HELD.put(key, comparison)
    return Response(payload, media_type="application/octet-stream")
