"""JSON routes under `/api`: the parameter schema, share-link parsing, data previews, health.

Errors are `{"error": {"code", "field", "message"}}` with status 422, the same shape as the
WebSocket's `error` message, so the page handles both one way.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from playground_models import owndata
from playground_models.datasets import generate
from playground_models.experiment import ConfigError, Experiment
from playground_models.export import MAX_EPOCHS as MAX_EXPORT_EPOCHS
from playground_models.export import export_script, script_name
from playground_models.params import PARAMS
from playground_models.urlcodec import HIDEABLE_CONTROLS, SharedState, parse, serialize

from . import __version__
from .protocol import PROTOCOL_VERSION

router = APIRouter(prefix="/api")

MAX_URL_CHARS = 65_536
PREVIEW_POINTS = 200  # per split: plenty for a 60-pixel thumbnail
PREVIEW_CACHE = 64  # previews held at most (each at most 2 × 5,000 rows, about 190 kB)
PREVIEW_CACHE_BYTES = 2 * 1024 * 1024  # and at most this much: thumbnails are 200 points, ~8 kB
GROUPS = ("data", "features", "network", "training", "view")


def script_response(script: str, filename: str, **headers: str) -> Response:
    """An exported PyTorch script, as a file to download named `filename`."""
    return Response(script, media_type="text/x-python; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', **headers})


def error_response(code: str, field: str | None, message: str, status: int = 422) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "field": field, "message": message}}, status_code=status
    )


# Pydantic error types that mean "the right type, out of bounds" rather than a malformed body.
_RANGE_ERRORS = frozenset(
    ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
    + ("string_too_long", "string_too_short", "too_long", "too_short")
)


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A request body or query that fails its pydantic model, in the routes' error shape,
    naming the first field at fault (`epochs`, not `body.epochs`)."""
    first = exc.errors()[0]
    where = [str(part) for part in first.get("loc", ())[1:]]
    kind = first.get("type", "")
    code = "bad_value" if kind in _RANGE_ERRORS else "bad_message"
    if kind == "json_invalid":
        code = "bad_json"
    return error_response(code, ".".join(where) or None, first.get("msg", "not valid"))


async def unreadable_body(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI answers 400 with its own shape for a body that `json.loads` raises on without
    a syntax error (nested past the interpreter's recursion limit, an integer past 4,300
    digits). Under `/api` that is a `bad_json` 422 in the routes' shape; elsewhere the default."""
    if exc.status_code == 400 and request.url.path.startswith("/api/"):
        return error_response("bad_json", None, "the body is not JSON this server can read: "
                              "nested too deeply, or a number too long")
    return await http_exception_handler(request, exc)


@router.get("/schema")
async def schema(request: Request) -> dict[str, Any]:
    """Every parameter (type, default, bounds, effect, group), hideable controls, limits."""
    return {
        "protocol": PROTOCOL_VERSION,
        "version": __version__,
        "groups": list(GROUPS),
        "params": [p.schema() for p in PARAMS],
        "hideable": sorted(HIDEABLE_CONTROLS),
        "limits": request.app.state.settings.limits(),
    }


class ParseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=MAX_URL_CHARS)
    config: dict[str, Any] | None = None


def _parsed(state: SharedState) -> dict[str, Any]:
    exp = state.experiment
    return {
        "config": exp.to_json(),
        "query": serialize(exp, state.hidden),
        "hidden": sorted(state.hidden),
        "warnings": state.warnings,
        "errors": [{"field": e.key, "message": str(e)} for e in state.errors],
    }


@router.get("/parse")
async def parse_get(url: str = Query("", max_length=MAX_URL_CHARS)) -> dict[str, Any]:
    """A share link (or its `?query` / `#hash` part) → the canonical config and query.

    Unknown keys are `warnings`; bad values are `errors` naming the key and are left at their
    default, as the page does when it opens such a link.
    """
    return _parsed(parse(url))


@router.post("/parse", response_model=None)
async def parse_post(body: ParseBody) -> dict[str, Any] | JSONResponse:
    """As GET, or with `config` (an object of values): that config checked strictly."""
    if (body.url is None) == (body.config is None):
        return error_response("bad_message", "url", "send exactly one of url or config")
    if body.url is not None:
        return _parsed(parse(body.url))
    try:
        exp = Experiment(body.config)
    except ConfigError as err:
        return error_response("bad_value", err.key, str(err))
    return _parsed(SharedState(exp))


def _link_experiment(request: Request, url: str) -> Experiment | JSONResponse:
    """A link's experiment, read strictly, within this server's data limit; else the error."""
    try:
        exp = parse(url, strict=True).experiment
    except ConfigError as err:
        return error_response("bad_value", err.key, str(err))
    limit = request.app.state.settings.max_samples
    if exp.numSamples + len(exp.points) > limit:
        return error_response("bad_value", "numSamples", f"this server allows {limit} data points")
    return exp


