"""The sequence lab in a real Chromium against a real uvicorn: a link opens with its settings,
training moves the curves and redraws the inside views, the RNN-vs-LSTM comparison streams both
runs, a bad link opens at its defaults naming the key, and the page reads in Chinese."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

FRAMES = "Number(document.body.dataset.frames || 0)"


def _canvas(page, selector: str) -> str:
    return page.evaluate(f"document.querySelector({selector!r}).toDataURL()")


def test_a_link_trains_live_and_redraws_the_hidden_state_gradients_and_gates(make_page, artifacts):
    probe = make_page(1440, 900)
    page = probe.page
    page.goto(probe.server.url + "/seq?task=remember&cell=lstm&length=12&hidden=16&seed=4")
    probe.wait(f"{FRAMES} > 0")
    assert page.input_value("#cell") == "lstm" and page.input_value("#length") == "12"
    assert page.inner_text("#length-out") == "12"
    assert page.get_attribute("#hidden-map", "data-shape") == "13x16"
    assert page.get_attribute("#gates-chart", "data-series") == "input forget output"
    before = {sel: _canvas(page, sel) for sel in ("#hidden-map", "#grad-chart")}
    page.click("#play")
    probe.wait(f"{FRAMES} > 4 && Number(document.getElementById('steps').textContent) > 0")
    page.click("#play")  # pause
    probe.drawn()
    assert page.inner_text("#m-train-loss") != "—"
    for sel, image in before.items():
        assert _canvas(page, sel) != image, f"{sel} did not change while training"
    assert "grad" in page.get_attribute("#grad-chart", "data-series")
    assert "task=remember&cell=lstm&length=12&" in page.url  # the share link
    page.screenshot(path=str(artifacts / "seq-lab.png"))
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_changing_the_cell_rebuilds_and_hides_the_gates(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/seq?length=6&hidden=8")
    probe.wait(f"{FRAMES} > 0")
    page.select_option("#cell", "rnn")
    probe.wait("location.search.includes('cell=rnn')")
    probe.wait("document.getElementById('gates-chart').dataset.series === ''")
    assert "LSTM" in page.inner_text("#gates-note")
    page.select_option("#task", "sine")
    probe.wait("!document.querySelector('[data-param=noise]').hidden")
    assert page.is_visible("#noise")


def test_compare_streams_an_rnn_and_an_lstm(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/seq?length=5&hidden=8")
    probe.wait(f"{FRAMES} > 0")
    note = page.inner_text("#lesson")
    assert "RNN" in note and "LSTM" in note and "1, 2, 3, 4, 5" in note
    start = page.inner_text("#compare")
    page.click("#compare")
    probe.wait("document.getElementById('compare').dataset.acc !== undefined")
    probe.wait("document.getElementById('compare-grad').dataset.series === 'rnn lstm'")
    assert page.inner_text("#compare") != start  # it says "Stop" now
    page.click("#compare")
    probe.wait(f"document.getElementById('compare').textContent.trim() === {start!r}")


def test_a_bad_link_opens_at_the_defaults_and_names_the_key(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/seq?cell=tree&hidden=8&length=4")
    probe.wait(f"{FRAMES} > 0")
    assert page.input_value("#cell") == "lstm"
    banner = page.inner_text("#banner")
    assert "cell" in banner and "rnn, gru, lstm" in banner


def test_the_page_reads_in_chinese(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/seq?length=4&hidden=8&lang=zh")
    probe.wait(f"{FRAMES} > 0")
    assert page.inner_text("#h-grad") == "到达每一步的梯度"
    assert "记住" in page.inner_text("#task-about") or "符号" in page.inner_text("#task-about")
    assert "lang=zh" in page.url
