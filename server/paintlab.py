"""The painting lab's routes: the `/paint` page, its settings table and the `/ws/paint` socket.

The lab plugs into the shell of `server/labshell.py` (the sequence and agent labs' too): one
pydantic model per message `type`, a named `error` for a bad one, `LabLink` driving
`PaintSession` (`playground_models/paintlab/session.py`) as jobs on the shared `Scheduler`, a
registry of kind `paint` capped by `paint_max_sessions`. A learner's picture comes as one
`picture` message, so this socket takes messages up to the upload's size.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import Field, TypeAdapter

from playground_models.paintlab.config import schema
from playground_models.paintlab.limits import PaintLimits
from playground_models.paintlab.session import PROTOCOL_VERSION, PaintSession

from .imagelab import Bare, Ping, Start, Update, _Message, _settings
from .imagelab import parse_client_message as _parse
from .labshell import serve_lab
from .pages import templates
from .settings import Settings

router = APIRouter()


class Step(_Message):
    type: Literal["step"]
    n: Annotated[int, Field(ge=1, le=10_000)] = 1  # updates


class Picture(_Message):
    type: Literal["picture"]
    data: str  # the file, base64; its size is bounded by the socket's message limit
    name: Annotated[str, Field(max_length=200)] = ""


ClientMessage = Annotated[Start | Update | Bare | Step | Picture | Ping,
                          Field(discriminator="type")]
_client_message: TypeAdapter[Any] = TypeAdapter(ClientMessage)


def paint_limits(settings: Settings) -> PaintLimits:
    """The painting lab's limits from the server's settings."""
    return PaintLimits(max_parameters=settings.paint_max_parameters,
                       max_update_macs=settings.paint_max_update_macs,
                       max_upload_bytes=settings.paint_max_upload_bytes,
                       max_upload_pixels=settings.paint_max_upload_pixels)


def parse_client_message(text: str, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """A checked `/ws/paint` message as a dict, or an `error` message naming the field."""
    return _parse(text, max_bytes, max_depth, _client_message)


@router.get("/paint", response_class=HTMLResponse, include_in_schema=False)
async def paint_page(request: Request) -> Response:
    """The painting lab. Its settings come from the share URL, read by the page itself."""
    return templates.TemplateResponse(request, "paint.html", {"protocol": PROTOCOL_VERSION})


@router.get("/api/paint/params")
async def paint_params(request: Request) -> dict[str, Any]:
    """The settings table and this server's limits."""
    return {"params": schema(), "limits": paint_limits(_settings(request.app)).to_json()}


@router.websocket("/ws/paint")
async def paint_socket(ws: WebSocket) -> None:
    settings = _settings(ws.app)
    limits = paint_limits(settings)

    def parse(text: str, max_bytes: int, max_depth: int) -> dict[str, Any]:
        return parse_client_message(text, max(max_bytes, limits.max_message_bytes), max_depth)

    await serve_lab(ws, kind="paint", max_sessions=settings.paint_max_sessions,
                    full="the painting lab is full; try later", server="netplay-paint",
                    protocol=PROTOCOL_VERSION,
                    make_session=lambda send: PaintSession(send, limits=limits),
                    limits=limits.to_json(), parse=parse)
