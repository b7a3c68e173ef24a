"""The sequence lab's routes: the `/seq` page, its settings table and the `/ws/seq` socket.

The lab plugs into the image lab's shell: the same message parsing (one pydantic model per
`type`, a named `error` for a bad one), the same connection driver (`LabLink`, its bounded
`Outbox`, jobs on the shared `Scheduler`) and a registry of its own kind, capped by
`seq_max_sessions`. Its training is `SeqSession` (`playground_models/seqlab/session.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import Field, TypeAdapter

from playground_models.seqlab.config import SeqConfigError, schema
from playground_models.seqlab.findings import FINDINGS
from playground_models.seqlab.limits import SeqLimits
from playground_models.seqlab.session import PROTOCOL_VERSION, SeqSession

from .admission import Registry
from .imagelab import Bare, Ping, Start, Step, Update, _Message, _settings
from .imagelab import parse_client_message as _parse
from .labshell import lab_registry, memory_checker, serve_lab
from .memory import MemoryCeiling
from .pages import templates
from .settings import Settings

router = APIRouter()


class Compare(_Message):
    type: Literal["compare"]
    action: Literal["start", "stop"]


ClientMessage = Annotated[Start | Update | Bare | Step | Compare | Ping,
                          Field(discriminator="type")]
_client_message: TypeAdapter[Any] = TypeAdapter(ClientMessage)


def parse_client_message(text: str, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """A checked `/ws/seq` message as a dict, or an `error` message naming the field."""
    return _parse(text, max_bytes, max_depth, _client_message)


def seq_registry(app: Any) -> Registry:
    """The app's sequence-lab sessions; a router on a bare app gets one of this process."""
    return lab_registry(app, "seq")


def seq_limits(settings: Settings, memory: MemoryCeiling | None = None) -> SeqLimits:
    """The sequence lab's limits from the server's settings, with its memory ceiling."""
    return SeqLimits(max_parameters=settings.seq_max_parameters,
                     max_step_macs=settings.seq_max_step_macs,
                     memory_check=memory_checker(settings, memory, SeqConfigError))


@router.get("/seq", response_class=HTMLResponse, include_in_schema=False)
async def seq_page(request: Request) -> Response:
    """The sequence lab. Its settings come from the share URL, read by the page itself."""
    return templates.TemplateResponse(request, "seq.html", {"protocol": PROTOCOL_VERSION})


@router.get("/api/seq/params")
async def seq_params(request: Request) -> dict[str, Any]:
    """The settings table, this server's limits and the measured RNN-vs-LSTM finding."""
    settings = _settings(request.app)
    return {"params": schema(), "limits": seq_limits(settings).to_json(),
            "findings": FINDINGS}


@router.websocket("/ws/seq")
async def seq_socket(ws: WebSocket) -> None:
    settings = _settings(ws.app)
    limits = seq_limits(settings, getattr(ws.app.state, "memory", None))
    await serve_lab(ws, kind="seq", max_sessions=settings.seq_max_sessions,
                    full="the sequence lab is full; try later", server="netplay-seq",
                    protocol=PROTOCOL_VERSION,
                    make_session=lambda send: SeqSession(send, limits=limits),
                    limits=limits.to_json(), parse=parse_client_message)
