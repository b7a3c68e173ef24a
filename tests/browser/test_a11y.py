"""What a screen reader and a low-vision reader need that the eye alone does not: every page
passes axe-core's rules in English and Chinese, one top-level heading per page, small grey text at
WCAG AA contrast (4.5:1 on white), and the class picker's state announced (`aria-pressed`)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.browser

PAGES = ["/", "/compare?runs=2&r2.learningRate=0.1", "/lab?preset=mlp", "/seq?length=10&hidden=8"]


def _luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast_on_white(css: str) -> float:
    return 1.05 / (_luminance(css) + 0.05)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_one_top_level_heading(make_page, path):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + path)
    page.locator("h1").first.wait_for()
    assert page.locator("h1").count() == 1
    assert page.inner_text("h1") == "netplay"


def test_small_grey_text_reaches_wcag_aa_contrast(make_page):
    probe = make_page()
    page = probe.open("/")
    for selector in (".hint", ".counter-label", ".legend-text", ".metrics thead th"):
        color = page.eval_on_selector(selector, "el => getComputedStyle(el).color")
        assert _contrast_on_white(color) >= 4.5, (selector, color)


def test_the_class_picker_says_which_class_a_click_adds(make_page):
    probe = make_page()
    page = probe.open("/?dataset=circle")
    swatches = page.locator("#class-picker .swatch")
    assert swatches.count() == 2
    pressed = [swatches.nth(i).get_attribute("aria-pressed") for i in range(2)]
    assert pressed == ["false", "true"]  # class 1 at first, as the page starts
    swatches.nth(0).click()
    assert [swatches.nth(i).get_attribute("aria-pressed") for i in range(2)] == ["true", "false"]


# Each page as a learner first sees it, with what it draws once ready.
READY = {
    "/": "window.netplay.ready",
    "/compare?runs=2&r2.learningRate=0.1": "window.netplayCompare && window.netplayCompare.ready",
    "/lab?preset=mlp": "!document.body.classList.contains('loading')",
    "/seq?length=10&hidden=8": "document.body.dataset.frames > 0",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_axe_core_in_each_language(make_page, path, lang):
    probe = make_page()
    page = probe.page
    page.goto(f"{probe.server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
    probe.wait(READY[path])
    violations = Axe().run(page).response["violations"]
    found = [(v["impact"], v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    # Not only serious and critical: the pages pass every rule axe-core runs by default.
    assert found == []
