"""The image lab's routes: the `/lab` page, its JSON API and the `/ws/lab` live-training socket.

Every client message is checked here against one pydantic model per `type`; a bad one gets an
`error` naming the field and the session goes on. The training itself runs as short jobs of
its `LabSession` on the server's shared workers (`labloop` drives them); this module accepts the
connection and checks its messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.requests import HTTPConnection

from playground_models.imagelab import data as labdata
from playground_models.imagelab.config import LabConfig, LabConfigError, parse_query, schema
from playground_models.imagelab.export import MAX_EPOCHS as MAX_EXPORT_EPOCHS
from playground_models.imagelab.export import export_lab_script, script_name
from playground_models.imagelab.layers import SpecError
from playground_models.imagelab.limits import LabLimits, describe
from playground_models.imagelab.presets import PRESETS
from playground_models.imagelab.session import PROTOCOL_VERSION, LabSession
from playground_models.imagelab.summary import summarize

from .admission import Registry, origin_allowed
from .api import MAX_URL_CHARS, error_response, script_response
from .labloop import LabLink, Outbox, encode
from .memory import MemoryCeiling, MemoryLimitError, release_soon
from .pages import templates
from .protocol import DEFAULT_MAX_DEPTH, MAX_INDEX, MAX_SAFE_INT, ProtocolError, load_json
from .scheduler import Scheduler, owned_by
from .settings import Settings

router = APIRouter()

_DEFAULT_MESSAGE_BYTES = Settings.model_fields["max_message_bytes"].default


def _settings(app: Any) -> Settings:
    """The app's settings; the router mounted on a bare app runs with the defaults."""
    return getattr(app.state, "settings", None) or Settings.model_validate({})


def lab_registry(app: Any) -> Registry:
    """The app's image-lab sessions (counted across `--processes` by `create_app`'s board); a
    router mounted on a bare app gets a registry of this process alone, kept on that app."""
    registry = getattr(app.state, "lab_registry", None)
    if registry is None:
        registry = app.state.lab_registry = Registry(kind="lab")
    return registry


def lab_limits(settings: Settings, memory: MemoryCeiling | None = None) -> LabLimits:
    """The image lab's limits from the server's settings, checking the process's memory ceiling
    (the app's, or one of `max_memory_mb`) before a session builds a network."""
    ceiling = memory or MemoryCeiling(settings.max_memory_mb)

    def memory_check(extra: int, field: str, what: str) -> None:
        try:
            ceiling.check(extra, field, what)
        except MemoryLimitError as err:  # the lab reports it like any value it cannot use
            raise LabConfigError(err.field or field, err.message) from None

    return LabLimits(
        max_parameters=settings.lab_max_parameters,
        max_activation_mb=settings.lab_max_activation_mb,
        max_samples=settings.lab_max_samples,
        max_input_size=settings.lab_max_input_size,
        max_dream_cost=settings.lab_max_dream_cost,
        max_frame_kb=settings.lab_max_frame_kb,
        max_upload_bytes=settings.lab_max_upload_bytes,
        max_upload_pixels=settings.lab_max_upload_pixels,
        memory_check=memory_check,
    )


def hello_limits(settings: Settings, limits: LabLimits) -> dict[str, Any]:
    """The limits a lab client is told in `hello`."""
    return {
        "max_message_bytes": settings.max_message_bytes,
        "max_messages_per_second": settings.max_messages_per_second,
        "idle_timeout_s": settings.idle_timeout_s,
        "max_sessions": settings.lab_max_sessions,
        **limits.to_json(),
    }


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Start(_Message):
    type: Literal["start"]
    config: dict[str, Any] | None = None
    url: Annotated[str, Field(max_length=4000)] | None = None
    lang: Literal["en", "zh"] = "en"


class Update(_Message):
    type: Literal["update"]
    changes: dict[str, Any]


class Bare(_Message):
    type: Literal["play", "pause", "reset"]


class Step(_Message):
    type: Literal["step"]
    n: Annotated[int, Field(ge=1, le=1000)] = 1


# Indices and ids are bounded here, before any reaches the session: the session checks an
# index against the model and data; a JSON id is echoed, so it stays exact in a browser.
_Index = Annotated[int, Field(ge=0, le=MAX_INDEX)]
_SafeInt = Annotated[int, Field(ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)]


