"""The biggest network the limits allow (8 layers of 64) stays drawable: the diagram strokes
the strongest links of each layer within a budget, in a few batched strokes, and says so. Its
speed is measured in benchmarks/bench_page_drawing.py (docs/benchmarks.md)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

BIGGEST = "/?seed=1&networkShape=64,64,64,64,64,64,64,64&activation=relu&init=he"
# Counts the stroke() calls on the links canvas, per drawing of it.
COUNT_STROKES = """
window.strokes = [];
const stroke = CanvasRenderingContext2D.prototype.stroke;
const clear = CanvasRenderingContext2D.prototype.clearRect;
CanvasRenderingContext2D.prototype.clearRect = function (...a) {
  if (this.canvas.classList.contains('net-links')) window.strokes.push(0);
  return clear.apply(this, a);
};
CanvasRenderingContext2D.prototype.stroke = function (...a) {
  if (this.canvas.classList.contains('net-links')) window.strokes[window.strokes.length - 1]++;
  return stroke.apply(this, a);
};
"""


def test_the_biggest_net_draws_its_strongest_links_in_few_strokes(make_page):
    probe = make_page(1440, 900)
    probe.page.add_init_script(COUNT_STROKES)
    page = probe.open(BIGGEST)
    page.click("#step")
    probe.wait("netplay.frame.epoch >= 1")
    probe.drawn()
    note = page.inner_text("#links-note")
    assert page.is_visible("#links-note")
    assert "of 28,864 links" in note  # 2·64 + 7·64·64 + 64 (two classes drawn as one output)
    shown = int(note.split()[2].replace(",", ""))  # "Drawing the 1,002 strongest of …"
    assert 1000 <= shown <= 1100  # the budget, a few more where weights tie
    # One stroke per weight shade plus the bias frames, not one per link.
    last = probe.js("window.strokes.filter((n) => n > 0).slice(-1)[0]")
    assert 0 < last <= 200
    assert probe.console_errors == []


def test_a_small_net_draws_every_link_and_says_nothing(make_page):
    probe = make_page()
    page = probe.open("/?seed=1&networkShape=4,2")
    assert not page.is_visible("#links-note")


# Records each clearing of the links canvas: its x and width, in CSS pixels.
RECORD_CLEARS = """
window.clears = [];
const clear = CanvasRenderingContext2D.prototype.clearRect;
CanvasRenderingContext2D.prototype.clearRect = function (x, y, w, h) {
  if (this.canvas.classList.contains('net-links')) window.clears.push([Math.round(x), Math.round(w)]);
  return clear.call(this, x, y, w, h);
};
"""


def test_while_playing_the_biggest_net_redraws_its_links_a_few_layers_at_a_time(make_page):
    # A whole redraw of its strongest links took its rasteriser about 25 ms, and one such frame
    # in every few was a long task (docs/benchmarks.md): it is spread over five frames.
    probe = make_page(1440, 900)
    probe.page.add_init_script(RECORD_CLEARS)
    page = probe.open(BIGGEST)
    width = probe.js("document.querySelector('canvas.net-links').getBoundingClientRect().width")
    page.click("#play")
    probe.wait("netplay.frame.epoch >= 30")
    page.click("#play")
    probe.wait("netplay.runState === 'paused'")
    probe.drawn()
    clears = probe.js("window.clears")
    stripes = [c for c in clears if c[1] < width / 2]
    # Nine layers of links (into each of the 8 hidden layers, and the output), two per turn.
    assert len({x for x, _ in stripes}) == 9
    for x, w in stripes:
        assert 30 < w < width / 8, (x, w)
    assert len(stripes) >= 3 * len([c for c in clears if c[1] >= width / 2])  # mostly stripes
    assert clears[-1] == [0, round(width)]  # paused: every layer drawn from the same frame
    assert probe.console_errors == []
