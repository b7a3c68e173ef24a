"""The autoencoder lab's routes: the `/ae` page, its settings table and the `/ws/ae` socket.

The lab plugs into the shell of `server/labshell.py` as the other socket-shell labs do: one
pydantic model per message `type`, `LabLink` driving `AESession`
(`playground_models/aelab/session.py`) as jobs on the shared `Scheduler`, a registry of kind
`ae` capped by `ae_max_sessions`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import Field, TypeAdapter

from playground_models.aelab.limits import AELimits
from playground_models.aelab.session import PROTOCOL_VERSION, AESession
from playground_models.imagelab.data import available

from .imagelab import Bare, Ping, Start, Update, _Message, _settings
from .imagelab import parse_client_message as _parse
from .labshell import serve_lab
from .pages import templates
from .settings import Settings

router = APIRouter()
# A point of the code plane: finite, and far beyond any code a network of these sizes makes.
Coordinate = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class Step(_Message):
    type: Literal["step"]
    n: Annotated[int, Field(ge=1, le=10_000)] = 1  # updates


class Select(_Message):
    type: Literal["select"]
    index: Annotated[int, Field(ge=0, le=10_000)]


class Decode(_Message):
    type: Literal["decode"]
    x: Coordinate
    y: Coordinate


ClientMessage = Annotated[Start | Update | Bare | Step | Select | Decode | Ping,
                          Field(discriminator="type")]
_client_message: TypeAdapter[Any] = TypeAdapter(ClientMessage)


def ae_limits(settings: Settings) -> AELimits:
    """The autoencoder lab's limits from the server's settings."""
    return AELimits(max_parameters=settings.ae_max_parameters,
                    max_update_macs=settings.ae_max_update_macs)


def parse_client_message(text: str, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """A checked `/ws/ae` message as a dict, or an `error` message naming the field."""
    return _parse(text, max_bytes, max_depth, _client_message)


@router.get("/ae", response_class=HTMLResponse, include_in_schema=False)
async def ae_page(request: Request) -> Response:
    """The autoencoder lab. Its settings come from the share URL, read by the page itself."""
    return templates.TemplateResponse(request, "ae.html", {"protocol": PROTOCOL_VERSION})


@router.get("/api/ae/params")
async def ae_params(request: Request) -> dict[str, Any]:
    """The settings table, this server's limits and which data sets it has."""
    from playground_models.aelab.config import TABLE

    return {"params": TABLE.schema(), "limits": ae_limits(_settings(request.app)).to_json(),
            "data": available()}


@router.websocket("/ws/ae")
async def ae_socket(ws: WebSocket) -> None:
    settings = _settings(ws.app)
    limits = ae_limits(settings)
    await serve_lab(ws, kind="ae", max_sessions=settings.ae_max_sessions,
                    full="the autoencoder lab is full; try later", server="netplay-ae",
                    protocol=PROTOCOL_VERSION,
                    make_session=lambda send: AESession(send, limits=limits),
                    limits=limits.to_json(), parse=parse_client_message)
