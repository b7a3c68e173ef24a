"""Every page opened from a broken link works: the bad parts open at their defaults, the page
names them, and training goes on from there. A link that describes nothing at all (a comparison
without runs) says so and offers a way on."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LAB_2D = [
    ("/?learningRate=abc&dataset=xor", "learningRate"),
    ("/?networkShape=999&bogus=1", "networkShape"),
    ("/?dataset=nope", "dataset"),
    ("/?seed=&noise=-5", "noise"),
    ("/#activation=swish&learningRate=0.03", "activation"),
]
COMPARE = [
    ("/compare?runs=9&r2.activation=relu", "runs"),
    ("/compare?runs=2&r2.learningRate=abc", "r2.learningRate"),
    ("/compare?runs=2&r5.x=false&r2.activation=relu", "r5"),
    ("/compare?runs=2&dropout=7&r2.activation=relu", "dropout"),
]
IMAGE_LAB = [
    ("/lab?preset=nope", "preset"),
    ("/lab?learningRate=100&preset=mlp", "learningRate"),
    ("/lab?net=in24x24x1-conv8k99-fc10", "net"),
    ("/lab?batchSize=abc&preset=mlp", "batchSize"),
]


@pytest.mark.parametrize(("link", "key"), LAB_2D)
def test_a_bad_2d_link_opens_at_defaults_naming_the_key(make_page, link, key):
    probe = make_page()
    page = probe.open(link)
    page.locator(".notice").first.wait_for()
    assert key in page.inner_text("#notices")
    page.click("#step")
    probe.wait("netplay.frame.epoch === 1")
    assert probe.console_errors == []


# Each page's readiness and where it names what it could not use.
READY = {
    "compare": ("window.netplayCompare && window.netplayCompare.ready", "#notices",
                "window.netplayCompare.epoch >= 1"),
    "lab": ("!document.body.classList.contains('loading') && !!document.querySelector('#layers tr')",
            "#banner-text", "document.getElementById('m-train-loss').textContent !== '—'"),
}


@pytest.mark.parametrize(("page_kind", "link", "key"),
                         [("compare", *c) for c in COMPARE] + [("lab", *c) for c in IMAGE_LAB])
def test_a_bad_compare_or_image_lab_link_opens_at_defaults_naming_the_key(
    make_page, page_kind, link, key
):
    ready, named_in, trained = READY[page_kind]
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + link)
    probe.wait(ready)
    assert key in page.inner_text(named_in)
    page.click("#step")
    probe.wait(trained)
    assert probe.console_errors == []


def test_a_compare_link_without_runs_says_so_and_offers_the_lab(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/compare?lesson=nope")
    probe.wait("!!document.getElementById('broken-link')")
    page.click("#broken-link a")
    probe.wait_ready()


def test_a_link_with_a_key_thousands_of_characters_long_keeps_its_notice_small(make_page):
    """The notice quotes an unknown key; one of 5,000 characters made it taller than a phone's
    screen, with its × out of reach above it."""
    probe = make_page(390, 844, touch=True)
    page = probe.open("/?" + "k" * 5000 + "=1")
    notice = page.locator(".notice").first
    notice.wait_for()
    assert "k" * 40 + "…" in notice.inner_text() and "k" * 41 not in notice.inner_text()
    box = page.locator(".notice-close").first.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, box
    page.locator(".notice-close").first.tap()
    assert page.locator(".notice").count() == 0
