"""The agent lab's routes: the `/rl` page, its settings table and the `/ws/rl` socket.

The lab plugs into the shell of `server/labshell.py` (the sequence lab's too): one pydantic
model per message `type`, a named `error` for a bad one, `LabLink` driving `RLSession`
(`playground_models/rllab/session.py`) as jobs on the shared `Scheduler`, a registry of kind
`rl` capped by `rl_max_sessions`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import Field, TypeAdapter

from playground_models.rllab.config import RLConfigError, schema
from playground_models.rllab.limits import RLLimits
from playground_models.rllab.pretrained import SHAPED, pretrained_config
from playground_models.rllab.session import PROTOCOL_VERSION, SPEEDS, RLSession

from .admission import Registry
from .imagelab import Bare, Ping, Start, Step, Update, _Message, _settings
from .imagelab import parse_client_message as _parse
from .labshell import lab_registry, memory_checker, serve_lab
from .memory import MemoryCeiling
from .pages import templates
from .settings import Settings

router = APIRouter()


class Learn(_Message):
    type: Literal["learn"]
    on: bool


class Speed(_Message):
    type: Literal["speed"]
    speed: Literal[tuple(SPEEDS)]  # type: ignore[valid-type]


ClientMessage = Annotated[Start | Update | Bare | Step | Learn | Speed | Ping,
                          Field(discriminator="type")]
_client_message: TypeAdapter[Any] = TypeAdapter(ClientMessage)


def parse_client_message(text: str, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """A checked `/ws/rl` message as a dict, or an `error` message naming the field."""
    return _parse(text, max_bytes, max_depth, _client_message)


def rl_registry(app: Any) -> Registry:
    """The app's agent-lab sessions; a router on a bare app gets one of this process."""
    return lab_registry(app, "rl")


def rl_limits(settings: Settings, memory: MemoryCeiling | None = None) -> RLLimits:
    """The agent lab's limits from the server's settings, with its memory ceiling."""
    return RLLimits(max_parameters=settings.rl_max_parameters,
                    max_tick_macs=settings.rl_max_tick_macs,
                    memory_check=memory_checker(settings, memory, RLConfigError))


@router.get("/rl", response_class=HTMLResponse, include_in_schema=False)
async def rl_page(request: Request) -> Response:
    """The agent lab. Its settings come from the share URL, read by the page itself."""
    return templates.TemplateResponse(request, "rl.html", {"protocol": PROTOCOL_VERSION})


@router.get("/api/rl/params")
async def rl_params(request: Request) -> dict[str, Any]:
    """The settings table, this server's limits, and the pretrained agent's network settings
    (null when this server has none)."""
    settings = _settings(request.app)
    stored = pretrained_config()
    return {"params": schema(), "limits": rl_limits(settings).to_json(),
            "pretrained": {k: getattr(stored, k) for k in SHAPED} if stored else None}


@router.websocket("/ws/rl")
async def rl_socket(ws: WebSocket) -> None:
    settings = _settings(ws.app)
    limits = rl_limits(settings, getattr(ws.app.state, "memory", None))
    await serve_lab(ws, kind="rl", max_sessions=settings.rl_max_sessions,
                    full="the agent lab is full; try later", server="netplay-rl",
                    protocol=PROTOCOL_VERSION,
                    make_session=lambda send: RLSession(send, limits=limits),
                    limits=limits.to_json(), parse=parse_client_message)
