"""The autoencoder lab in a real Chromium against a real uvicorn: the code plane fills and
moves while it trains, a click or the keyboard on the plane shows the decoder's image there,
the digit buttons choose what is reconstructed, pause, step and reset work, a link opens the
same settings, and the page reads in Chinese, passes axe-core and fits a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from playground_models.messages import LANGS, catalogue

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FRAMES = "Number(document.body.dataset.frames || 0)"
UPDATES = "Number(document.body.dataset.updates || -1)"
DECODED = "Number(document.body.dataset.decoded || 0)"
LINK = "/ae?layers=24&seed=3"


def _open(probe, link: str = LINK):
    probe.page.goto(probe.server.url + link)
    probe.wait(f"{FRAMES} > 0")
    return probe.page


def _plane(page) -> str:
    return page.evaluate("document.getElementById('plane').toDataURL()")


def test_the_plane_moves_while_it_trains_and_answers_clicks_and_keys(make_page, artifacts):
    probe = make_page(1280, 900)
    page = _open(probe)
    assert page.input_value("#layers") == "24" and page.input_value("#data") == "digits"
    assert page.inner_text("#digit-note").startswith("digit 1 of 300")
    assert page.inner_text(".ae-key").split() == ["training", "loss", "(smoothed)", "test", "error"]
    probe.drawn()
    before = _plane(page)
    page.click("#play")
    probe.wait(f"document.body.dataset.state === 'playing' && {UPDATES} > 300")
    probe.drawn()
    assert _plane(page) != before  # the digits moved on the plane
    page.click("#play")
    probe.wait("document.body.dataset.state === 'paused'")
    assert float(page.inner_text("#m-test")) < float(page.inner_text("#m-mean"))

    box = page.locator("#plane").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    probe.wait(f"{DECODED} === 1")
    assert re.fullmatch(r"\(-?\d+\.\d\d, -?\d+\.\d\d\)", page.inner_text("#probe-at"))
    probe_at = page.evaluate("document.getElementById('plane').dataset.probe")
    page.focus("#plane")
    page.keyboard.press("ArrowRight")
    probe.wait(f"{DECODED} === 2")
    moved = page.evaluate("document.getElementById('plane').dataset.probe")
    assert moved.split()[1] == probe_at.split()[1] and moved != probe_at  # right, same height
    page.keyboard.press("Shift+ArrowRight")  # five steps at once
    probe.wait(f"{DECODED} === 3")
    far = page.evaluate("document.getElementById('plane').dataset.probe")
    step = float(moved.split()[0]) - float(probe_at.split()[0])
    assert float(far.split()[0]) - float(moved.split()[0]) == pytest.approx(5 * step, abs=0.01)  # 3 decimals each
    assert page.get_attribute("#plane", "role") == "application"  # keys, not a picture
    page.keyboard.press("Enter")
    probe.wait(f"{DECODED} === 4")
    # The decoder's picture follows training, not only clicks.
    decoded = page.evaluate("document.getElementById('decoded').toDataURL()")
    page.click("#step")
    probe.wait(f"document.getElementById('decoded').toDataURL() !== {decoded!r}")

    page.click("#next")
    probe.wait("document.body.dataset.selected === '1'")
    page.click("#prev")
    page.click("#prev")
    probe.wait("document.body.dataset.selected === '299'")
    assert page.inner_text("#digit-note").startswith("digit 300 of 300")
    updates = probe.js(UPDATES)
    page.click("#step")
    probe.wait(f"{UPDATES} === {updates + 100}")
    page.screenshot(path=str(artifacts / "ae-lab.png"), full_page=True)
    page.click("#reset")
    probe.wait(f"{UPDATES} === 0")
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_a_link_opens_the_same_settings_and_a_bad_one_is_named(make_page):
    probe = make_page(1024, 800)
    page = _open(probe, "/ae?layers=20,10&seed=x1")
    page.select_option("#activation", "relu")
    page.select_option("#learningRate", "0.01")
    probe.wait("location.search.includes('activation=relu') && location.search.includes('learningRate=0.01&')")
    probe.wait(f"{UPDATES} === 0")
    probe.drawn()
    plane = _plane(page)
    other = make_page(1024, 800)
    again = _open(other, page.url[len(other.server.url):])
    for selector, value in (("#layers", "20,10"), ("#activation", "relu"), ("#seed", "x1"),
                            ("#learningRate", "0.01")):
        assert again.input_value(selector) == value, selector
    other.drawn()
    assert _plane(again) == plane  # the same codes, drawn the same
    page.fill("#layers", "5,x")
    page.press("#layers", "Enter")
    probe.wait("!document.getElementById('banner').hidden")
    assert page.inner_text("#banner").startswith("Encoder layers: must be up to 4")
    assert page.get_attribute("#layers", "aria-invalid") == "true"


def test_the_page_reads_in_chinese_fits_a_phone_and_passes_axe_core(make_page, artifacts):
    from axe_playwright_python.sync_playwright import Axe

    probe = make_page(390, 844, touch=True)
    page = _open(probe, LINK + "&lang=zh")
    zh = catalogue("zh")
    assert page.inner_text("#h-plane") == zh["ae.planeTitle"]
    assert page.evaluate("document.getElementById('data').options[0].textContent") == zh["ae.data.digits"]
    page.click("#step")
    probe.wait(f"{UPDATES} === 100")
    probe.drawn()
    page.screenshot(path=str(artifacts / "ae-lab-390x844.png"), full_page=True)
    sizes = probe.js("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1] == 390, sizes
    plane = page.locator("#plane").bounding_box()
    assert plane["x"] + plane["width"] <= 390 and plane["width"] > 300
    # The activations are as wide as their card and wrap there (sized by their own pixels,
    # they ran past it, growing with the screen's density).
    widths = probe.js("""(() => {
      const c = document.getElementById('net'), card = c.parentElement, s = getComputedStyle(card);
      return [c.getBoundingClientRect().width,
              card.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)];
    })()""")
    assert abs(widths[0] - widths[1]) < 1, widths
    assert page.is_hidden("#weightDecay")  # the settings fold away on a phone
    page.tap("#plane")
    probe.wait(f"{DECODED} === 1")
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    assert probe.console_errors == []


def test_every_key_the_autoencoder_lab_uses_is_in_every_catalogue():
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "frontend/static/ae").glob("*.js"))
    html = (ROOT / "frontend/templates/ae.html").read_text(encoding="utf-8")
    used = set(re.findall(r"""["'`]((?:ae|paint|rl|ui|lab|seq|param|choice)\.[\w.]+)["'`]""",
                          code + html))
    used |= {f"ae.data.{d}" for d in ("digits", "synth", "mnist")}
    assert {"ae.net.code", "ae.planeTitle", "ae.digitNote"} <= used
    for lang in LANGS:
        texts = catalogue(lang)
        assert sorted(k for k in used if k not in texts) == [], lang
