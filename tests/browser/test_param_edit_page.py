"""Reading and setting one weight or bias in the network diagram, in real Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# The default net: x1, x2 → 4 → 2 → two classes; the link from x2 (input 1) to neuron 2 of the
# first hidden layer is W₀[2, 1], entry 2 · 2 + 1 of the frame's flat weights.
LINK = {"layer": "0", "to": "2", "from": "1"}
WEIGHT = 5


def node_box(page, col: int, row: int) -> dict:
    return page.locator(f"#network canvas.net-node[data-col='{col}'][data-row='{row}']").bounding_box()


def on_link(page, t: float, src=(0, 1), dst=(1, 2)) -> tuple[float, float]:
    """The point at t of the Bézier drawn from node `src` to node `dst` (column, row), by default
    from feature x2 to hidden neuron 2, computed here from where the nodes are on the page."""
    s, d = node_box(page, *src), node_box(page, *dst)
    x0, y0 = s["x"] + s["width"], s["y"] + s["height"] / 2
    x3, y3 = d["x"], d["y"] + d["height"] / 2
    mx = (x0 + x3) / 2
    u = 1 - t
    x = u**3 * x0 + 3 * u * u * t * mx + 3 * u * t * t * mx + t**3 * x3
    y = (u**3 + 3 * u * u * t) * y0 + (3 * u * t * t + t**3) * y3
    return x, y


def shown(text: str) -> float:
    return float(text.split("=")[1].replace("−", "-"))


def test_hovering_a_link_shows_its_weight_and_clicking_sets_it(make_page, artifacts):
    probe = make_page()
    page = probe.open("/?seed=edit")
    page.locator("#network").scroll_into_view_if_needed()
    x, y = on_link(page, 0.3)
    page.mouse.move(x, y)
    probe.wait("!document.querySelector('.param-tip').hidden")
    tip = page.locator(".param-tip")
    data = tip.evaluate("e => ({...e.dataset})")
    weight = probe.js(f"netplay.weights[{WEIGHT}]")
    assert {k: data[k] for k in LINK} == LINK and data["kind"] == "weight"
    assert float(data["value"]) == weight
    assert abs(shown(page.inner_text(".param-tip-value")) - weight) <= 0.0005
    assert page.inner_text(".param-tip-value").startswith("w = ")

    # Training moves it; the tooltip follows the latest frame.
    page.keyboard.press("s")
    probe.wait("netplay.frame.epoch === 1")
    trained = probe.js(f"netplay.weights[{WEIGHT}]")
    assert trained != weight
    probe.wait(f"Number(document.querySelector('.param-tip').dataset.value) === {trained!r}")
    assert abs(shown(page.inner_text(".param-tip-value")) - trained) <= 0.0005
    page.screenshot(path=str(artifacts / "weight-tooltip.png"),
                    clip={"x": x - 220, "y": y - 140, "width": 480, "height": 260})

    before = probe.js("netplay.weights")
    biases = probe.js("netplay.biases")
    page.mouse.click(x, y)
    field = page.locator(".param-edit-input")
    assert field.is_visible() and field.evaluate("e => e === document.activeElement")
    assert field.input_value() == f"{trained:.3f}"
    page.keyboard.type("-0.75")
    page.screenshot(path=str(artifacts / "weight-editor.png"),
                    clip={"x": x - 220, "y": y - 140, "width": 480, "height": 260})
    page.keyboard.press("Enter")
    probe.wait(f"netplay.weights[{WEIGHT}] === -0.75")
    after = probe.js("netplay.weights")
    assert after[:WEIGHT] + after[WEIGHT + 1:] == before[:WEIGHT] + before[WEIGHT + 1:]
    assert probe.js("netplay.biases") == biases
    assert probe.js("netplay.frame.epoch") == 1  # an edit trains nothing
    assert not field.is_visible()
    assert page.locator(".notice", has_text="is in the link").is_visible()
    assert probe.console_errors == []


def test_a_bad_value_is_explained_and_escape_cancels(make_page):
    probe = make_page()
    page = probe.open("/?seed=edit")
    page.locator("#network").scroll_into_view_if_needed()
    x, y = on_link(page, 0.6)
    weights = probe.js("netplay.weights")
    seq = probe.js("netplay.frame.seq")
    page.mouse.click(x, y)
    field = page.locator(".param-edit-input")
    for typed, words in [("abc", "Not a number"), ("2000", "between -1000 and 1000")]:
        field.fill(typed)
        field.press("Enter")
        assert words in page.inner_text(".param-edit-error")
        assert field.is_visible()  # still open for a fix
    field.fill("0.5")
    field.press("Escape")
    assert not field.is_visible()
    assert probe.js("netplay.weights") == weights
    # The server answers in order: had the field sent an edit, its frame would come before
    # the step's, so the step's frame is the very next one only if nothing was sent.
    page.click("#step")
    probe.wait(f"netplay.frame.seq > {seq}")
    assert probe.js("netplay.frame.seq") == seq + 1
    assert probe.console_errors == []


def test_hovering_a_bias_square_shows_and_sets_the_bias(make_page):
    probe = make_page()
    page = probe.open("/?seed=edit")
    page.locator("#network").scroll_into_view_if_needed()
    d = node_box(page, 2, 0)  # second hidden layer, neuron 0: bias entry 4 + 0
    size = max(5, round(d["width"] / 6))
    x, y = d["x"] - 2 - size / 2, d["y"] + d["height"] - size / 2
    page.mouse.move(x, y)
    probe.wait("!document.querySelector('.param-tip').hidden")
    data = page.locator(".param-tip").evaluate("e => ({...e.dataset})")
    assert (data["kind"], data["layer"], data["to"]) == ("bias", "1", "0")
    assert float(data["value"]) == probe.js("netplay.biases[4]")
    assert page.inner_text(".param-tip-value").startswith("b = ")
    page.mouse.click(x, y)
    page.keyboard.type("1.5")
    page.keyboard.press("Enter")
    probe.wait("netplay.biases[4] === 1.5")
    assert probe.console_errors == []


def test_a_two_class_output_link_shows_and_sets_the_class_difference_in_chinese(make_page, artifacts):
    probe = make_page()
    page = probe.open("/?seed=edit&lang=zh")
    page.locator("#network").scroll_into_view_if_needed()
    # One output node stands for two softmax classes: its link from neuron 1 of the second
    # hidden layer shows W₂[1, 1] − W₂[0, 1], entries 16 + 3 and 16 + 1.
    x, y = on_link(page, 0.4, src=(2, 1), dst=(3, 0))
    page.mouse.move(x, y)
    probe.wait("!document.querySelector('.param-tip').hidden")
    difference = probe.js("netplay.weights[19] - netplay.weights[17]")
    assert float(page.locator(".param-tip").get_attribute("data-value")) == difference
    assert page.inner_text(".param-tip-value").startswith("权重 w = ")
    assert "类别 1 − 类别 0" in page.inner_text(".param-tip")
    page.screenshot(path=str(artifacts / "weight-tooltip-zh.png"),
                    clip={"x": x - 240, "y": y - 140, "width": 480, "height": 260})
    class0 = probe.js("netplay.weights[17]")
    page.mouse.click(x, y)
    assert "新的权重" in page.inner_text(".param-edit")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    probe.wait("Math.abs(netplay.weights[19] - netplay.weights[17] - 2) < 1e-6")
    assert probe.js("netplay.weights[17]") == class0  # only class 1's weight moved
    assert page.locator(".notice", has_text="已写进链接").is_visible()
    assert probe.console_errors == []


def test_where_links_cross_a_click_edits_the_link_the_tooltip_names(make_page):
    probe = make_page()
    page = probe.open("/?dataset=xor&seed=7&x=false&xTimesY=true")
    for _ in range(5):
        page.click("#step")
    probe.wait("netplay.frame.epoch === 5")
    # Scan along the x1x2 → neuron 0 curve through the crossings, as a learner's pointer would.
    checked = 0
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        x, y = on_link(page, t, src=(0, 4), dst=(1, 0))
        page.mouse.move(x, y)
        probe.drawn()
        tip = page.locator(".param-tip")
        if not tip.is_visible():
            continue
        named = float(tip.get_attribute("data-value"))
        page.mouse.click(x, y)
        editor = page.locator("input.param-edit-input")
        assert editor.is_visible()
        assert float(editor.input_value()) == pytest.approx(named, abs=5e-4)
        page.keyboard.press("Escape")
        checked += 1
    assert checked >= 3
