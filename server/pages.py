"""The page at `/` (jinja2 template from `frontend/templates`) and its files at `/static`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from frontend import STATIC, TEMPLATES

from . import __version__
from .protocol import PROTOCOL_VERSION

router = APIRouter()
templates = Jinja2Templates(directory=str(TEMPLATES))


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


def mount_static(app: FastAPI) -> None:
    # check_dir=False: the app must start even from a checkout whose page is not built yet.
    app.mount("/static", StaticFiles(directory=str(STATIC), check_dir=False), name="static")
