"""A live room on the page: the teacher shares the run, a viewer's picture follows the
teacher's (steps, changes, pauses) with its controls read-only, *Try it myself* gives the viewer
a run of their own at that moment, and the room's end leaves a link to the run. In English and
Chinese."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

LINK = "/?seed=5&dataset=xor&networkShape=3&numSamples=100"


def wait_on(page, expr: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expr):
        if time.monotonic() > deadline:
            raise TimeoutError(expr)
        page.wait_for_timeout(40)


def share(teacher, name: str) -> str:
    page = teacher.page
    page.click("#share-live")
    page.fill("#live-name", name)
    page.keyboard.press("Enter")
    teacher.wait("document.getElementById('live-link').value !== ''")
    return page.input_value("#live-link").replace(teacher.server.url, "")


def test_a_viewer_follows_the_teacher_and_tries_it_on_their_own(make_page):
    teacher = make_page()
    page = teacher.open(LINK)
    room = share(teacher, "Ms Chen")
    assert room.startswith("/room/")
    student = make_page()
    view = student.open(room)
    assert "Ms Chen" in view.inner_text("#room-text")
    teacher.wait("document.getElementById('live-count').textContent.includes('1')")
    assert view.is_disabled("#ctl-learningRate") and view.is_disabled("#step")
    assert view.is_hidden("#share") and view.url.endswith(room)

    for epoch in (1, 2, 3):
        page.click("#step")
        teacher.wait(f"netplay.frame.epoch === {epoch}")
    student.wait("netplay.frame.epoch === 3")
    assert student.js("netplay.weights") == teacher.js("netplay.weights")
    page.select_option("#ctl-learningRate", "0.3")
    student.wait("netplay.config.learningRate === 0.3")
    student.wait("document.getElementById('ctl-learningRate').value === '0.3'")  # next paint
    assert view.is_disabled("#ctl-learningRate")
    page.click("#play")
    student.wait("netplay.runState === 'playing'")
    page.click("#play")
    student.wait("netplay.runState === 'paused'")
    teacher.wait("netplay.runState === 'paused'")
    played = teacher.js("netplay.frame.epoch")  # a frame's budget may end inside an epoch:
    page.click("#step")                          # a step ends on the next epoch's end
    teacher.wait(f"netplay.frame.epoch === {played + 1}")
    student.wait(f"netplay.frame.epoch === {played + 1}")
    assert student.js("netplay.weights") == teacher.js("netplay.weights")
    at = teacher.js("netplay.frame.epoch")

    # Try it myself: a tab of the viewer's own, at this moment; the room stays open here.
    with view.context.expect_page() as opened:
        view.click("#try-it")
    own = opened.value
    wait_on(own, "window.netplay && netplay.ready && netplay.frame.epoch > 0", 30)
    assert own.evaluate("netplay.frame.epoch") == at
    assert own.evaluate("netplay.weights") == teacher.js("netplay.weights")
    own.click("#step")
    wait_on(own, f"netplay.frame.epoch === {at + 1}")
    assert teacher.js("netplay.frame.epoch") == at and student.js("netplay.frame.epoch") == at

    # The teacher leaves: the room ends, with a link to the run where it stopped.
    page.close()
    student.wait("document.getElementById('room-bar').classList.contains('ended')")
    href = view.get_attribute("#try-it", "href")
    assert href.startswith("/?") and f"at={at}" in href and "h=v1." in href
    assert teacher.console_errors == [] and student.console_errors == []


def test_a_chinese_viewer_and_a_room_that_is_gone(make_page):
    teacher = make_page()
    teacher.open(LINK + "&lang=zh")
    room = share(teacher, "陈老师")
    assert room.endswith("?lang=zh")
    student = make_page()
    view = student.open(room)
    assert "直播：陈老师 的训练" in view.inner_text("#room-text")
    assert "我自己试试" in view.inner_text("#try-it")
    # Every label said, though no hello (which sets the speeds for a session) comes to a viewer.
    assert "ui." not in view.evaluate("document.getElementById('speed').options[0].text")
    teacher.page.click("#live-stop")
    student.wait("document.getElementById('room-bar').classList.contains('ended')")
    assert "房间已结束" in view.inner_text("#room-text")

    gone = make_page()
    page = gone.page
    page.goto(gone.server.url + "/room/no-such-room?lang=zh")
    gone.wait("document.getElementById('room-text').textContent !== ''")
    assert "这个房间已结束" in page.inner_text("#room-text") and page.is_hidden("#try-it")
    page.wait_for_timeout(1500)  # and it does not keep knocking
    assert gone.js("document.getElementById('conn').dataset.status") != "connecting"


def test_a_long_unspaced_teacher_name_wraps_on_a_viewers_phone(make_page):
    """The name box takes 40 characters; one long word of them ran off a 390-px screen and
    made the whole page scroll sideways."""
    teacher = make_page()
    teacher.open(LINK)
    room = share(teacher, "Teacher" + "W" * 33)
    student = make_page(390, 844, touch=True)
    view = student.open(room)
    assert "W" * 33 in view.inner_text("#room-text")
    assert student.js("document.scrollingElement.scrollWidth") <= 390
    assert student.js("innerWidth") == 390


def test_escape_closes_the_share_live_panel_and_focus_goes_back_to_its_button(make_page):
    teacher = make_page()
    page = teacher.open(LINK)
    page.click("#share-live")
    teacher.wait("document.activeElement.id === 'live-name'")
    page.keyboard.press("Escape")
    assert teacher.js("document.getElementById('live-panel').hidden")
    assert teacher.js("document.activeElement.id") == "share-live"
    assert page.get_attribute("#share-live", "aria-expanded") == "false"
