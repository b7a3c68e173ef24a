"""Fixtures for the browser tests: a real uvicorn server on a free port and Debian Chromium.

Playwright's own browser downloads are never used (`playwright install` is not run); the
tests drive /usr/bin/chromium. Without it (or without playwright) the tests are skipped.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# Resolves once the page has drawn what it holds: web fonts loaded and two animation frames
# passed, so every view that redraws on requestAnimationFrame has done so (and the i18n
# MutationObserver, whose callbacks run before the next frame, has translated what was written).
DRAWN = (
    "document.fonts.ready.then(() => new Promise((done) => "
    "requestAnimationFrame(() => requestAnimationFrame(() => done(true)))))"
)


def drawn(page) -> None:
    """Wait until `page` has drawn its current state (see DRAWN)."""
    page.evaluate(DRAWN)


def stays(page, check: Callable[[object], bool], ms: float, what: str) -> None:
    """Assert that `check(page)` holds throughout the next `ms` milliseconds, failing as soon
    as it does not: for behaviour that is the absence of an event (no reconnect while idle)."""
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        assert check(page), f"{what} stopped holding"
        page.wait_for_timeout(50)
    assert check(page), f"{what} stopped holding"


# An init script (page.add_init_script) that records every text drawn on a canvas, which the page's own text cannot show.
RECORD_CANVAS_TEXT = """
window.canvasTexts = new Set();
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
  window.canvasTexts.add(String(text));
  return fillText.call(this, text, ...rest);
};
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the page in a real Chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn in a daemon thread; `stop()` shuts it down, `start()` brings it back."""

    def __init__(self, port: int, **settings: object):
        self.port = port
        self.settings = settings
        self.url = f"http://127.0.0.1:{port}"
        self.server = None
        self.thread = None

    def start(self) -> None:
        import uvicorn

        from server.app import create_app
        from server.settings import Settings
        from server.wsproto import ws_setting

        config = uvicorn.Config(
            create_app(Settings(**self.settings)), host="127.0.0.1", port=self.port,
            log_level="warning", lifespan="on", ws=ws_setting(),  # as `netplay serve` runs it
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the netplay server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = None


@pytest.fixture(scope="session")
def live_server() -> Iterator[ServerThread]:
    srv = ServerThread(_free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerThread]]:
    """`make_server(idle_timeout_s=1.5, ...)`: a server of its own, with those settings."""
    servers: list[ServerThread] = []

    def make(**settings: object) -> ServerThread:
        srv = ServerThread(_free_port(), **settings)
        srv.start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian Chromium (/usr/bin/chromium) is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProbe:
    """A page plus what it logged: console errors, page errors, and requests off this host."""

    def __init__(self, context, server: ServerThread):
        self.context = context
        self.server = server
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.console_errors.append(f"pageerror: {err}"))
        context.route("**/*", self._route)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def _route(self, route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.foreign_requests.append(url)
            route.abort()

    def open(self, link: str = "/") -> object:
        """Open the page at `link` (path plus ?query / #hash) and wait for the first frame."""
        self.page.goto(self.server.url + link)
        self.wait_ready()
        return self.page

    def wait_ready(self, timeout: float = 20_000) -> None:
        self.wait("window.netplay && window.netplay.ready", timeout)

    def wait(self, expr: str, timeout: float = 20_000) -> None:
        """Poll a JS expression until it is truthy. (Playwright's wait_for_function compiles
        its argument with `new Function`, which the server's CSP rightly forbids.)"""
        deadline = time.monotonic() + timeout / 1000
        while not self.page.evaluate(expr):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout / 1000:g} s waiting for {expr}")
            self.page.wait_for_timeout(40)

    def js(self, expr: str):
        return self.page.evaluate(expr)

    def drawn(self) -> None:
        """Wait until the page has drawn what it holds (fonts, two animation frames)."""
        drawn(self.page)


@pytest.fixture
def make_page(browser, live_server):
    """Factory of fresh pages, each in its own browser context (like a second person)."""
    contexts = []

    def make(width: int = 1280, height: int = 720, server: ServerThread | None = None,
             touch: bool = False) -> PageProbe:
        # `touch`: a phone's screen, with touch events and no hover (`(hover: none)` matches).
        ctx = browser.new_context(viewport={"width": width, "height": height},
                                  has_touch=touch, is_mobile=touch)
        contexts.append(ctx)
        return PageProbe(ctx, server or live_server)

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def restartable(browser) -> Iterator[PageProbe]:
    """A page on a server of its own, which the test may stop and start again (`probe.server`)."""
    srv = ServerThread(_free_port())
    srv.start()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield PageProbe(ctx, srv)
    ctx.close()
    srv.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
