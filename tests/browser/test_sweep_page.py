"""The sweep panel in a real Chromium: a sweep run from the page draws the server's numbers."""

from __future__ import annotations

import pytest
from conftest import RECORD_CANVAS_TEXT

from playground_models.lessons import lesson
from playground_models.sweep import sweep

pytestmark = pytest.mark.browser

CHART_COLORS = {"train_loss": (0x5F, 0x63, 0x68), "test_loss": (0x20, 0x21, 0x24)}


def run_sweep(probe, kind: str, values: str, epochs: int) -> list[dict]:
    page = probe.page
    probe.wait("window.netplaySweep && document.querySelector('#sweep form') !== null")
    page.select_option("#sweep select[name=param]", kind)
    page.fill("#sweep input[name=values]", values)
    page.fill("#sweep input[name=epochs]", str(epochs))
    page.click("#sweep button[type=submit]")
    probe.wait(
        "!window.netplaySweep.running && window.netplaySweep.points.length > 0"
        " && window.netplaySweep.points.every(Boolean)",
        60_000,
    )
    return probe.js("window.netplaySweep.points")


def pixel(page, x: float, y: float) -> list[int]:
    """The colour the sweep chart holds at CSS pixel (x, y)."""
    return page.evaluate(
        """([x, y]) => {
            const c = document.querySelector('canvas.sweep-chart');
            const s = c.width / c.clientWidth;
            return [...c.getContext('2d').getImageData(Math.round(x * s), Math.round(y * s), 1, 1).data];
        }""",
        [x, y],
    )


def test_a_lambda_sweep_in_the_page_draws_the_servers_final_losses(make_page, artifacts):
    url = lesson("regularization").run_urls()[0]  # 20 relu neurons, L2, noisy XOR
    probe = make_page(1300, 1100)
    page = probe.open("/?" + url)
    points = run_sweep(probe, "regularizationRate", "0, 0.01, 0.3", 60)
    page.screenshot(path=str(artifacts / "sweep-lambda.png"), full_page=True)

    expected = sweep(url, "regularizationRate", [0.0, 0.01, 0.3], 60, workers=1)
    assert points == expected
    assert probe.js("window.netplaySweep.labels") == ["0", "0.01", "0.3"]
    train = [p["train_loss"] for p in points]
    assert train == sorted(train)  # more penalty, worse fit

    marks = probe.js("window.netplaySweep.marks")
    test = [p["test_loss"] for p in points]
    assert marks["best"] == test.index(min(test))
    for key, color in CHART_COLORS.items():
        xy = [m[key] for m in marks["marks"]]
        xs = [x for x, _ in xy]
        assert xs == sorted(xs) and len(set(xs)) == 3  # one column per value, in order
        # Heights are linear in the loss: one scale, higher loss drawn higher up.
        values = [p[key] for p in points]
        slopes = {round((xy[i][1] - xy[0][1]) / (values[i] - values[0]), 3) for i in (1, 2)}
        assert len(slopes) == 1 and slopes.pop() < 0
        for k, (x, y) in enumerate(xy):  # a dot of that series' colour sits on each point ...
            test_y = marks["marks"][k]["test_loss"][1]
            covered = key == "train_loss" and abs(test_y - y) < 7  # ... unless a test dot is on it
            want = CHART_COLORS["test_loss"] if covered else color
            assert all(abs(a - b) <= 8 for a, b in zip(pixel(page, x, y)[:3], want, strict=True)), (key, k)
    assert "Lowest test loss" in probe.js("window.netplaySweep.status")
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_a_width_sweep_keeps_the_depth_and_says_why_it_failed(make_page):
    probe = make_page()
    probe.open("/?dataset=xor&networkShape=3,3&learningRate=0.1")
    points = run_sweep(probe, "width", "2,5", 5)
    assert [p["value"] for p in points] == [[2, 2], [5, 5]]

    probe.page.fill("#sweep input[name=values]", "2, two")
    probe.page.click("#sweep button[type=submit]")
    assert probe.js("window.netplaySweep.status") == "Give whole numbers separated by commas."
    probe.page.select_option("#sweep select[name=param]", "dropout")
    probe.page.fill("#sweep input[name=values]", "0, 2")
    probe.page.click("#sweep button[type=submit]")
    probe.wait("window.netplaySweep.status.startsWith('The sweep failed')")
    assert probe.js("window.netplaySweep.status") == (
        "The sweep failed: Dropout: must be between 0 and 0.9, got 2"
    )
    # Refused sweeps leave the last curve on screen.
    assert [p["value"] for p in probe.js("window.netplaySweep.points")] == [[2, 2], [5, 5]]
    probe.page.fill("#sweep input[name=values]", "0, abc, -1")
    probe.page.click("#sweep button[type=submit]")
    assert probe.js("window.netplaySweep.status") == (
        "“abc” is not a number: give numbers separated by commas."
    )
    assert probe.js("window.netplaySweep.labels") == ["2", "5"]