class Select(_Message):
    type: Literal["select"]
    example: _Index


class Predict(_Message):
    type: Literal["predict"]
    size: Annotated[int, Field(ge=8, le=64)]
    pixels: Annotated[str, Field(max_length=8000)]
    id: _SafeInt | None = None


class PredictFile(_Message):
    type: Literal["predict_file"]
    data: str  # the file, base64; bounded by the socket's message limit (the upload's size)
    name: Annotated[str, Field(max_length=200)] = ""
    id: _SafeInt | None = None


class Save(_Message):
    type: Literal["save"]


class Load(_Message):
    type: Literal["load"]
    data: str = ""  # a network file (playground_models/netfile.py), base64
    name: Annotated[str, Field(max_length=200)] = ""
    pretrained: Literal["shapes"] | None = None  # or the network the project trained


class Dream(_Message):
    type: Literal["dream"]
    layer: Annotated[int, Field(ge=1, le=MAX_INDEX)]
    unit: _Index


class Race(_Message):
    type: Literal["race"]
    action: Literal["start", "stop"]


class Ping(_Message):
    type: Literal["ping"]
    id: _SafeInt | str | None = None


ClientMessage = Annotated[
    Start | Update | Bare | Step | Select | Predict | PredictFile | Save | Load | Dream | Race
    | Ping,
    Field(discriminator="type"),
]
_client_message = TypeAdapter(ClientMessage)


def _error(code: str, field: str | None, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "field": field, "message": message}


def parse_client_message(
    text: str, max_bytes: int = _DEFAULT_MESSAGE_BYTES, max_depth: int = DEFAULT_MAX_DEPTH,
    models: TypeAdapter[Any] = _client_message,
) -> dict[str, Any]:
    """A checked client message as a dict, or an `error` message (`type` == "error").

    Parsing is `/ws`'s, bounded the same way (nesting depth, integer size, no NaN), so no text
    can make it raise. `models` are the socket's messages (the sequence lab passes its own)."""
    if len(text) > max_bytes or len(text.encode()) > max_bytes:
        return _error("too_large", None, f"messages are limited to {max_bytes} bytes")
    try:
        raw = load_json(text, max_depth)
    except ProtocolError as err:
        return err.reply()
    if not isinstance(raw, dict) or "type" not in raw:
        return _error("bad_message", "type", "a message is a JSON object with a 'type'")
    try:
        return models.validate_python(raw).model_dump(exclude_none=True)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(p) for p in first["loc"]]
        field = loc[1] if len(loc) > 1 else "type"
        if first["type"] == "union_tag_invalid":
            field = "type"
        return _error("bad_message", field, f"{field}: {first['msg']}")


@router.get("/lab", response_class=HTMLResponse, include_in_schema=False)
async def lab_page(request: Request) -> Response:
    """The image lab. Its settings come from the share URL, read by the page itself."""
    return templates.TemplateResponse(
        request, "lab.html", {"protocol": PROTOCOL_VERSION, "presets": list(PRESETS.values())}
    )


@router.get("/api/lab/presets")
async def lab_presets() -> dict[str, Any]:
    """Preset networks, the settings table, and which data sets this server has."""
    return {
        "presets": [
            {
                "name": p.name,
                "title": p.title,
                "about": p.about,
                "net": p.net,
                "total_params": summarize(p.net)["total_params"],
            }
            for p in PRESETS.values()
        ],
        "params": schema(),
        "data": [
            {
                "name": k,
                "title": v,
                "available": labdata.available()[k],
                "credit": labdata.CREDITS[k],
            }
            for k, v in labdata.DATASETS.items()
        ],
    }


