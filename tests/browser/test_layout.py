"""Every page at a phone's, a tablet's and a laptop's size: nothing sticks out sideways, and the
network diagram keeps its output and its labels apart however many layers it has."""

from __future__ import annotations

from itertools import pairwise

import pytest

pytestmark = pytest.mark.browser

SIZES = [(390, 844), (820, 1180), (1440, 900)]
PAGES = {
    "lab-2d": ("/?dataset=spiral&networkShape=6,4", "window.netplay.ready"),
    "compare": ("/compare?runs=3&r2.activation=relu&r3.learningRate=0.1",
                "window.netplayCompare && window.netplayCompare.ready"),
    "image-lab": ("/lab?preset=mlp", "!document.body.classList.contains('loading')"),
    "seq-lab": ("/seq?length=10&hidden=8", "document.body.dataset.frames > 0"),
}

# Visible elements whose box leaves the viewport sideways, skipping those inside a box that
# scrolls or clips sideways on purpose (the network diagram, the layer table).
OUTSIDE = """(() => {
  const w = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    if ((r.left < -1 || r.right > w + 1) && !clipped(el)) {
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return { out: out.slice(0, 8), scroll: document.documentElement.scrollWidth, width: w };
})()"""


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_fits_each_screen_sideways(make_page, artifacts, name, width, height):
    link, ready = PAGES[name]
    probe = make_page(width, height)
    probe.page.goto(probe.server.url + link)
    probe.wait(ready)
    probe.drawn()
    probe.page.screenshot(path=str(artifacts / f"{name}-{width}x{height}.png"), full_page=True)
    found = probe.js(OUTSIDE)
    assert found["out"] == [] and found["scroll"] <= found["width"], found
    assert probe.console_errors == []


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_the_output_neuron_is_in_sight_on_a_phone(make_page):
    probe = make_page(390, 844)
    page = probe.open("/?dataset=circle&networkShape=4,2")
    wrap, out = _box(page, ".network-wrap"), _box(page, ".net-output")
    assert out["x"] >= wrap["x"] and out["x"] + out["width"] <= wrap["x"] + wrap["width"]
    # Eight layers do not fit 336 px: the diagram scrolls sideways instead of crowding.
    page = probe.open("/?dataset=circle&networkShape=8,8,8,8,8,8,8,8")
    assert probe.js("document.getElementById('network').scrollWidth") > _box(page, ".network-wrap")["width"]


def test_eight_layers_keep_their_labels_and_selects_apart(make_page):
    probe = make_page(1280, 800)
    page = probe.open("/?dataset=circle&networkShape=8,8,8,8,8,8,8,8")
    for selector in (".net-layer-label", ".net-act"):
        boxes = [page.locator(selector).nth(i).bounding_box() for i in range(8)]
        for a, b in pairwise(boxes):
            assert a["x"] + a["width"] <= b["x"], (selector, a, b)
    # Short labels where room is short; the words stay in the title.
    assert page.inner_text(".net-layer-label") == "8"
    assert page.get_attribute(".net-layer-label", "title") == "8 neurons"


def test_a_1d_curve_lists_only_the_features_of_x1(make_page):
    probe = make_page()
    page = probe.open("/?problem=regression&regDataset=reg-sine")
    rows = page.locator(".net-feature").evaluate_all("(els) => els.map((e) => e.dataset.param)")
    assert rows == ["x", "xSquared", "sinX"]
    # Back on 2-D data all seven come back.
    page = probe.open("/?problem=regression&regDataset=reg-plane")
    assert page.locator(".net-feature").count() == 7


# The header's controls and links, pairwise: none drawn over another.
HEADER_OVERLAPS = """(() => {
  const items = [...document.querySelectorAll('.topbar > * > *, .topbar > :not(div)')]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden');
  const boxes = items.map((el) => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, r] = boxes[i], [b, s] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const x = Math.min(r.right, s.right) - Math.max(r.left, s.left);
      const y = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
      if (x > 1 && y > 1) hits.push(`${a.id || a.className} × ${b.id || b.className}`);
    }
  }
  return hits;
})()"""


@pytest.mark.parametrize("width", [1280, 1024])
@pytest.mark.parametrize("name", ["lab-2d", "image-lab", "seq-lab"])
def test_the_header_never_draws_one_control_over_another(make_page, name, width):
    link, ready = PAGES[name]
    probe = make_page(width, 800)
    probe.page.goto(probe.server.url + link)
    probe.wait(ready)
    assert probe.js(HEADER_OVERLAPS) == []
