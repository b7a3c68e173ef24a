"""The agent lab in a real Chromium against a real uvicorn: the world moves while it plays, the
reward curve fills, pause stops the clock and reset winds it back, a share link opens the same
world and settings, a bad setting is named in the banner, the page reads in Chinese, passes
axe-core, and fits a phone's screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import stays

from playground_models.messages import LANGS, catalogue

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FRAMES = "Number(document.body.dataset.frames || 0)"
TICK = "Number(document.body.dataset.tick || -1)"
# A small agent that learns from its first 100 ticks: the curve and the loss move at once.
LINK = "/rl?layers=16&batchSize=16&learnStart=100&epsBurnin=0&seed=5"

# The header's controls and links, pairwise: none drawn over another (as tests/browser/test_layout.py).
HEADER_OVERLAPS = """(() => {
  const items = [...document.querySelectorAll('.topbar > * > *, .topbar > :not(div)')]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden');
  const boxes = items.map((el) => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, r] = boxes[i], [b, s] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const x = Math.min(r.right, s.right) - Math.max(r.left, s.left);
      const y = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
      if (x > 1 && y > 1) hits.push(`${a.id || a.className} × ${b.id || b.className}`);
    }
  }
  return hits;
})()"""


def _open(probe, link: str = LINK):
    probe.page.goto(probe.server.url + link)
    probe.wait(f"{FRAMES} > 0")
    return probe.page


def _data(page, selector: str, key: str) -> str | None:
    return page.evaluate(f"document.querySelector({selector!r}).dataset.{key}")


def test_the_world_moves_the_curve_fills_and_the_run_controls_work(make_page, artifacts):
    probe = make_page(1280, 900)
    page = _open(probe)
    assert page.input_value("#layers") == "16" and page.input_value("#batchSize") == "16"
    assert page.input_value("#seed") == "5" and page.is_checked("#learning")
    assert _data(page, "#net", "layers") == "59 16 5"  # 27 + 32 inputs, a window of 1
    assert int(_data(page, "#world", "items")) == 30
    assert probe.js(HEADER_OVERLAPS) == []

    # Playing at normal speed, the agent moves between frames.
    page.select_option("#speed", "normal")
    page.click("#play")
    probe.wait("document.body.dataset.state === 'playing'")
    seen = {_data(page, "#world", "agent")}
    for _ in range(3):
        frames = probe.js(FRAMES)
        probe.wait(f"{FRAMES} > {frames + 2}")
        seen.add(_data(page, "#world", "agent"))
    assert len(seen) > 1, "the agent did not move"
    assert page.get_attribute("#play", "aria-pressed") == "true"

    # Very fast: points on the reward curve (one per 100 ticks), the stats filled in.
    page.select_option("#speed", "veryfast")
    probe.wait("Number(document.getElementById('curve').dataset.points || 0) >= 3", 30_000)
    assert "ticks" in _data(page, "#curve", "x")
    assert page.inner_text("#m-reward") != "—" and page.inner_text("#m-replay") != "—"
    assert page.inner_text("#m-loss") != "—"  # learning began at 100 transitions
    assert _data(page, "#q-bars", "action") in {"0", "1", "2", "3", "4"}
    assert page.locator(".q-row.chosen").count() == 1
    # The Q bars span the lowest value to the highest, the best one whole.
    widths = page.eval_on_selector_all(".q-bar i",
                                       "els => els.map(e => parseFloat(e.style.width))")
    assert (max(widths), min(widths)) == (100, 4), widths
    assert page.locator(".q-row.best").count() == 1

    # Pause (the Space key, from the page) stops the clock; Space plays again.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Space")
    probe.wait("document.body.dataset.state === 'paused'")
    probe.drawn()
    tick = probe.js(TICK)
    assert page.inner_text("#ticks") == f"{tick:,}"
    stays(page, lambda p: p.evaluate(TICK) == tick, 700, "the paused tick")
    page.keyboard.press("Space")
    probe.wait(f"document.body.dataset.state === 'playing' && {TICK} > {tick}")
    page.click("#play")
    probe.wait("document.body.dataset.state === 'paused'")
    probe.drawn()

    # Step runs 10 ticks and frames them (a pause at "very fast" leaves up to half a second of
    # ticks unframed: the first step's frame catches up, the second is exactly 10 on).
    tick = probe.js(TICK)
    page.click("#step")
    probe.wait(f"{TICK} >= {tick + 10}")
    tick = probe.js(TICK)
    page.click("#step")
    probe.wait(f"{TICK} === {tick + 10}")
    page.screenshot(path=str(artifacts / "rl-lab.png"), full_page=True)
    page.click("#reset")
    probe.wait(f"{TICK} === 0 && document.getElementById('curve').dataset.points === '0'")
    assert page.inner_text("#ticks") == "0"
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_the_share_link_opens_the_same_world_and_settings(make_page):
    probe = make_page(1024, 800)
    page = _open(probe, "/rl?seed=abc&layers=12,8&items=12")
    assert page.input_value("#items") == "12"  # not one of the listed values: added
    page.select_option("#gamma", "0.9")
    page.select_option("#optimizer", "rmsprop")
    probe.wait("location.search.includes('gamma=0.9') && location.search.includes('optimizer=rmsprop')")
    world = page.evaluate("document.getElementById('world').toDataURL()")
    url = page.url
    assert "seed=abc" in url and "layers=12,8" in url and "items=12" in url

    other = make_page(1024, 800)
    again = _open(other, url[len(other.server.url):])
    for selector, value in (("#seed", "abc"), ("#layers", "12,8"), ("#items", "12"),
                            ("#gamma", "0.9"), ("#optimizer", "rmsprop")):
        assert again.input_value(selector) == value, selector
    assert _data(again, "#net", "layers") == "59 12 8 5"
    other.drawn()
    assert again.evaluate("document.getElementById('world').toDataURL()") == world
    assert probe.js(HEADER_OVERLAPS) == []


def test_a_bad_setting_is_named_and_the_run_goes_on(make_page):
    probe = make_page()
    page = _open(probe, "/rl?seed=2&layers=8")
    assert page.is_hidden("#banner")
    page.fill("#layers", "0,x")
    page.press("#layers", "Enter")
    probe.wait("!document.getElementById('banner').hidden")
    text = page.inner_text("#banner")
    assert text.startswith("Hidden layers: ") and "'0,x'" in text  # named as the page names it
    assert page.get_attribute("#layers", "aria-invalid") == "true"
    assert "layers=8&" in page.url  # nothing changed
    page.fill("#layers", "6,6")
    page.press("#layers", "Enter")
    probe.wait("location.search.includes('layers=6,6')")
    probe.wait("document.getElementById('banner').hidden")
    assert page.get_attribute("#layers", "aria-invalid") is None
    # A bad link opens at the defaults, naming the key.
    page = _open(probe, "/rl?gamma=7&seed=2")
    probe.wait("!document.getElementById('banner').hidden")
    text = page.inner_text("#banner")
    assert text.startswith("γ (discount): must be between 0 and 0.99, got 7;"), text
    assert page.input_value("#gamma") == "0.7" and page.input_value("#seed") == "2"
    # A link too long to read at all still opens a working lab, at the defaults, saying why.
    page = _open(probe, "/rl?seed=" + "a" * 5000)
    probe.wait("!document.getElementById('banner').hidden")
    assert "4000 characters" in page.inner_text("#banner")
    assert page.input_value("#seed") == "1" and page.is_visible("#world")


def test_watch_the_pretrained_agent_then_learn_from_scratch(make_page):
    probe = make_page()
    page = _open(probe, "/rl?seed=4&layers=8&window=0")
    if page.is_hidden("#pretrained"):
        pytest.skip("this server has no pretrained agent")
    assert page.inner_text("#agent-note") == catalogue("en")["rl.note.scratch"]
    page.click("#pretrained")
    # Its network settings come from /api/rl/params; it plays at once, watching, not learning.
    probe.wait("location.search.includes('start=pretrained') && document.body.dataset.state === 'playing'")
    assert not page.is_checked("#learning") and page.input_value("#speed") == "normal"
    assert page.input_value("#layers") != "8" and page.inner_text("#learning-state") == "not learning"
    assert page.inner_text("#agent-note") == catalogue("en")["rl.note.pretrained"]
    tick = probe.js(TICK)
    probe.wait(f"{TICK} > {tick + 5}")
    # A new network shape cannot take its weights: it learns from scratch, no error.
    page.select_option("#window", "2")
    probe.wait("location.search.includes('start=scratch') && location.search.includes('window=2')")
    probe.wait("document.getElementById('net').dataset.layers === '91 50 50 5'")  # 27 + 2 × 32
    assert page.is_hidden("#banner")
    page.click("#pretrained")
    probe.wait("location.search.includes('start=pretrained&layers=50,50&activation=relu&window=1&')")
    page.click("#scratch")
    probe.wait("location.search.includes('start=scratch')")
    probe.wait("document.getElementById('learning').checked")
    page.uncheck("#learning")  # the toggle: learning off and on again
    probe.wait("document.getElementById('learning-state').textContent === 'not learning'")
    page.check("#learning")
    probe.wait("document.getElementById('learning-state').textContent === 'learning'")
    assert page.is_hidden("#banner") and probe.console_errors == []


def test_the_page_reads_in_chinese(make_page):
    probe = make_page()
    page = _open(probe, "/rl?seed=3&lang=zh")
    zh = catalogue("zh")
    assert page.inner_text("#h-world") == zh["rl.worldTitle"]
    assert page.inner_text("#h-stats") == zh["rl.statsTitle"]
    assert page.inner_text(".q-row .q-name") == zh["rl.action.0"]
    assert zh["rl.speed.veryfast"] in page.inner_text("#speed")
    assert page.inner_text("#learning-state") in (zh["rl.state.learning"], zh["rl.state.notLearning"])
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "lang=zh" in page.url and "seed=3" in page.url
    assert page.get_attribute(".nav-link[href^='/seq']", "href") == "/seq?lang=zh"
    assert probe.console_errors == []


def test_the_page_fits_a_phone_and_passes_axe_core(make_page, artifacts):
    from axe_playwright_python.sync_playwright import Axe

    probe = make_page(390, 844, touch=True)
    page = _open(probe, LINK)
    page.select_option("#speed", "fast")
    page.click("#play")
    probe.wait(f"{TICK} > 20")
    page.click("#play")
    probe.wait("document.body.dataset.state === 'paused'")
    probe.drawn()
    page.screenshot(path=str(artifacts / "rl-lab-390x844.png"), full_page=True)
    sizes = probe.js("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1] == 390, sizes
    world = page.locator("#world").bounding_box()
    assert world["x"] >= 0 and world["x"] + world["width"] <= 390 and world["width"] > 300
    assert abs(world["width"] / world["height"] - 1.4) < 0.02  # 700 × 500, not stretched
    # The settings fold away, so the world is on the first screen; a tap opens them.
    assert world["y"] + world["height"] < 844 and page.is_hidden("#gamma")
    page.click("#settings > summary")
    assert page.is_visible("#gamma")
    assert probe.js(HEADER_OVERLAPS) == []
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []


def test_every_key_the_agent_lab_uses_is_in_every_catalogue():
    # tests/test_i18n.py scans page code for the older families; this covers the `rl.` keys.
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "frontend/static/rl").glob("*.js"))
    html = (ROOT / "frontend/templates/rl.html").read_text(encoding="utf-8")
    used = set(re.findall(r"""["'`]((?:rl|ui|lab|seq|param|choice)\.[\w.]+)["'`]""", code + html))
    used |= {f"rl.action.{k}" for k in range(5)}
    assert {"rl.chart.ticks", "rl.worldTitle", "rl.net.hidden"} <= used
    for lang in LANGS:
        texts = catalogue(lang)
        assert sorted(k for k in used if k not in texts) == [], lang
