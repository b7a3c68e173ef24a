"""Lessons, message catalogues and the compare view: `/compare`, `/api/lessons`,
`/api/locales/{lang}`, `/api/compare/parse` and `/api/compare/step`.

The compare view trains its runs here, over plain HTTP: the page asks for "the frame after
epoch E+n of this link, given that I hold epoch E". The server keeps the few most recent
`Comparison`s (keyed by the page's own id) and continues one from where it stopped; a request it
cannot continue (evicted, reloaded page, another link) is rebuilt and replayed from epoch 0,
which gives the same numbers because training is deterministic. So a compare link reproduces
its runs exactly, and the server holds at most `MAX_COMPARISONS` of them at once.

A request's training is bounded before it starts (the `max_compare_work` setting, counted as in
`playground_models.work`), runs on the app's shared workers in frame-sized slices, and stops
when its client disconnects or the server stops; a comparison stopped half-way is dropped, so
what is held is always exactly at its epoch.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from frontend import TEMPLATES
from playground_models.compare import (
    CompareSpec,
    Comparison,
    open_compare,
    parse_compare,
    unknown_keys,
)
from playground_models.experiment import ConfigError
from playground_models.lessons import BY_ID, LESSONS
from playground_models.messages import LANGS, catalogue, in_lang, said
from playground_models.network import Architecture

from . import __version__
from .frames import data_arrays, encode, to_int8, to_uint8_unit
from .pages import templates
from .settings import Settings

router = APIRouter()

MAX_COMPARISONS = 16  # held between requests; older ones are rebuilt on demand
MAX_EPOCHS_PER_STEP = 200  # per request; what it costs is bounded by `max_compare_work`
MAX_EPOCH = 20_000
GRID = 50  # cells per side of each run's boundary (four runs: 10 kB)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# The keys that change a run's weight count or data size, first the one named when shared.
SHAPE_KEYS: tuple[str, ...] = ("networkShape", "x", "y", "xSquared", "ySquared", "xTimesY", "sinX")
SHAPE_KEYS += ("sinY", "problem", "numClasses", "loss")
SAMPLE_KEYS = ("numSamples", "points")
FIRST_SLICE_WORK = 2_000_000  # units (playground_models.work): about 5-10 ms, then fitted
T = TypeVar("T")


def _error(
    field: str | None,
    message: str,
    status: int = 422,
    warnings: list[str] | None = None,
    code: str = "bad_value",
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "field": field, "message": message}
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


MAX_LINK_CHARS = 16_384  # of a comparison's link: a longer one is named as too long to read
MAX_BODY_URL = 2 * 1024 * 1024  # past this (a browser's own limit) the request is refused as such


class CompareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_BODY_URL)
    client: str = Field("page", max_length=40)
    epoch: int = Field(0, ge=0, le=MAX_EPOCH)  # what the page holds now
    epochs: int = Field(1, ge=0, le=MAX_EPOCHS_PER_STEP)  # how many more to train
    lang: Literal["en", "zh"] = "en"  # the page's: the language bad parts are named in


def _too_long(body: CompareBody) -> Response | None:
    """The error for a link too long to read, in the page's language, or None."""
    if len(body.url) <= MAX_LINK_CHARS:
        return None
    return _error("url", in_lang(said("err.linkTooLong", n=f"{len(body.url):,}",
                                      most=f"{MAX_LINK_CHARS:,}"), body.lang))


def lesson_link(url: str) -> str:
    """A compare lesson's whole link for a link that names only the lesson (`lesson=ID`, with
    `lang` or not: the short link a teacher writes on the board); any other link as it is."""
    pairs = parse_qsl(url.lstrip("?"), keep_blank_values=True)
    keys = {k for k, _ in pairs}
    if "lesson" in keys and keys <= {"lesson", "lang"}:
        item = BY_ID.get(dict(pairs)["lesson"])
        if item is not None and item.is_compare:
            return f"{item.url}&lesson={item.id}"
    return url


@router.post("/api/compare/parse")
async def compare_parse(body: CompareBody) -> Response:
    """The runs of a compare link: canonical link, labels, each run's one-run link."""
    if (refused := _too_long(body)) is not None:
        return refused
    try:
        spec, errors = open_compare(lesson_link(body.url))  # bad parts open at their defaults, named
    except ConfigError as err:
        return _error(err.key, in_lang(err.message, body.lang), warnings=unknown_keys(body.url))
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
            "warnings": [in_lang(w, body.lang) for w in spec.warnings],
            "errors": [{"field": e.key, "message": e.in_lang(body.lang)} for e in errors],
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


def _history_entry(comparison: Comparison) -> list[dict[str, Any]]:
    """Each run's metrics at the comparison's epoch (for the curves) and, on the epochs
    `grad_sampled` picks, its per-layer gradient norms."""
    with_grads = grad_sampled(comparison.epoch)
    return [
        {
            "epoch": m["epoch"],
            **{k: m[k] for k in HISTORY_KEYS if k in m},
            **({"grad_norms": m["grad_norms"]} if with_grads else {}),
        }
        for m in comparison.metrics(grad_norms=with_grads)
    ]


def _frame(comparison: Comparison, with_data: bool, history: list) -> bytes:
    """Metrics of every run in the header; each run's boundary (and the data) as arrays."""
    arrays: dict[str, np.ndarray] = {}
    runs = comparison.metrics(grad_norms=True)
    for k, trainer in enumerate(comparison.trainers):
        snap = trainer.snapshot(grid_size=GRID, neuron_grid=1)
        if snap.output is not None:
            arrays[f"output{k}"] = to_int8(snap.output)
        if snap.classes is not None and snap.confidence is not None:
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