def test_a_classroom_link_can_hide_the_sweep_panel(make_page):
    probe = make_page()
    probe.open("/?dataset=xor&sweep_hide=true")
    assert not probe.page.is_visible("#sweep")
    assert "sweep_hide=true" in probe.page.url


def test_a_flat_sweep_says_to_train_longer(make_page):
    probe = make_page()
    probe.open("/?dataset=spiral")
    points = run_sweep(probe, "learningRate", "0.00001, 0.00002", 2)
    losses = [p["test_loss"] for p in points]
    assert abs(losses[0] - losses[1]) < 0.02 * max(losses)
    assert probe.js("window.netplaySweep.status").endswith(
        "Every value ends within 2 % of the others: train longer (more epochs) or try a wider range."
    )


def open_compare_sweep(probe, link: str = "runs=2&dataset=xor&r2.activation=sigmoid"):
    """The compare page's sweep panel (it extends the comparison's last run)."""
    probe.page.goto(probe.server.url + "/compare?" + link)
    probe.wait("window.netplaySweep && document.querySelector('#sweep form') !== null")
    return probe.page


def submit(probe, values: str | None = None, epochs: str | None = None) -> str:
    page = probe.page
    if values is not None:
        page.fill("#sweep input[name=values]", values)
    if epochs is not None:
        page.fill("#sweep input[name=epochs]", epochs)
    page.click("#sweep button[type=submit]")
    probe.wait("!window.netplaySweep.running", 60_000)
    return probe.js("window.netplaySweep.status")


def status_kind(page) -> str:
    return page.get_attribute("#sweep .sweep-status", "data-kind")


def test_the_status_always_tells_of_the_latest_attempt(make_page):
    probe = make_page()
    page = open_compare_sweep(probe)
    page.select_option("#sweep select[name=param]", "width")
    assert submit(probe, "2, two") == "Give whole numbers separated by commas."
    # A different mistake replaces it (the browser's own check of the number field used to
    # stop the form before the page saw it, leaving the first message up).
    assert submit(probe, "2, 3", "0") == (
        "“Epochs per value” must be a whole number of epochs, 1 or more, not “0”."
    )
    assert submit(probe, epochs="2.5").endswith("not “2.5”.")
    assert status_kind(page) == "error"
    assert page.get_attribute("#sweep input[name=epochs]", "aria-invalid") == "true"
    # A sweep that trains says how it ended, and nothing of the mistakes before it.
    done = submit(probe, epochs="3")
    assert done.startswith("Lowest test loss") and status_kind(page) == ""
    assert page.get_attribute("#sweep input[name=epochs]", "aria-invalid") is None
    assert submit(probe, values=" , ") == (
        "“Values” is empty: give the values to try, separated by commas."
    )
    assert [p["value"] for p in probe.js("window.netplaySweep.points")] == [[2, 2], [3, 3]]


def test_an_empty_field_is_named_in_plain_words_before_anything_is_sent(make_page):
    probe = make_page()
    page = open_compare_sweep(probe)
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/sweep") else None)
    assert submit(probe, epochs="") == (
        "“Epochs per value” is empty: give how many epochs to train each value, 1 or more."
    )
    assert page.get_attribute("#sweep input[name=epochs]", "aria-invalid") == "true"
    assert submit(probe, values="", epochs="5") == (
        "“Values” is empty: give the values to try, separated by commas."
    )
    assert page.get_attribute("#sweep input[name=values]", "aria-invalid") == "true"
    assert sent == []
    assert probe.console_errors == []


def test_a_learning_rate_sweep_over_decades_is_drawn_on_a_log_axis(make_page):
    probe = make_page()
    probe.page.add_init_script(RECORD_CANVAS_TEXT)
    open_compare_sweep(probe)
    points = run_sweep(probe, "learningRate", "0.001, 0.1, 1", 2)
    assert [p["value"] for p in points] == [0.001, 0.1, 1.0]
    probe.drawn()
    marks = probe.js("window.netplaySweep.marks")
    xs = [m["train_loss"][0] for m in marks["marks"]]
    # Two decades from 0.001 to 0.1, one from 0.1 to 1: twice the distance.
    assert abs((xs[1] - xs[0]) / (xs[2] - xs[1]) - 2) < 0.01, xs
    assert marks["log"] is True
    drawn = set(probe.js("[...window.canvasTexts]"))
    assert {"0.001", "0.01", "0.1", "1", "Learning rate (log scale)"} <= drawn, drawn

    # Values within a decade keep one even column each.
    points = run_sweep(probe, "learningRate", "0.02, 0.03, 0.1", 2)
    marks = probe.js("window.netplaySweep.marks")
    xs = [m["train_loss"][0] for m in marks["marks"]]
    assert marks["log"] is False and abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.5
