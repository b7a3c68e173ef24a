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


def _focused(page) -> dict:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return { tag: e.tagName, role: e.getAttribute('role'), value: e.dataset.value,"
        " param: e.dataset.param, col: e.dataset.col, row: e.dataset.row }; })()"
    )


def test_dataset_tiles_are_one_tab_stop_moved_by_the_arrow_keys(make_page):
    probe = make_page()
    page = probe.open("/?dataset=circle&seed=1")
    tiles = page.locator("[data-param=dataset] .tile")
    stops = [tiles.nth(i).get_attribute("tabindex") for i in range(tiles.count())]
    assert stops.count("0") == 1 and page.get_attribute(".tile[data-value=circle]", "tabindex") == "0"
    page.focus(".tile[data-value=circle]")
    page.keyboard.press("ArrowRight")
    probe.wait("netplay.config.dataset === 'xor'")
    assert _focused(page)["value"] == "xor"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps round from the first to the last
    probe.wait("netplay.config.dataset === 'random'")
    probe.wait("document.querySelector('.tile[data-value=random]').tabIndex === 0")
    assert _focused(page)["value"] == "random"


def test_features_switch_from_the_keyboard_and_keep_the_focus(make_page):
    probe = make_page()
    page = probe.open("/?dataset=circle&seed=1")
    feature = ".net-feature[data-param=xSquared]"
    assert page.get_attribute(feature, "role") == "switch"
    assert page.get_attribute(feature, "aria-checked") == "false"
    page.focus(feature)
    page.keyboard.press("Enter")
    probe.wait("netplay.config.xSquared === true")
    probe.wait(f"document.querySelector('{feature}').getAttribute('aria-checked') === 'true'")
    # The diagram was rebuilt; the focus is back on the same switch, so Space switches it off.
    probe.wait("document.activeElement.dataset.param === 'xSquared'")
    page.keyboard.press(" ")
    probe.wait("netplay.config.xSquared === false")
    stays(page, _paused, 300, "paused after Space on a feature")


def test_neurons_weights_and_biases_are_read_and_set_from_the_keyboard(make_page):
    probe = make_page()
    page = probe.open("/?dataset=circle&seed=1&networkShape=3,2")
    first = page.locator(".net-node:not(.net-feature)").first
    assert first.get_attribute("tabindex") == "0"
    assert page.locator(".net-node:not(.net-feature)[tabindex='0']").count() == 1
    first.focus()
    # Focus shows the neuron's output large, as hover does.
    probe.wait("document.getElementById('output-title').textContent !== 'Output'")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert (_focused(page)["col"], _focused(page)["row"]) == ("2", "1")
    # W picks the first weight into this neuron (second neuron of layer 2): its value shows.
    page.keyboard.press("w")
    tip = page.locator(".param-tip")
    tip.wait_for(state="visible")
    assert tip.get_attribute("data-kind") == "weight"
    assert (tip.get_attribute("data-layer"), tip.get_attribute("data-to")) == ("1", "1")
    assert tip.get_attribute("data-from") == "0"
    page.keyboard.press("w")
    assert tip.get_attribute("data-from") == "1"
    # Enter edits the weight picked; the server sets it.
    page.keyboard.press("Enter")
    page.locator(".param-edit-input").wait_for(state="visible")
    page.keyboard.press("Control+a")
    page.keyboard.type("1.25")
    page.keyboard.press("Enter")
    # Weight (layer 1, to 1, from 1) of a 3→2 layer sits after the first layer's 2·3 weights.
    probe.wait("Math.abs(netplay.weights[6 + 1 * 3 + 1] - 1.25) < 1e-6")
    assert _focused(page)["col"] == "2"  # back on the neuron
    page.keyboard.press("b")
    assert tip.get_attribute("data-kind") == "bias"
    # Space pins the neuron large; Escape lets the picked bias go.
    page.keyboard.press(" ")
    probe.wait("document.activeElement.getAttribute('aria-pressed') === 'true'")
    page.keyboard.press("Escape")
    tip.wait_for(state="hidden")
    stays(page, _paused, 300, "paused after Space on a neuron")


# Every control a pointer can use, and how a page marks it.
CONTROLS = ("button, select, input, textarea, a[href], [role=button], [role=switch], [role=radio],"
            " [role=tab], canvas#output, .pred, .net-feature")
TAB_THROUGH = """(() => {
  const id = (e) => e.id || `${e.tagName}.${e.className}.${e.dataset.param || ''}.${e.dataset.value || ''}`
    + `.${e.dataset.col || ''}.${e.dataset.row || ''}.${[...e.parentNode.children].indexOf(e)}`;
  const shown = (e) => { const r = e.getBoundingClientRect();
    // A closed <details> shows its summary (a Tab stop that opens it), not its contents.
    const folded = e.closest('details:not([open])') && e.tagName !== 'SUMMARY';
    return r.width > 0 && r.height > 0 && !e.closest('[hidden]') && !e.disabled && !folded
      && getComputedStyle(e).visibility !== 'hidden'; };
  return { id: id.toString(), controls: [...document.querySelectorAll(SEL)].filter(shown)
    .map((e) => ({ id: id(e), tab: e.tabIndex, roving: !!e.closest('.tiles, .net-nodes') })) };
})()"""
PAGES = {
    "/?dataset=circle&networkShape=3,2": "window.netplay && window.netplay.ready",
    "/compare?runs=2&r2.activation=relu": "window.netplayCompare && window.netplayCompare.ready",
    "/lab?preset=mlp": "!document.body.classList.contains('loading') && !!document.querySelector('.pred')",
}


@pytest.mark.parametrize("path", PAGES)
def test_the_tab_key_reaches_every_control_of_every_page(make_page, path):
    probe = make_page(1440, 900)
    page = probe.page
    page.goto(probe.server.url + path)
    probe.wait(PAGES[path])
    found = page.evaluate(TAB_THROUGH.replace("SEL", repr(CONTROLS)))
    ident = found["id"]
    reached = set()
    for _ in range(len(found["controls"]) + 20):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(f"(({ident})(document.activeElement))"))
    # A roving group (dataset tiles, neurons) is one Tab stop; its arrows are tested above.
    missed = [c["id"] for c in found["controls"] if c["id"] not in reached and not c["roving"]]
    assert missed == []
    stuck = [c["id"] for c in found["controls"] if c["tab"] < 0 and not c["roving"]]
    assert stuck == []


def test_points_are_added_and_removed_on_the_plot_from_the_keyboard(make_page):
    probe = make_page(1440, 900)
    page = probe.open("/?dataset=circle&seed=1")
    page.focus("#output")
    assert page.is_visible(".plot-cursor") and page.is_visible("#plot-keys")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    probe.wait("netplay.config.points.length === 1")
    x, y, label = probe.js("netplay.config.points[0]")
    assert x == pytest.approx(3 * 12 / 12, abs=0.05) and y == pytest.approx(1.0, abs=0.05)
    assert label == 1  # the class the picker holds
    page.keyboard.press("Shift+Enter")
    probe.wait("netplay.config.points.length === 2 && netplay.config.points[1][2] === 0")
    page.keyboard.press("Delete")
    probe.wait("netplay.config.points.length === 1")
    stays(page, _paused, 300, "paused while editing from the keyboard")
