"""The run's history in its link, on the page: a change made while training goes in the address
bar's `h`, and whoever opens the link (with `at=`, as *Copy link* writes it) sees the very same
weights at the same epoch."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_a_link_with_its_history_opens_on_the_same_weights(make_page):
    teacher = make_page()
    page = teacher.open("/?seed=5&dataset=xor&networkShape=3&numSamples=100")
    page.click("#step")
    teacher.wait("netplay.frame.epoch >= 1")
    page.select_option("#ctl-learningRate", "0.3")
    teacher.wait("netplay.config.learningRate === 0.3")
    for epoch in (2, 3):
        page.click("#step")
        teacher.wait(f"netplay.frame.epoch >= {epoch}")
    address = page.evaluate("location.href")
    assert "&h=v1." in address and "learningRate=0.3&" in address  # the settings now, and since
    student = make_page()
    other = student.open(address.replace(teacher.server.url, "") + "&at=3")
    student.wait("netplay.frame.epoch === 3")
    assert student.js("netplay.weights") == teacher.js("netplay.weights")
    assert student.js("netplay.config.learningRate") == 0.3
    assert other.evaluate("location.href").count("&h=v1.") == 1
    assert teacher.console_errors == [] and student.console_errors == []


def test_a_damaged_history_is_named_in_chinese_and_the_run_opens_at_its_start(make_page):
    probe = make_page()
    page = probe.open("/?seed=5&networkShape=3&lang=zh&h=v1.AAAA")
    probe.wait("document.querySelector('#notices').textContent.includes('已损坏')")
    assert "h: 已损坏：无法解码" in page.inner_text("#notices")
    assert probe.js("netplay.frame.epoch") == 0


def test_a_link_whose_replay_takes_minutes_shows_how_far_it_has_got(make_page):
    """The biggest net to the last epoch the replay limit allows: minutes before the run opens
    there. The page says how far the replay has got (it showed "Live" over an empty page)."""
    probe = make_page()
    probe.page.goto(probe.server.url + "/?at=199&networkShape=64,64,64,64,64,64,64,64"
                    "&batchSize=1&numSamples=5000")
    probe.wait("/^Replaying the link… [0-9]+ %$/.test(document.getElementById('conn').textContent)")
    assert probe.console_errors == []