def _over_limits(spec: CompareSpec, settings: Settings) -> JSONResponse | None:
    """A 422 naming the first run (and its key) over the server's model or data limits."""
    for k, (exp, own) in enumerate(zip(spec.experiments, spec.overrides, strict=True), 1):
        samples = exp.numSamples + len(exp.points)
        if samples > settings.max_samples:
            return _error(
                _culprit(k, own, SAMPLE_KEYS),
                f"run {k} has {samples} data points; this server allows {settings.max_samples}",
            )
        params = Architecture.of(exp).num_parameters
        if params > settings.max_parameters:
            return _error(
                _culprit(k, own, SHAPE_KEYS),
                f"run {k} has {params} parameters; this server allows {settings.max_parameters}",
            )
    return None


def _culprit(k: int, overrides: dict[str, Any], keys: tuple[str, ...]) -> str:
    """`r<k>.<key>` for the first of `keys` run k overrides, else the shared `keys[0]`."""
    own = [name for name in keys if name in overrides]
    return f"r{k}.{own[0]}" if own else keys[0]


class _Slices:
    """Trains a comparison on the app's shared workers in slices of about one frame's compute
    time, and notices between slices when the request's client has gone."""

    def __init__(self, request: Request):
        self.request = request
        self.scheduler = request.app.state.scheduler
        self.budget_s = request.app.state.settings.frame_budget_ms / 1000
        self.work = FIRST_SLICE_WORK  # units per slice, fitted to the budget as slices run

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a worker; raises `_Stopped` first if the client has left or the
        server is stopping."""
        if self.request.app.state.stopping.is_set():
            raise _Stopped(shutting_down=True)
        if await self.request.is_disconnected():
            raise _Stopped(shutting_down=False)
        return await self.scheduler.run(fn, *args)

    async def train_to(self, comparison: Comparison, epoch: int) -> None:
        while True:
            done, seconds = await self.run(_timed, comparison.train_toward, epoch, self.work)
            if done:
                return
            # The next slice's size from this one's speed, moving at most 4× at a time.
            wanted = self.work * self.budget_s / max(seconds, 1e-4)
            self.work = min(max(wanted, self.work / 4), self.work * 4)


class _Stopped(Exception):
    """A compare request's client disconnected, or the server is stopping: its training
    stops."""

    def __init__(self, shutting_down: bool):
        self.shutting_down = shutting_down


def _timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _fitting_epochs(
    comparison: Comparison, body: CompareBody, settings: Settings
) -> int | JSONResponse:
    """How many of the asked epochs fit in `max_compare_work` after the replay, or a 422 naming
    `epoch` (the replay alone is over) or `epochs` (not one more epoch fits)."""
    per_epoch = comparison.epoch_work()
    allowed = settings.max_compare_work * 1_000_000
    replay = (body.epoch - comparison.epoch) * per_epoch
    wanted = min(body.epochs, 1)
    if replay + wanted * per_epoch <= allowed:
        return min(body.epochs, int((allowed - replay) // per_epoch))
    field = "epoch" if replay > 0 else "epochs"
    doing = f"replaying this link to epoch {body.epoch}" if replay else "one epoch of this link"
    return _error(
        field,
        f"{doing} is {_millions(replay + wanted * per_epoch)} million units of training; this "
        f"server allows {settings.max_compare_work} million per request (max_compare_work)",
    )


def _millions(units: float) -> str:
    return f"{units / 1_000_000:,.0f}" if units >= 10_000_000 else f"{units / 1_000_000:.1f}"


@router.post("/api/compare/step")
async def compare_step(body: CompareBody, request: Request) -> Response:
    """Train every run `epochs` more epochs from `epoch`, then return one binary frame: the
    header holds each run's current metrics and gradient norms, and `history`, every trained
    epoch's metrics per run (so the curves miss no epoch however many a request trains), with
    the gradient norms of the epochs `grad_sampled` picks. `epochs=0` from `epoch=0` gives the
    initial frame, with the data.

    Every run is checked against `max_parameters` and `max_samples`, and the training (replay
    included) against `max_compare_work`: a request trains fewer epochs than asked when they
    would not fit (the header's `epoch` says how far it got). The training runs on the app's
    shared workers in frame-sized slices and stops when the client disconnects.
    """
    settings: Settings = request.app.state.settings
    if not CLIENT_ID.match(body.client):
        return _error("client", "must be letters, digits, '_' or '-'")
    if (refused := _too_long(body)) is not None:
        return refused
    try:
        spec = parse_compare(body.url)
    except ConfigError as err:
        return _error(err.key, in_lang(err.message, body.lang))
    if (refused := _over_limits(spec, settings)) is not None:
        return refused
    key = (body.client, spec.to_url())
    slices = _Slices(request)
    try:
        comparison = HELD.take(key, body.epoch)
        if comparison is None:  # replay: the same link always trains to the same numbers
            comparison = await slices.run(Comparison, spec)
        epochs = _fitting_epochs(comparison, body, settings)
        if isinstance(epochs, JSONResponse):
            HELD.put(key, comparison)  # untouched: still good to continue from
            return epochs
        await slices.train_to(comparison, body.epoch)
        history = []
        for _ in range(epochs):
            await slices.train_to(comparison, comparison.epoch + 1)
            history.append(await slices.run(_history_entry, comparison))
        payload = await slices.run(_frame, comparison, body.epoch == 0, history)
    except _Stopped as stop:  # the half-trained comparison is dropped
        if stop.shutting_down:
            return _error(None, "the server is shutting down", status=503, code="shutting_down")
        return Response(status_code=499)  # nobody is there to read it
    HELD.put(key, comparison)
    return Response(payload, media_type="application/octet-stream")
