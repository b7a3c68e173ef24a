"""The pages' keyboard shortcuts leave a focused control its own keys: Space presses a focused
button or dataset tile instead of starting or stopping training; with nothing focused, Space
still plays and pauses."""

from __future__ import annotations

import pytest
from conftest import stays

pytestmark = pytest.mark.browser


def _paused(page) -> bool:
    return page.evaluate("netplay.runState") == "paused"


def test_space_presses_the_focused_button_and_does_not_play(make_page):
    probe = make_page()
    page = probe.open("/?dataset=circle&seed=1")
    page.focus("#share")
    page.keyboard.press(" ")
    page.locator(".notice").first.wait_for()  # Copy link was pressed: it says what it did
    stays(page, _paused, 500, "paused after Space on Copy link")
    # A dataset tile is a button too: Space picks it.
    page.focus(".tile[data-value=xor]")
    page.keyboard.press(" ")
    probe.wait("netplay.config.dataset === 'xor'")
    stays(page, _paused, 500, "paused after Space on a dataset tile")
    # A checkbox ticks with Space.
    page.focus("#log-scale")
    page.keyboard.press(" ")
    assert page.is_checked("#log-scale")
    stays(page, _paused, 300, "paused after Space on a checkbox")
    # With nothing focused Space is the play shortcut, as the page says.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press(" ")
    probe.wait("netplay.runState === 'playing'")
    page.keyboard.press(" ")
    probe.wait("netplay.runState === 'paused'")


def test_space_on_a_focused_button_of_the_comparison_presses_it(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/compare?runs=2&r2.learningRate=0.1")
    page.locator(".run-card").first.wait_for()
    epoch = page.inner_text("#epoch")
    page.focus("#share")
    page.keyboard.press(" ")
    page.locator(".notice").first.wait_for()
    stays(page, lambda p: p.inner_text("#epoch") == epoch, 600, "no training after Space on Copy link")