@router.get("/api/lab/summary", response_model=None)
async def lab_summary(
    request: Request,
    net: Annotated[str | None, Query(max_length=2000)] = None,
    preset: str | None = None,
    data: str = "digits",
    batchSize: int = LabConfig.batchSize,
    samples: int = LabConfig.samples,
) -> dict[str, Any] | JSONResponse:
    """The layer table: output shape, parameters and formula per layer, with per-layer errors,
    and this server's lab limits with what the net (at `batchSize`, on `data`) is over."""
    if preset is not None:
        if preset not in PRESETS:
            return JSONResponse(_error("bad_value", "preset", f"unknown preset {preset!r}"), 422)
        net = PRESETS[preset].net
    if not net:
        return JSONResponse(_error("bad_value", "net", "give a net or a preset"), 422)
    try:
        summary = summarize(net, data)
        config = LabConfig().with_changes(
            {"net": net, "data": data, "batchSize": batchSize, "samples": samples})
    except SpecError as err:
        return JSONResponse(_error("bad_value", err.field, err.message), 422)
    except LabConfigError as err:
        return JSONResponse(_error("bad_value", err.key, err.message), 422)
    return {**summary, **_limit_report(_settings(request.app), config)}


@router.get("/api/lab/export", response_model=None)
async def lab_export(
    request: Request,
    url: str = Query("", max_length=MAX_URL_CHARS),
    epochs: int = Query(10, ge=1, le=MAX_EXPORT_EPOCHS),
) -> Response:
    """A lab link's experiment as one PyTorch script, as a file to download: it trains
    `epochs` epochs as the lab trains the link on the CPU (`imagelab/export.py`)."""
    settings = _settings(request.app)
    try:
        config, _ = parse_query(url)
        over = lab_limits(settings).violations(config)
        if over:
            raise over[0]
        # The data are loaded and compressed into the script: a job for the shared workers.
        script = await _scheduler(request, settings).run(export_lab_script, config, epochs)
    except LabConfigError as err:
        return error_response("bad_value", err.key, str(err))
    return script_response(script, script_name(config))


def _limit_report(settings: Settings, config: LabConfig) -> dict[str, Any]:
    limits = lab_limits(settings)
    cost = limits.cost(config)
    return {
        "limits": limits.to_json(),
        "cost": describe(config, cost) if cost is not None else None,
        "over_limits": [{"field": e.key, "message": e.message} for e in limits.violations(config)],
    }


@router.websocket("/ws/lab")
async def lab_socket(ws: WebSocket) -> None:
    settings = _settings(ws.app)
    if not origin_allowed(ws, settings):
        await ws.close(code=1008)  # before accept: the handshake gets a 403
        return
    await ws.accept()
    registry = lab_registry(ws.app)
    if registry.total() >= settings.lab_max_sessions:  # every process's, with --processes
        await ws.send_json(_error("too_many_sessions", None, "the image lab is full; try later"))
        await ws.close(code=1013)
        return
    loop = asyncio.get_running_loop()
    outbox = Outbox(settings.lab_queue_messages)

    def send(message: dict[str, Any]) -> None:  # called on a worker thread, in a session's job
        payload = encode(message)  # encoded there: the event loop is every session's
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody reads any more
            loop.call_soon_threadsafe(outbox.push, message["type"], payload)

    limits = lab_limits(settings, getattr(ws.app.state, "memory", None))
    session = LabSession(send, limits=limits)
    registry.add(session)
    try:
        await ws.send_json(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "server": "netplay-lab",
                "device": session.device.type,
                "limits": hello_limits(settings, limits),
            }
        )
        def parse_message(text: str) -> dict[str, Any]:
            # Up to a picture's size: `predict_file` carries one.
            return parse_client_message(text, max(settings.max_message_bytes,
                                                  limits.max_message_bytes),
                                        settings.max_json_depth)

        with owned_by("lab"):  # the session's jobs take their turn with every other session's
            await LabLink(ws, session, outbox, _scheduler(ws, settings), settings,
                          parse_message).serve()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        registry.discard(session)  # only once no job of it runs and its trainer is gone
        release_soon()  # what the session freed goes back to the system


def _scheduler(ws: HTTPConnection, settings: Settings) -> Scheduler:
    """The app's shared workers; a router mounted on a bare app gets workers of its own, kept
    on that app (never shared between apps, whose event loops differ)."""
    scheduler = getattr(ws.app.state, "scheduler", None)
    if scheduler is None:
        scheduler = ws.app.state.scheduler = Scheduler(settings.workers, settings.torch_threads)
    return scheduler
