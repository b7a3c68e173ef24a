"""TensorFlow Playground mode in the page (Chromium, real server): the badge, TF's own loss
numbers (tests/fixtures/tfplayground, made with TF's code), links L1 pruned drawn dashed and
counted, a way out of the mode, and all of it in Chinese too."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfplayground"

# Counts the strokes drawn dashed [3, 3] on the network's link canvas: pruned links.
RECORD_PRUNED = """
window.prunedStrokes = 0;
const stroke = CanvasRenderingContext2D.prototype.stroke;
CanvasRenderingContext2D.prototype.stroke = function (...args) {
  const dash = this.getLineDash();
  if (this.canvas.classList.contains('net-links') && dash.length === 2 && dash[0] === 3) {
    window.prunedStrokes += 1;
  }
  return stroke.apply(this, args);
};
"""


def _case(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * abs(b)


def test_a_mode_link_shows_the_badge_and_tf_own_losses(make_page):
    case = _case("circle_l1__0.12345")
    probe = make_page()
    page = probe.open("/?compat=tf&" + case["hash"])
    assert page.is_visible("#mode-badge")
    assert "TensorFlow Playground mode" in page.inner_text("#mode-badge")
    assert page.inner_text("#loss-name") == "Square loss"
    assert page.inner_text("#tab-loss") == "Square loss"
    assert page.inner_text("#train-loss") == f"{case['loss_train'][0]:.3f}"
    assert probe.js("netplay.frame.path") == "tf"
    for epoch in (1, 2, 3):
        page.click("#step")
        probe.wait(f"netplay.frame.epoch === {epoch}")
        metrics = probe.js("netplay.frame.metrics")
        assert _close(metrics["train_loss"], case["loss_train"][epoch])
        assert _close(metrics["test_loss"], case["loss_test"][epoch])
        assert page.inner_text("#test-loss") == f"{case['loss_test'][epoch]:.3f}"
    assert probe.console_errors == []


def test_pruned_links_are_drawn_dashed_and_counted(make_page):
    probe = make_page()
    probe.page.add_init_script(RECORD_PRUNED)
    page = probe.open("/?compat=tf&dataset=circle&regularization=L1&regularizationRate=0.03"
                      "&seed=2")
    probe.drawn()
    assert probe.js("window.prunedStrokes") == 0  # nothing pruned at epoch 0
    assert page.is_hidden("#zero-weights")
    page.click("#play")
    probe.wait("netplay.frame.metrics.zero_weights > 0 && netplay.frame.metrics.dead_weights > 0")
    page.click("#play")
    probe.wait("netplay.runState === 'paused'")
    probe.drawn()
    zero = probe.js("netplay.frame.metrics.zero_weights")
    assert page.is_visible("#zero-weights")
    assert page.inner_text("#zero-weights").startswith(f"{zero} of 18 weights are exactly 0")
    assert probe.js("window.prunedStrokes") > 0
    assert sum(1 for w in probe.js("netplay.weights") if w == 0) == zero


def test_leaving_the_mode_trains_netplay_engine_and_drops_it_from_the_link(make_page):
    probe = make_page()
    page = probe.open("/?compat=tf&dataset=xor&seed=3")
    page.click("#leave-mode")
    probe.wait("netplay.config.compat === 'netplay'")
    probe.wait("netplay.frame.path !== 'tf'")
    assert page.is_hidden("#mode-badge")
    assert page.inner_text("#loss-name") == "Loss"
    assert "compat" not in parse_qs(urlsplit(page.url).query)
    # A change TF cannot express leaves the mode too, and says why.
    page = probe.open("/?compat=tf&dataset=xor&seed=3")
    page.select_option("[data-param=optimizer] select", "adam")
    probe.wait("netplay.config.compat === 'netplay'")
    notice = page.locator(".notice", has_text="left TensorFlow Playground mode").first
    notice.wait_for()
    assert "optimizer" in notice.inner_text()


def test_the_mode_speaks_chinese(make_page):
    probe = make_page()
    page = probe.open("/?compat=tf&dataset=circle&regularization=L1&seed=2&lang=zh")
    probe.drawn()
    assert "TensorFlow Playground 模式" in page.inner_text("#mode-badge")
    assert "改用 netplay 的引擎" in page.inner_text("#leave-mode")
    assert page.inner_text("#loss-name") == "平方损失"
