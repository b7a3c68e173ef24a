"""The page at `/` (jinja2 template from `frontend/templates`) and its files at `/static`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from frontend import STATIC, TEMPLATES
from playground_models.messages import LANGS, catalogue

from . import __version__
from .protocol import PROTOCOL_VERSION

router = APIRouter()


def page_texts(request: Request) -> dict[str, Any]:
    """What every template gets to write its texts by key, in the link's language (`?lang=zh`).

    `tx(key)` is a text marked with its key, `ta(attr, key)` an attribute and its key, and
    `msg(key)` the bare text; the page's i18n.js fills the same keys again when the language
    comes in the link's hash. A key missing from the English catalogue fails the render.
    """
    asked = request.query_params.get("lang", "en")
    lang = asked if asked in LANGS else "en"

    def msg(key: str) -> str:
        english = catalogue("en")
        if key not in english:
            raise KeyError(f"template text {key!r} is not in the English catalogue")
        return catalogue(lang).get(key) or english[key]

    def tx(key: str) -> Markup:
        return Markup('<span data-i18n="{}">{}</span>').format(key, msg(key))

    def ta(attr: str, key: str) -> Markup:
        return Markup('{}="{}" data-i18n-{}="{}"').format(attr, escape(msg(key)), attr, key)

    return {"lang": lang, "html_lang": "zh-CN" if lang == "zh" else lang,
            "msg": msg, "tx": tx, "ta": ta}


# The one template set of every page (the 2-D lab, compare, the image lab).
templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[page_texts])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> Response:
    """The 2-D lab. The share URL's query/hash is read by the page itself, not here."""
    if not (TEMPLATES / "index.html").is_file():
        return HTMLResponse(
            "<!doctype html><title>netplay</title><p>netplay is running, but the page "
            "(frontend/templates/index.html) is not installed.</p>",
            status_code=503,
        )
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        "index.html",
        {"version": __version__, "protocol": PROTOCOL_VERSION, "limits": settings.limits()},
    )


@router.get("/room/{room_id}", response_class=HTMLResponse, include_in_schema=False)
async def room(request: Request, room_id: str) -> Response:
    """A live room: the 2-D lab's page, watching a teacher's run (server/rooms.py). A room
    that has ended says so on the page, with the link that replays the run."""
    settings = request.app.state.settings
    return templates.TemplateResponse(
        request,
        "index.html",
        {"version": __version__, "protocol": PROTOCOL_VERSION, "limits": settings.limits(),
         "room": room_id},
    )


def mount_static(app: FastAPI) -> None:
    # check_dir=False: the app must start even from a checkout whose page is not built yet.
    app.mount("/static", StaticFiles(directory=str(STATIC), check_dir=False), name="static")