@router.get("/preview", response_model=None)
async def preview(
    request: Request,
    url: str = Query("", max_length=MAX_URL_CHARS),
    max_points: int = Query(PREVIEW_POINTS, ge=1, le=5000),
) -> Response:
    """The data of a config, for the dataset thumbnails: up to `max_points` rows per split of
    [x₁, x₂, label] in data units (domain [−6, 6]²), rounded to 0.001."""
    exp = _link_experiment(request, url)
    if isinstance(exp, JSONResponse):
        return exp
    body = await request.app.state.previews.get(
        serialize(exp), max_points, request.app.state.scheduler
    )
    return Response(body, media_type="application/json")


class CsvBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=owndata.MAX_CSV_BYTES)
    problem: Literal["classification", "regression"] = "classification"
    lang: Literal["en", "zh"] = "en"  # the page's: the language a bad file is named in


@router.post("/data/csv", response_model=None)
async def data_csv(body: CsvBody) -> dict[str, Any] | JSONResponse:
    """A CSV of your own points (x₁, x₂, label or target) as the link's `data` key, or an
    error naming the line and column."""
    classification = body.problem == "classification"
    try:
        x, y = owndata.read_csv(body.csv, classification)
    except owndata.DataError as err:
        return JSONResponse({"error": {"code": "bad_csv", "field": "csv", "message": err.in_lang(body.lang),
                                       "line": err.line, "column": err.column}}, status_code=422)
    return {"data": owndata.encode(x, y, classification), "points": len(x),
            "classes": int(y.max()) + 1 if classification else None}


@router.get("/export", response_model=None)
async def export(
    request: Request,
    url: str = Query("", max_length=MAX_URL_CHARS),
    epochs: int = Query(100, ge=1, le=MAX_EXPORT_EPOCHS),
) -> Response:
    """A link's experiment as one PyTorch script (`netplay export`), as a file to download."""
    exp = _link_experiment(request, url)
    if isinstance(exp, JSONResponse):
        return exp
    try:  # the data is generated and written out: a job for the shared workers
        state = parse(url, strict=True)  # the run's start and its live changes, made in the script
        script = await request.app.state.scheduler.run(
            export_script, state.run_start(), epochs, state.history)
    except ConfigError as err:
        return error_response("bad_value", err.key, str(err))
    return script_response(script, script_name(exp),
                           **{"X-Netplay-Live-Changes": str(len(state.history))})


class Previews:
    """The encoded previews of one app, most recently used last. Generation is deterministic
    and thumbnails ask for the same few configs over and over, so an answer is made once, on
    the shared workers, one at a time, so that a burst of new ones holds one worker, not all
    of them. (Made on the event loop, a 5,000-point preview held it 50-400 ms: a burst of 24
    stalled `/api/health` for 1 s; made here, 0.1-0.2 s at most, 2 ms typically.)"""

    def __init__(self, size: int = PREVIEW_CACHE, max_bytes: int = PREVIEW_CACHE_BYTES):
        self.size, self.max_bytes = size, max_bytes
        self.items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self.bytes = 0
        self.making = asyncio.Semaphore(1)

    async def get(self, query: str, max_points: int, scheduler: Any) -> bytes:
        key = (query, max_points)
        if (body := self._held(key)) is not None:
            return body
        async with self.making:
            if (body := self._held(key)) is None:  # made while this one waited
                body = await scheduler.run(_preview_json, query, max_points)
                self.items[key] = body
                self.bytes += len(body)
                # A burst of big previews must not leave the process holding megabytes.
                while len(self.items) > self.size or (
                    self.bytes > self.max_bytes and len(self.items) > 1
                ):
                    self.bytes -= len(self.items.popitem(last=False)[1])
        return body

    def _held(self, key: tuple[str, int]) -> bytes | None:
        body = self.items.get(key)
        if body is not None:
            self.items.move_to_end(key)
        return body


def _preview_json(query: str, max_points: int) -> bytes:
    """The preview answer of a canonical query, encoded."""
    split = generate(parse(query, strict=True).experiment)
    rows = {}
    for name in ("train", "test"):
        x = np.asarray(getattr(split, f"{name}_x"), np.float64).reshape(-1, 2)[:max_points]
        y = np.asarray(getattr(split, f"{name}_y"), np.float64).reshape(-1, 1)[:max_points]
        rows[name] = np.round(np.concatenate([x, y], axis=1), 3).tolist()
    answer = {"query": query, "num_classes": split.num_classes, "one_d": bool(split.one_d)}
    return json.dumps({**answer, **rows}, separators=(",", ":")).encode()


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Liveness for load balancers and the Docker HEALTHCHECK, plus the live session counts."""
    registry = request.app.state.registry
    lab = request.app.state.lab_registry
    return {
        "status": "ok",
        "sessions": registry.total(),
        "sessions_per_process": registry.per_process(),
        "lab_sessions": lab.total(),
        "lab_sessions_per_process": lab.per_process(),
        "seq_sessions": request.app.state.seq_registry.total(),
        "rl_sessions": request.app.state.rl_registry.total(),
        "paint_sessions": request.app.state.paint_registry.total(),
        "ae_sessions": request.app.state.ae_registry.total(),
        "rooms": request.app.state.rooms.stats(),  # this process's: {rooms, viewers}
        "protocol": PROTOCOL_VERSION,
        "version": __version__,
        "memory": request.app.state.memory.stats(),  # this process: {rss_mb, limit_mb}
    }
