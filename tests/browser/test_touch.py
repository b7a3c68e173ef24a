"""A phone (390×844, touch, no hover): every hover or modifier action has a tap that does it,
and the hints speak of tapping."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_a_phone_taps_what_a_mouse_hovers_and_the_hints_say_tap(make_page, artifacts):
    probe = make_page(390, 844, touch=True)
    page = probe.open("/?dataset=circle&seed=1&networkShape=3")
    assert page.evaluate("matchMedia('(hover: none)').matches")
    assert page.locator(".panel-net .for-touch").is_visible()
    assert not page.locator(".panel-net .for-hover").is_visible()
    assert "tap" in page.inner_text(".hint[data-control='dataEditing']").lower()

    # A tap on a neuron shows its output large until a second tap.
    neuron = ".net-node:not(.net-feature):not(.net-output)"
    page.locator(neuron).first.scroll_into_view_if_needed()
    page.touchscreen.tap(*_centre(page, neuron))
    probe.wait("document.getElementById('output-title').textContent === 'Neuron output'")
    assert page.get_attribute(neuron, "aria-pressed") == "true"
    # The plot that shows it is a screen above the diagram: it comes into view (only a
    # border on the neuron changed where the learner was looking).
    probe.wait("(b => b.top < innerHeight && b.bottom > 0)"
               "(document.getElementById('output').getBoundingClientRect())")
    page.locator(neuron).first.scroll_into_view_if_needed()
    page.touchscreen.tap(*_centre(page, neuron))
    probe.wait("document.getElementById('output-title').textContent === 'Output'")

    # A tap on a link opens its weight for editing (the hover tooltip has no touch).
    src = page.locator(".net-feature[data-param=x]").bounding_box()
    dst = page.locator(neuron).first.bounding_box()
    x = (src["x"] + src["width"] + dst["x"]) / 2
    y = (src["y"] + dst["y"] + (src["height"] + dst["height"]) / 2) / 2
    page.touchscreen.tap(x, y)
    page.locator(".param-edit-input").wait_for(state="visible")
    page.keyboard.press("Escape")

    # Adding a point is a tap; Remove, then a tap on it, takes it away (ctrl-click's job).
    page.locator("#output").scroll_into_view_if_needed()
    box = page.locator("#output").bounding_box()
    spot = (box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2)
    page.touchscreen.tap(*spot)
    probe.wait("netplay.config.points.length === 1")
    page.tap(".eraser")
    assert page.get_attribute(".eraser", "aria-pressed") == "true"
    page.touchscreen.tap(*spot)
    probe.wait("netplay.config.points.length === 0")
    page.screenshot(path=str(artifacts / "phone-touch.png"), full_page=True)
    assert probe.console_errors == []
