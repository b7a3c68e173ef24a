"""Rewind, fork and undo on the page: dragging back along the loss chart (or the arrow keys and
Enter on it) shows an earlier moment of the run exactly; Play from there forks, and the old
future stays on the chart, faint, until the next fork; Undo change goes back to before the last
live change."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

LINK = "/?seed=5&dataset=xor&networkShape=3&numSamples=100"


def step_to(probe, page, epoch: int) -> None:
    while probe.js("netplay.frame.epoch") < epoch:
        n = probe.js("netplay.frame.epoch")
        page.click("#step")
        probe.wait(f"netplay.frame.epoch > {n}")


def test_dragging_back_shows_the_earlier_frame_exactly_and_play_forks(make_page):
    probe = make_page()
    page = probe.open(LINK)
    probe.wait_ready()
    assert not page.is_visible("#rewind-hint")  # at epoch 0 there is nothing to go back to
    step_to(probe, page, 4)
    assert page.is_visible("#rewind-hint")
    at4 = probe.js("netplay.weights")
    page.select_option("#ctl-learningRate", "0.3")
    probe.wait("netplay.config.learningRate === 0.3")
    assert page.is_visible("#undo")
    step_to(probe, page, 8)
    old = probe.js("netplay.weights")

    # Drag from the right end of the chart back to epoch 4 (the x axis runs 0..8 here).
    box = page.locator("#loss-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 8, box["y"] + box["height"] / 2)
    page.mouse.down()
    assert page.get_attribute("#loss-chart", "aria-valuemax") == "8"
    # Find the pixel of epoch 4 by moving until the slider says so.
    for dx in range(int(box["width"]) - 8, 0, -2):
        page.mouse.move(box["x"] + dx, box["y"] + box["height"] / 2)
        if page.get_attribute("#loss-chart", "aria-valuenow") == "4":
            break
    assert page.get_attribute("#loss-chart", "aria-valuenow") == "4"
    page.mouse.up()
    probe.wait("netplay.frame.epoch === 4 && netplay.config.learningRate === 0.03")
    assert probe.js("netplay.weights") == at4
    assert [p["epoch"] for p in probe.js("netplay.oldFuture")] == [4, 5, 6, 7, 8]
    assert max(p["epoch"] for p in probe.js("netplay.history")) == 4
    assert "&h=" not in page.evaluate("location.href")
    assert page.is_hidden("#undo")

    # Play from there forks: another future than the old one, which stays on the chart.
    page.click("#play")
    probe.wait("netplay.frame.epoch >= 8")
    page.click("#play")
    probe.wait("netplay.runState === 'paused'")
    assert probe.js("netplay.weights") != old
    assert len(probe.js("netplay.oldFuture")) == 5
    probe.drawn()
    assert probe.console_errors == []


def test_the_keyboard_rewinds_and_undo_goes_back_before_the_last_change_in_chinese(make_page):
    probe = make_page()
    page = probe.open(LINK + "&lang=zh")
    probe.wait_ready()
    step_to(probe, page, 3)
    at3 = probe.js("netplay.weights")
    page.select_option("#ctl-learningRate", "0.3")
    probe.wait("netplay.config.learningRate === 0.3")
    step_to(probe, page, 5)
    assert "撤销" in page.inner_text("#undo")
    page.keyboard.press("u")
    probe.wait("netplay.frame.epoch === 3 && netplay.config.learningRate === 0.03")
    assert probe.js("netplay.weights") == at3
    assert "已回到第 3 轮" in page.inner_text("#notices")

    step_to(probe, page, 6)
    page.focus("#loss-chart")
    assert "方向键" in page.get_attribute("#loss-chart", "aria-label")
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#loss-chart", "aria-valuenow") == "2"
    page.keyboard.press("Escape")  # nothing happens
    assert page.get_attribute("#loss-chart", "aria-valuenow") == "6"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    probe.wait("netplay.frame.epoch === 1")
    assert probe.console_errors == []
