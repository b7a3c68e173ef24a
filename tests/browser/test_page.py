"""The page in real Chromium against a real server: training, sharing, classroom mode."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import stays

pytestmark = pytest.mark.browser

TF_LINK = (
    "#activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03"
    "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.59704&showTestData=false"
    "&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false"
    "&ySquared=false&cosX=false&cosY=false&sinX=false&sinY=false&collectStats=false"
    "&problem=classification&initZero=false&hideText=false"
)

CANVAS_SUM = """() => {
  const c = document.getElementById('output');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) s = (s * 31 + d[i] * 7 + d[i + 1] * 3 + d[i + 2]) % 1000000007;
  return s;
}"""


def shown_number(page, element_id: str) -> float:
    return float(page.inner_text(f"#{element_id}").replace(",", "").replace("%", "").strip())


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def step_epochs(probe, n: int) -> list[dict]:
    """Press the step button n times, each time waiting for its frame; the metrics seen."""
    page = probe.page
    start = probe.js("netplay.frame.epoch")
    for i in range(1, n + 1):
        page.click("#step")
        probe.wait(f"netplay.frame.epoch === {start + i}")
    return [row for row in probe.js("netplay.history") if start < row["epoch"] <= start + n]


def test_page_loads_without_console_errors_or_foreign_requests(make_page, artifacts):
    probe = make_page()
    page = probe.open("/")
    assert page.title().startswith("netplay")
    cfg = probe.js("netplay.config")
    assert cfg["dataset"] == "circle" and cfg["networkShape"] == [4, 2]
    # Controls come from the schema: one widget per visible parameter, in its group.
    assert page.is_visible("[data-param=learningRate] select")
    assert page.is_visible("[data-param=dataset] .tile.selected[data-value=circle]")
    assert not page.is_visible("[data-param=momentum]")  # only_when optimizer is momentum
    assert "learningRate=0.03" in page.url  # the address bar holds the experiment
    probe.drawn()
    page.screenshot(path=str(artifacts / "default-1280x720.png"))
    assert probe.console_errors == []
    assert probe.foreign_requests == []


def test_play_advances_epoch_changes_boundary_and_lowers_loss(make_page):
    probe = make_page()
    page = probe.open("/?dataset=gauss&learningRate=0.1")
    loss0 = shown_number(page, "train-loss")
    pixels0 = page.evaluate(CANVAS_SUM)
    page.click("#play")
    probe.wait("netplay.frame.epoch >= 15", timeout=30_000)
    page.click("#play")
    probe.wait("netplay.runState === 'paused'")
    probe.drawn()
    assert shown_number(page, "epoch") >= 15
    assert page.evaluate(CANVAS_SUM) != pixels0
    assert shown_number(page, "train-loss") < loss0
    assert probe.console_errors == []


def test_the_page_asks_for_compressed_frames_and_draws_them(make_page):
    import json
    import zlib

    from server.frames import decode

    probe = make_page()
    page = probe.page
    sent: list[str] = []
    received: list[bytes] = []

    def watch(ws):
        ws.on("framesent", lambda payload: sent.append(payload))
        ws.on("framereceived", lambda payload: isinstance(payload, bytes) and received.append(payload))

    page.on("websocket", watch)
    probe.open("/?dataset=xor")
    page.click("#step")
    probe.wait("netplay.frame.epoch === 1")
    (start,) = [json.loads(m) for m in sent if '"start"' in m]
    assert start["compression"] == "deflate-raw"
    headers = [decode(zlib.decompress(b, wbits=-15))[0] for b in received]
    assert [h["type"] for h in headers[:2]] == ["data", "frame"]
    assert headers[-1]["epoch"] == 1 == probe.js("netplay.frame.epoch")
    assert probe.console_errors == []


def test_lambda_control_changes_url_and_server_config(make_page):
    probe = make_page()
    page = probe.open("/?regularization=L2")
    version = probe.js("netplay.version")
    page.select_option("[data-param=regularizationRate] select", "0.01")
    probe.wait(f"netplay.version > {version}")
    probe.wait("location.search.includes('regularizationRate=0.01')")
    assert probe.js("netplay.config.regularizationRate") == 0.01
    page.click("#step")
    probe.wait("netplay.frame.epoch === 1")
    assert probe.js("netplay.frame.live.regularizationRate") == 0.01
    assert probe.console_errors == []


def test_shared_url_reproduces_controls_and_first_20_epochs(make_page):
    a = make_page()
    page_a = a.open("/?dataset=xor&learningRate=0.1&seed=lesson1")
    # Change things the way a learner would: a neuron more, a feature on, λ up.
    v = a.js("netplay.version")
    page_a.click(".net-layer-head[data-control=numNodes1] button[title^='Add']")
    a.wait(f"netplay.version > {v}")
    v = a.js("netplay.version")
    page_a.click(".net-feature[data-param=xTimesY]")
    a.wait(f"netplay.version > {v}")
    v = a.js("netplay.version")
    page_a.select_option("[data-param=regularization] select", "L2")
    a.wait(f"netplay.version > {v}")
    metrics_a = step_epochs(a, 20)
    link = page_a.url

    b = make_page()
    page_b = b.open(link[len(b.server.url):])
    assert b.js("netplay.config") == a.js("netplay.config")
    for name in ("learningRate", "regularization", "activation"):
        sel = f"[data-param={name}] select"
        assert page_b.input_value(sel) == page_a.input_value(sel)
    assert page_b.inner_text(".net-layer-head[data-control=numNodes1]") == "5 neurons" or "5 neurons" in page_b.inner_text(
        ".net-layer-head[data-control=numNodes1]"
    )
    assert not page_b.locator(".net-feature[data-param=xTimesY]").evaluate("e => e.classList.contains('off')")
    metrics_b = step_epochs(b, 20)
    assert len(metrics_a) == 20
    assert metrics_b == metrics_a
    assert a.console_errors == [] and b.console_errors == []


def test_tf_playground_hash_link_opens_the_same_experiment(make_page):
    probe = make_page()
    page = probe.open("/" + TF_LINK)
    cfg = probe.js("netplay.config")
    assert cfg["dataset"] == "circle"
    assert cfg["networkShape"] == [4, 2]
    assert cfg["activation"] == "tanh"
    assert cfg["learningRate"] == 0.03
    assert cfg["seed"] == "0.59704"
    assert page.input_value("[data-param=activation] select") == "tanh"
    assert page.input_value("[data-param=learningRate] select") == "0.03"
    assert "2 hidden layers" in page.inner_text(".net-layers")
    # The hash became the canonical query in the address bar.
    assert query_of(page.url)["seed"] == "0.59704" and "#" not in page.url
    assert probe.console_errors == []


def test_hide_key_hides_a_control(make_page):
    probe = make_page()
    page = probe.open("/?learningRate_hide=true&playButton_hide=true")
    assert not page.is_visible("[data-param=learningRate]")
    assert not page.is_visible("#play")
    assert page.is_visible("[data-param=batchSize]")
    assert "learningRate_hide=true" in page.url  # the classroom link survives canonicalisation


def test_bad_key_shows_a_polite_message_and_opens_with_the_rest(make_page):
    probe = make_page()
    page = probe.open("/?dataset=xor&learningRate=banana")
    notice = page.locator(".notice-error").first
    notice.wait_for()
    assert "learningRate" in notice.inner_text()
    cfg = probe.js("netplay.config")
    assert cfg["dataset"] == "xor"
    assert cfg["learningRate"] == 0.03


def test_data_editing_adds_points_that_travel_in_the_url(make_page):
    probe = make_page()
    page = probe.open("/?dataset=gauss")
    box = page.locator("#output").bounding_box()
    v = probe.js("netplay.version")
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    probe.wait(f"netplay.version > {v}")
    pts = probe.js("netplay.config.points")
    assert len(pts) == 1 and pts[0][2] == 1
    assert "points=" in page.url
    v = probe.js("netplay.version")
    page.keyboard.down("Control")
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.keyboard.up("Control")
    probe.wait(f"netplay.version > {v}")
    assert probe.js("netplay.config.points") == []


def test_screenshots_of_trained_spiral_and_tablet(make_page, artifacts):
    probe = make_page()
    page = probe.open(
        "/?dataset=spiral&networkShape=8,8,6&activation=tanh&learningRate=0.01&optimizer=adam"
        "&xSquared=true&ySquared=true&sinX=true&sinY=true&showTestData=true&seed=3"
    )
    page.select_option("#speed", "100")
    page.click("#play")
    probe.wait(
        "netplay.frame.epoch >= 400 || (netplay.frame.metrics.train_acc || 0) > 0.97",
        timeout=60_000,
    )
    page.click("#play")
    probe.wait("netplay.runState === 'paused'")
    probe.drawn()
    path = artifacts / "trained-spiral-1280x720.png"
    page.screenshot(path=str(path))
    assert probe.js("netplay.frame.metrics.train_acc") > 0.8

    tablet = make_page(820, 1180)
    tablet.open("/?dataset=spiral&showTestData=true")
    tablet.drawn()
    tablet.page.screenshot(path=str(artifacts / "default-820x1180.png"))
    # On a tablet the data sits under the output, beside the network, not after the sweep.
    data = tablet.page.locator(".panel-data").bounding_box()
    out = tablet.page.locator(".panel-out").bounding_box()
    sweep = tablet.page.locator("#sweep").bounding_box()
    assert data["x"] == out["x"] and data["y"] > out["y"] and data["y"] < sweep["y"] + sweep["height"]
    assert tablet.js("document.documentElement.scrollWidth") <= 820
    assert probe.console_errors == [] and tablet.console_errors == []
    shutil.copyfile(path, artifacts / "screenshot.png")


def test_page_reconnects_after_a_server_restart_and_resumes_from_its_url(restartable):
    probe, srv = restartable, restartable.server
    page = probe.open("/?dataset=xor&learningRate=0.1&seed=restart")
    probe.page.click("#play")
    probe.wait("/updates\\/s/.test(document.getElementById('rate').textContent)")
    probe.wait("netplay.frame.epoch >= 1")
    srv.stop()  # while it plays
    probe.wait("!netplay.connected")
    probe.wait("document.getElementById('conn').textContent === 'Reconnecting…'")
    # No stale rate, and a control pressed meanwhile says what happened, not "not yet".
    assert page.inner_text("#rate") == ""
    page.click("#step")
    assert "lost" in page.inner_text("#notices")
    assert "yet" not in page.inner_text("#notices")
    srv.start()
    probe.wait("netplay.connected && netplay.frame && netplay.frame.epoch === 0", timeout=15_000)
    assert "Reconnected" in page.inner_text("#notices")
    cfg = probe.js("netplay.config")
    assert (cfg["dataset"], cfg["learningRate"], cfg["seed"]) == ("xor", 0.1, "restart")
    # The reconnect itself logs a failed WebSocket attempt or two; nothing else may.
    assert [e for e in probe.console_errors if "WebSocket" not in e] == []


def test_an_idle_tab_is_closed_by_the_server_and_comes_back_on_use(make_page, make_server):
    probe = make_page(server=make_server(idle_timeout_s=1.5))
    page = probe.open("/?dataset=xor")
    probe.wait("document.getElementById('conn').dataset.status === 'idle'", timeout=10_000)
    # And no reconnect loop while nobody uses the tab.
    stays(page, lambda p: p.get_attribute("#conn", "data-status") == "idle", 1000, "idle")
    page.click("#step")  # any control brings the session back, started from the link
    probe.wait("document.getElementById('conn').dataset.status === 'open'", timeout=10_000)
    probe.wait("netplay.frame && netplay.frame.epoch === 0", timeout=10_000)
    page.click("#step")
    probe.wait("netplay.frame.epoch === 1", timeout=10_000)
    assert probe.js("netplay.config.dataset") == "xor"


def test_english_menus_show_readable_labels_not_identifiers(make_page):
    probe = make_page()
    page = probe.open("/")
    option = "[data-param={}] select option[value={}]"
    assert page.inner_text(option.format("init", "he")) == "He"
    assert page.inner_text(option.format("loss", "auto")) == "Automatic"
    assert page.inner_text(option.format("optimizer", "nesterov")) == "Nesterov momentum"
    assert page.get_attribute(".tile[data-value=spiral3]", "title") == "Three-arm spiral"
    assert page.input_value("[data-param=init] select") == "tf"  # values stay the link's


def test_lambda_shows_only_with_a_penalty_for_it_to_scale(make_page):
    probe = make_page()
    page = probe.open("/?regularization=none&regularizationRate=0.3")
    assert not page.is_visible("[data-param=regularizationRate]")  # it would do nothing
    page.select_option("[data-param=regularization] select", "L1")
    probe.wait("netplay.config.regularization === 'L1'")
    page.locator("[data-param=regularizationRate]").wait_for(state="visible")
    assert page.input_value("[data-param=regularizationRate] select") == "0.3"


def test_a_learning_rate_schedule_is_a_control_and_its_rate_shows_under_the_loss_chart(make_page):
    probe = make_page(1440, 900)
    page = probe.open("/?dataset=xor&learningRate=0.1&schedule=step&lrStepEpochs=2&seed=s")
    assert page.is_visible("[data-param=schedule]")
    assert page.is_visible("[data-param=lrStepEpochs]") and not page.is_visible("[data-param=lrDecay]")
    assert page.inner_text("#lr-now") == "learning rate now 0.1"
    page.click("#step")
    page.click("#step")
    probe.wait("netplay.frame.epoch === 2")
    probe.wait("document.getElementById('lr-now').textContent === 'learning rate now 0.05'")
    # Back to constant: the readout goes, as the schedule's settings do.
    page.select_option("[data-param=schedule] select", "constant")
    probe.wait("netplay.config.schedule === 'constant'")
    probe.wait("document.getElementById('lr-now').hidden")
    assert not page.is_visible("[data-param=lrStepEpochs]")
    assert probe.js("netplay.frame.epoch") == 2  # live: the run goes on
