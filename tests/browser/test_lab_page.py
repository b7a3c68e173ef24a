"""The image lab in a real Chromium against a real uvicorn: it trains, its filters and feature
maps change while it does, and a drawn digit gets a prediction. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
import time
from itertools import pairwise
from urllib.parse import urlsplit

import pytest
from conftest import RECORD_CANVAS_TEXT, drawn, stays

pytestmark = pytest.mark.browser

SMALL_NET = "in16x16x1-conv6k3p1-relu-maxpool2-conv8k3p1-relu-fc10"


@pytest.fixture(scope="module")
def lab_url(live_server) -> str:
    return live_server.url


def _wait(page, check, timeout_s: float, what: str) -> None:
    """Poll `check(page)` from Python: the app's CSP forbids the eval that wait_for_function
    uses."""
    deadline = time.monotonic() + timeout_s
    while not check(page):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def _number(page, selector: str) -> float:
    text = page.locator(selector).inner_text().replace("%", "").replace(",", "")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _canvas(page, selector: str) -> str:
    return page.evaluate(f"document.querySelector({selector!r}).toDataURL()")


def test_lab_trains_shows_changing_filters_and_maps_and_predicts_a_drawing(
    browser, lab_url, artifacts
):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith("data:"):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    try:
        page.goto(f"{lab_url}/lab?net={SMALL_NET}&learningRate=0.01&seed=1")
        page.wait_for_selector("#filters canvas", timeout=20_000)
        page.wait_for_selector("#maps .map-row:nth-child(2) canvas")
        assert page.locator("#total").inner_text() == "5,630 parameters"  # 60 + 440 + 5,130
        filters_before = _canvas(page, "#filters canvas")
        maps_before = _canvas(page, "#maps .map-row:nth-child(2) canvas")

        page.click("#play")
        _wait(page, lambda p: _number(p, "#epoch") >= 2, 30, "two epochs")
        _wait(page, lambda p: _number(p, "#m-test-acc") > 50, 30, "test accuracy above 50 %")
        # Pictures are repainted on the next animation frame after the numbers: poll for them.
        _wait(page, lambda p: _canvas(p, "#filters canvas") != filters_before, 10, "new filters")
        _wait(
            page,
            lambda p: _canvas(p, "#maps .map-row:nth-child(2) canvas") != maps_before,
            10,
            "new feature maps",
        )
        assert page.locator("#preds .pred").count() == 16
        assert page.locator("#preds .pred.right").count() > 0

        box = page.locator("#draw").bounding_box()
        x, y = box["x"], box["y"]
        page.mouse.move(x + 70, y + 20)
        page.mouse.down()
        page.mouse.move(x + 70, y + 120, steps=10)
        page.mouse.up()
        _wait(
            page,
            lambda p: p.locator("#guess").inner_text().startswith("The net says"),
            10,
            "a prediction of the drawing",
        )
        assert page.locator("#probs .prob.top").count() == 1
        page.screenshot(path=str(artifacts / "lab-training.png"))
        page.screenshot(path=str(artifacts / "lab-full.png"), full_page=True)

        page.click("#pause" if page.locator("#pause").count() else "#play")
        # A network that does not fit is marked, not trained.
        first = page.locator("#layers input.tok").nth(1)
        first.fill("conv6k20")
        first.press("Enter")
        page.wait_for_selector("#layers tr.bad", timeout=10_000)
        assert "larger than its input" in page.locator("#layers tr.bad").inner_text()
        assert page.locator("#apply").is_disabled()
        page.screenshot(path=str(artifacts / "lab-bad-layer.png"))
        assert errors == [] and foreign == []
    finally:
        context.close()


def test_an_idle_lab_tab_is_closed_by_the_server_and_comes_back_on_use(browser, make_server):
    server = make_server(idle_timeout_s=1.5)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/lab?net={SMALL_NET}&seed=1")
        page.wait_for_selector("#filters canvas", timeout=20_000)
        _wait(page, lambda p: p.inner_text("#conn").startswith("Idle"), 10, "the idle close")
        # No reconnect loop while nobody uses the tab.
        stays(page, lambda p: p.inner_text("#conn").startswith("Idle"), 1000, "idle")
        page.click("#step")  # any control brings the session back, started from the link
        _wait(page, lambda p: p.inner_text("#conn") == "Connected", 10, "the reconnect")
    finally:
        context.close()


def test_filters_come_back_after_a_preset_without_convolutions(make_page):
    probe = make_page()
    page = probe.page
    page.goto(f"{probe.server.url}/lab?net={SMALL_NET}&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)

    page.select_option("#preset", "mlp")
    _wait(
        page,
        lambda p: p.inner_text("#filters") == "This network has no convolution layers.",
        20,
        "the note for a net without convolutions",
    )
    # One conv layer, like the one note left by the MLP: the rows must still be built.
    page.select_option("#preset", "resnet-mini")
    page.wait_for_selector("#filters .filter-layer canvas", timeout=20_000)
    assert page.locator("#filters .filter-layer").count() == 1
    assert page.locator("#filters .filter-layer .map-tiles canvas").count() == 16
    assert page.inner_text("#filters .map-label b") == "conv16k3p1"
    assert "no convolution" not in page.inner_text("#filters")
    _wait(page, lambda p: p.locator("#preds .pred").count() == 16, 10, "the test predictions")
    preds_before = page.inner_text("#preds")
    confusion_before = _canvas(page, "#confusion")

    page.click("#play")
    _wait(page, lambda p: _number(p, "#epoch") >= 2, 30, "two epochs")
    _wait(page, lambda p: p.inner_text("#preds") != preds_before, 10, "new predictions")
    _wait(page, lambda p: _canvas(p, "#confusion") != confusion_before, 10, "a new matrix")
    page.click("#play")
    assert probe.console_errors == [] and probe.foreign_requests == []


def _box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("width", [420, 1280])
def test_the_lab_fits_its_width_and_the_network_table_fits_its_panel(make_page, width):
    probe = make_page(width=width, height=900)
    page = probe.page
    page.goto(f"{probe.server.url}/lab?preset=resnet-mini&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Every setting can be reached: the toolbar wraps instead of running off the edge.
    seed = _box(page, "#seed")
    assert seed["x"] + seed["width"] <= width
    # The Params column of the widest preset ends inside the Network panel.
    panel = _box(page, ".p-editor")
    for cell in page.locator("#layers td.num").all():
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= panel["x"] + panel["width"]
    if width == 420:  # one column: Training comes below Network, not over it
        assert _box(page, ".p-curves")["y"] >= panel["y"] + panel["height"]
    assert probe.console_errors == []


def test_training_readout_has_clean_labels_and_axes(make_page):
    probe = make_page()
    page = probe.page
    page.goto(f"{probe.server.url}/lab?net={SMALL_NET}&learningRate=0.01&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    loss = page.locator("#loss-chart")
    _wait(page, lambda p: loss.get_attribute("data-x") == "0 examples", 10, "the first point")
    start = loss.get_attribute("data-ticks").split()
    assert len(set(start)) == len(start) >= 2  # a flat start: no label repeated

    page.click("#play")
    _wait(page, lambda p: _number(p, "#epoch") >= 2, 30, "two epochs")
    page.click("#play")
    _wait(page, lambda p: loss.get_attribute("data-x") != "0 examples", 10, "a redraw")
    ticks = loss.get_attribute("data-ticks").split()
    values = [float(t) for t in ticks]  # plain decimals, no 1e-4
    assert all("e" not in t for t in ticks) and len({len(t.split(".")[-1]) for t in ticks}) == 1
    steps = {round(b - a, 9) for a, b in pairwise(values)}
    assert len(steps) == 1  # evenly spaced, from zero to above the first loss (about 2.30)
    assert values[0] == 0.0 and values[-1] >= 2.3
    assert loss.get_attribute("data-x").endswith(" examples")
    assert page.locator("#acc-chart").get_attribute("data-ticks") == "0.0 0.2 0.4 0.6 0.8 1.0"
    # Each metric's label sits above its value.
    for name in ("train-loss", "val-acc", "test-acc", "rate"):
        value = _box(page, f"#m-{name}")
        label = _box(page, f".metric:has(#m-{name}) .metric-label")
        assert label["y"] + label["height"] <= value["y"] + 1
    assert probe.console_errors == []


def test_the_lab_shows_no_settings_until_its_configuration_arrives(make_page):
    probe = make_page()
    page = probe.page
    held = []
    probe.context.route("**/api/lab/presets", lambda r: held.append(r))  # held back
    page.goto(f"{probe.server.url}/lab?net={SMALL_NET}&seed=1")
    _wait(page, lambda p: len(held) == 1, 10, "the presets request")
    assert page.inner_text("#total") == "Loading…"
    assert page.locator("#layers tr").count() == 0
    for selector in ("#preset", "#learningRate", "#momentum", "#batchSize", "#seed", ".lab-foot"):
        assert page.locator(selector).evaluate("e => getComputedStyle(e).visibility") == "hidden"

    held[0].continue_()
    page.wait_for_selector("#filters canvas", timeout=20_000)
    assert page.inner_text("#total") == "5,630 parameters"
    assert page.input_value("#seed") == "1"
    assert page.input_value("#learningRate") != "0.00001"
    assert page.locator("#learningRate").is_visible() and page.locator(".lab-foot").is_visible()
    assert page.inner_text("#device") != "…"


# Names, not English to translate: optimizers, nets, data sets and their authors, layer kinds.
NAMES = {
    "netplay", "English", "SGD", "Nesterov", "Adam", "Adagrad", "Adadelta", "RMSprop", "ConvNetJS", "MNIST",
    "LeNet", "VGG", "ResNet", "MLP", "UCI", "Optical", "Recognition", "Handwritten", "Digits",
    "Alpaydin", "Kaynak", "LeCun", "Cortes", "scikit", "learn", "mlxtend", "CPU", "GPU", "CUDA", "conv", "maxpool", "avgpool",
    "relu", "tanh", "dropout", "same", "PyTorch", "torch", "numpy", "CIFAR", "python",
}  # fmt: skip



def _english(text: str) -> list[str]:
    names = {n.lower() for n in NAMES}
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in names})


def test_the_chinese_lab_has_no_english_left_and_its_switch_keeps_lang_in_the_link(
    make_page, artifacts
):
    probe = make_page(1280, 1000)
    page = probe.page
    page.add_init_script(RECORD_CANVAS_TEXT)
    page.goto(f"{probe.server.url}/lab?lang=zh&net={SMALL_NET}&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    assert "lang=zh" in page.url and "net=" in page.url  # the lab's own rewrite keeps it
    page.click("#step")
    _wait(page, lambda p: p.inner_text("#m-train-loss") != "—", 20, "a trained step")
    page.click("#race")
    _wait(page, lambda p: p.inner_text("#race") == "停止赛跑", 10, "the race")
    _wait(page, lambda p: p.inner_text("#rate").endswith("×6"), 20, "a race frame")
    page.click("#race")
    _wait(page, lambda p: p.inner_text("#race") != "停止赛跑", 10, "the race's end")
    page.click("#dream")  # the button reads 生成中… until the dream comes back
    _wait(page, lambda p: p.inner_text("#dream") == "生成", 20, "the dream")
    drawn(page)
    page.screenshot(path=str(artifacts / "lab-zh-full.png"), full_page=True)

    texts = page.evaluate(
        "[...document.querySelectorAll('.topbar, .trainbar, main, footer')]"
        ".map((e) => e.innerText).join('\\n')"
    )
    assert _english(texts) == [], [ln for ln in texts.splitlines() if _english(ln)]
    labels = page.evaluate(
        "[...document.querySelectorAll('[title], [aria-label], [placeholder], option')]"
        ".map((e) => [e.title, e.ariaLabel, e.placeholder, e.textContent].join(' ')).join('\\n')"
    )
    assert _english(labels) == [], [ln for ln in labels.splitlines() if _english(ln)]
    painted = page.evaluate("[...window.canvasTexts]")
    assert _english(" ".join(painted)) == [], painted
    assert {"损失", "准确率", "训练损失（对数）", "输出 4×4"} <= set(painted)
    assert page.text_content("#h-editor") == "网络" and page.title().startswith(
        "netplay — 图像实验室"
    )
    assert page.get_attribute(".nav-link", "href") == "/?lang=zh"

    with page.expect_navigation():
        page.select_option(".lang-switch", "en")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    _wait(page, lambda p: "net=" in p.url, 10, "the canonical link")
    assert "lang=" not in page.url and page.text_content("#h-editor") == "Network"
    assert page.inner_text("#total") == "5,630 parameters"
    with page.expect_navigation():
        page.select_option(".lang-switch", "zh")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    _wait(page, lambda p: "net=" in p.url, 10, "the canonical link")
    assert "lang=zh" in page.url and page.text_content("#h-editor") == "网络"
    assert page.inner_text("#total") == "5,630 个参数"
    assert page.is_hidden("#banner")  # `lang` is no lab setting the server warns about
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_copy_link_works_without_the_clipboard_api(make_page):
    # Plain http on a classroom's LAN is not a secure context: no navigator.clipboard there.
    probe = make_page()
    probe.page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page = probe.page
    page.goto(probe.server.url + "/lab?preset=mlp")
    _wait(page, lambda p: p.inner_text("#conn") == "Connected", 20, "the connection")
    assert page.evaluate("navigator.clipboard === undefined")
    page.click("#share")
    _wait(page, lambda p: p.inner_text("#share") == "Copied", 5, "the copy")


@pytest.mark.parametrize("link", ["preset=nope", "learningRate=100", "net=in24x24x1-conv8k99-fc10"])
def test_a_bad_lab_link_opens_a_working_lab_naming_the_key(make_page, link):
    probe = make_page()
    page = probe.page
    page.goto(f"{probe.server.url}/lab?{link}")
    _wait(page, lambda p: p.is_visible("#banner"), 20, "the banner")
    key = link.split("=")[0]
    assert f"{key}: " in page.inner_text("#banner-text")
    _wait(page, lambda p: "loading" not in (p.get_attribute("body", "class") or ""), 20, "the lab")
    page.click("#play")  # it trains: the default net on the default data
    _wait(page, lambda p: _number(p, "#epoch") >= 1, 60, "an epoch")
    assert probe.console_errors == []


def _open_lab(probe, link: str):
    page = probe.page
    page.goto(f"{probe.server.url}/lab?{link}")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    return page


def test_momentum_is_offered_only_for_optimizers_that_use_it(make_page):
    probe = make_page()
    page = _open_lab(probe, f"net={SMALL_NET}&optimizer=adam&seed=1")
    assert page.is_hidden("[data-param=momentum]")
    page.select_option("#optimizer", "nesterov")
    _wait(page, lambda p: p.is_visible("[data-param=momentum]"), 10, "the momentum select")
    page.select_option("#optimizer", "rmsprop")
    _wait(page, lambda p: p.is_hidden("[data-param=momentum]"), 10, "momentum hidden again")
    probe = make_page()
    page = _open_lab(probe, f"net={SMALL_NET}&optimizer=momentum&seed=1")
    assert page.is_visible("[data-param=momentum]")
    assert probe.console_errors == []


def test_switching_the_optimizer_says_which_learning_rate_it_set(make_page):
    probe = make_page()
    page = _open_lab(probe, f"net={SMALL_NET}&optimizer=sgd&learningRate=0.03&seed=1")
    assert page.inner_text("#notices") == ""
    page.select_option("#optimizer", "adam")
    _wait(page, lambda p: p.input_value("#learningRate") == "0.003", 10, "Adam's rate")
    _wait(page, lambda p: "0.003" in p.inner_text("#notices"), 10, "the notice")
    assert "Adam" in page.inner_text("#notices")
    assert "learningRate=0.003" in page.url
    assert probe.console_errors == []


def test_step_moves_the_epoch_counter_by_the_examples_it_trained(make_page):
    probe = make_page()
    page = _open_lab(probe, f"net={SMALL_NET}&batchSize=32&seed=1")
    assert page.inner_text("#epoch") == "0"
    train = int(re.search(r"— ([\d,]+) train", page.inner_text("#credit"))[1].replace(",", ""))
    for steps in (1, 2):  # each Step trains 10 mini-batches of 32
        page.click("#step")
        done = 320 * steps / train
        _wait(page, lambda p, done=done: _number(p, "#epoch") >= done - 0.01, 20, "a Step")
        assert _number(page, "#epoch") == pytest.approx(done, abs=0.005)
    assert probe.console_errors == []


def test_a_small_train_loss_is_shown_readably(make_page):
    from server.frames import decode, encode

    def small_loss(message):
        if isinstance(message, bytes):
            header, arrays = decode(message)
            if header["type"] == "frame" and header["train"]["loss"] is not None:
                header["train"]["loss"] = 0.0000421
                del header["arrays"]
                return encode(header, arrays)
        return message

    def route(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda m: server.send(m))
        server.on_message(lambda m: ws.send(small_loss(m)))

    probe = make_page()
    probe.page.route_web_socket(re.compile(r"/ws/lab$"), route)
    page = _open_lab(probe, f"net={SMALL_NET}&seed=1")
    page.click("#step")
    _wait(page, lambda p: p.inner_text("#m-train-loss") != "—", 20, "a trained step")
    assert page.inner_text("#m-train-loss") == "4.2e-5"
    assert probe.console_errors == []


def test_layers_after_one_that_does_not_fit_show_no_made_up_numbers(make_page):
    probe = make_page()
    page = _open_lab(probe, "seed=1")  # the default net, ConvNetJS's MNIST one
    conv = page.locator("#layers tr").nth(4)
    assert conv.locator("td.num").all_inner_texts() == ["12×12×16", "3,216"]
    first = page.locator("#layers input.tok").nth(1)
    first.fill("conv8k29p2")
    first.press("Enter")
    page.wait_for_selector("#layers tr.bad", timeout=10_000)
    # Its input would have 8 channels only if layer 1 fitted: no count, no shape.
    assert conv.locator("td.num").all_inner_texts() == ["—", "—"]
    assert "unknown until layer 1 fits" in conv.inner_text()
    assert "416" not in page.inner_text("#layers")
    assert page.inner_text("#total") == "parameters unknown"
    assert page.locator("#layers tr").nth(7).locator("td.num").all_inner_texts() == ["10", "—"]
    assert probe.console_errors == []


# Every rectangle and text drawn on the calculator's canvas since it was last cleared.
RECORD_CALC = """
window.calcOps = [];
const proto = CanvasRenderingContext2D.prototype;
for (const name of ["clearRect", "fillRect", "strokeRect", "fillText"]) {
  const original = proto[name];
  proto[name] = function (...args) {
    if (this.canvas.id === "calc") {
      if (name === "clearRect") window.calcOps = [];
      const width = name === "fillText" ? this.measureText(args[0]).width : args[2];
      window.calcOps.push({ name, args, width });
    }
    return original.apply(this, args);
  };
}
"""


def _set_calc(page, w: int, f: int, s: int, p: int) -> None:
    for key, value in zip("wfsp", (w, f, s, p), strict=True):
        page.fill(f"#c-{key}", str(value))


@pytest.mark.parametrize(
    ("w", "f", "s", "p", "out"), [(227, 11, 4, 0, 55), (1, 1, 1, 0, 1), (7, 3, 2, 1, 4)]
)
def test_the_convolution_calculator_draws_any_course_example_readably(
    make_page, artifacts, w, f, s, p, out
):
    probe = make_page()
    probe.page.add_init_script(RECORD_CALC)
    page = _open_lab(probe, f"net={SMALL_NET}&seed=1")
    page.locator(".p-calc").scroll_into_view_if_needed()
    _set_calc(page, w, f, s, p)
    assert page.evaluate("[...document.querySelectorAll('#c-w, #c-f, #c-s, #c-p')]"
                         ".every((e) => e.checkValidity())")
    formula = f"({w} − {f} + 2·{p}) / {s} + 1 = {out} → output {out}×{out}"
    assert page.inner_text("#calc-formula") == formula
    drawn(page)
    ops = page.evaluate("window.calcOps")
    size = page.evaluate("((c) => [c.width, c.height])(document.querySelector('#calc'))")
    texts = [  # x, top, width, text
        (o["args"][1], o["args"][2] - 11, o["width"], o["args"][0])
        for o in ops
        if o["name"] == "fillText"
    ]
    labels = [t for t in texts if len(t[3]) > 1]  # the input's and the output's, not padding zeros
    assert {t[3] for t in labels} == {f"input {w}×{w}, padding {p}", f"output {out}×{out}"}
    for x, y, width, _ in texts:
        assert x >= 0 and x + width <= size[0] and y >= 0, texts
    (a, b) = sorted(labels)
    assert a[0] + a[2] <= b[0] or a[1] + 11 <= b[1], labels  # side by side, not on each other
    rects = [o["args"] for o in ops if o["name"] == "fillRect"]
    assert len(rects) < 2000  # a big grid is drawn to scale, not cell by cell
    for x, y, width, height in rects:
        assert x >= 0 and y >= 0 and x + width <= size[0] and y + height <= size[1]
    output_x = next(t[0] for t in labels if t[3].startswith("output"))
    grid = [r for r in rects if r[0] < output_x - 10]
    grid_width = max(r[0] + r[2] for r in grid) - min(r[0] for r in grid)
    assert grid_width >= min(150, 22 * (w + 2 * p) - 1)  # a big input uses the room it has
    (window,) = [o["args"] for o in ops if o["name"] == "strokeRect"]
    assert window[2] >= 4 and window[2] == pytest.approx(grid_width * f / (w + 2 * p), abs=2)
    page.locator(".p-calc").screenshot(path=str(artifacts / f"lab-calc-{w}-{f}-{s}-{p}.png"))
    assert probe.console_errors == []


def test_the_convolution_calculator_names_an_input_it_cannot_use(make_page):
    probe = make_page()
    page = _open_lab(probe, f"net={SMALL_NET}&seed=1")
    _set_calc(page, 5000, 3, 1, 0)
    _wait(page, lambda p: "Input W" in p.inner_text("#calc-formula"), 5, "the error")
    assert page.inner_text("#calc-formula") == "Input W must be a whole number from 1 to 256"
    assert "bad" in page.get_attribute("#calc-formula", "class")
    _set_calc(page, 7, 3, 2, 1)
    assert page.inner_text("#calc-formula").endswith("= 4 → output 4×4")
    assert probe.console_errors == []


def test_the_lab_says_it_restarted_after_the_server_came_back(restartable):
    srv, page = restartable.server, restartable.page
    page.goto(f"{srv.url}/lab?net={SMALL_NET}&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    page.click("#step")
    _wait(page, lambda p: p.inner_text("#m-train-loss") != "—", 20, "a trained step")
    srv.stop()
    _wait(page, lambda p: p.get_attribute("#conn", "data-status") != "open", 10, "the loss")
    srv.start()
    _wait(page, lambda p: p.get_attribute("#conn", "data-status") == "open", 20, "the return")
    # The run starts again from the link; the page says so rather than resetting silently.
    _wait(page, lambda p: "Reconnected" in p.inner_text("#notices"), 10, "the notice")


def test_the_lab_takes_a_learning_rate_schedule_from_its_link_and_its_menu(make_page):
    probe = make_page(1280, 900)
    page = probe.page
    page.goto(f"{probe.server.url}/lab?preset=mlp&schedule=step&lrStepEpochs=5")
    page.wait_for_selector("#filters", timeout=20_000)
    _wait(page, lambda p: p.input_value("#schedule") == "step", 20, "the link's schedule")
    assert "schedule=step" in page.url and "lrStepEpochs=5" in page.url
    page.select_option("#schedule", "cosine")
    _wait(page, lambda p: "schedule=cosine" in p.url, 10, "the new schedule in the link")
    labels = page.locator("#schedule option").all_inner_texts()
    assert labels == ["Constant", "Step", "Exponential", "Cosine", "Warm-up + cosine"]


def test_a_digit_is_drawn_from_the_keyboard(make_page):
    probe = make_page(1280, 900)
    page = probe.page
    page.goto(f"{probe.server.url}/lab?net={SMALL_NET}&seed=1")
    page.wait_for_selector("#filters canvas", timeout=20_000)
    hint = page.inner_text("#guess")
    page.focus("#draw")
    assert page.is_visible(".pen-cursor") and page.is_visible("#draw-keys")
    page.keyboard.press(" ")  # the pen goes down: Space draws, it does not play
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    page.keyboard.press(" ")
    assert "down" not in page.get_attribute(".pen-cursor", "class")
    _wait(page, lambda p: p.inner_text("#guess") != hint, 10, "a guess for the stroke")
    ink = page.evaluate("(() => { const c = document.getElementById('draw');"
                        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                        " let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 128; return n; })()")
    assert ink > 100
    assert "playing" not in (page.get_attribute("#play", "class") or "")


def test_an_image_from_the_computer_is_classified_and_a_bad_one_named(make_page):
    import io

    import numpy as np
    from PIL import Image

    probe = make_page(1280, 900)
    page = _open_lab(probe, f"net={SMALL_NET}&seed=2")
    stroke = np.full((200, 160), 250, dtype=np.uint8)  # a dark "1" on light paper
    stroke[30:170, 70:90] = 30
    out = io.BytesIO()
    Image.fromarray(stroke).save(out, format="JPEG")
    page.set_input_files("#file", files=[{"name": "one.jpg", "mimeType": "image/jpeg",
                                          "buffer": out.getvalue()}])
    _wait(page, lambda p: p.inner_text("#guess").startswith("one.jpg: the net says "), 20,
          "the file's prediction")
    assert page.locator("#probs .prob").count() == 10
    # What the network sees: the stroke bright in the middle of a dark square.
    seen = page.evaluate("""(() => {
      const c = document.getElementById('seen');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const at = (x, y) => d[4 * (y * c.width + x)];
      return [at(c.width >> 1, c.height >> 1), at(2, 2)];
    })()""")
    assert seen[0] != seen[1]
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                          "buffer": b"not a picture"}])
    _wait(page, lambda p: p.is_visible("#banner"), 20, "the banner")
    assert page.inner_text("#banner-text").startswith("this file is not a picture")
    page.set_input_files("#file", files=[{"name": "big.png", "mimeType": "image/png",
                                          "buffer": b"\0" * 4_100_000}])
    _wait(page, lambda p: "4.1 MB" in p.inner_text("#banner-text"), 20, "the size refusal")
    assert probe.console_errors == []


def test_a_network_is_saved_as_a_file_and_loaded_in_another_tab(make_page):
    probe = make_page(1280, 900)
    page = _open_lab(probe, f"net={SMALL_NET}&seed=6")
    from pathlib import Path

    from playground_models import netfile

    page.click("#step")
    page.click("#step")  # 10 steps each, done in order before the save
    with page.expect_download() as download:
        page.click("#save-net")
    path = download.value.path()
    name = download.value.suggested_filename
    assert name == "netplay-lab-6-20.netplay"
    header, _ = netfile.read(Path(path).read_bytes(), 10**7)
    assert header["trained"]["steps"] == 20 and header["config"]["net"] == SMALL_NET
    other = make_page(1280, 900)
    again = _open_lab(other, "seed=1")
    again.set_input_files("#net-file", files=[path])
    _wait(again, lambda p: "loaded the network" in p.inner_text("#notices"), 20, "the load")
    assert "seed=6" in again.url  # the saved network's settings, in the link
    assert again.is_hidden("#banner")  # news, not an error
    again.set_input_files("#net-file", files=[{"name": "x.netplay", "mimeType": "text/plain",
                                               "buffer": b"hello"}])
    _wait(again, lambda p: "not a netplay network file" in p.inner_text("#banner-text"), 20,
          "the refusal")
    assert probe.console_errors == [] and other.console_errors == []


# The colour of a canvas's pixels: how far red, green and blue are apart, at most.
COLOURFUL = """(sel => Math.max(...[...document.querySelectorAll(sel)].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let most = 0;
  for (let i = 0; i < d.length; i += 4) {
    most = Math.max(most, Math.abs(d[i] - d[i + 1]), Math.abs(d[i + 1] - d[i + 2]));
  }
  return most;
})))"""


def test_colour_pictures_train_with_colour_filters_and_a_picture_and_the_pretrained_net(
    make_page,
):
    import io

    import numpy as np
    from PIL import Image

    probe = make_page(1280, 900)
    page = _open_lab(probe, "seed=3")
    page.select_option("#data", "shapes")  # a grey net: ConvNetJS's colour net comes along
    # Making 3,000 pictures takes a moment: the page says so, and dims the old net's panels.
    assert page.inner_text("#credit") == "Preparing the data and the network…"
    assert "rebuilding" in page.get_attribute("body", "class")
    _wait(page, lambda p: "net=in32x32x3-conv16k5p2" in p.url, 30, "the colour net")
    _wait(page, lambda p: "rebuilding" not in p.get_attribute("body", "class"), 20, "the build")
    _wait(page, lambda p: p.locator("#maps .map-row").first.locator("canvas").count() == 4, 20,
          "the picture and its three channels")
    assert page.evaluate(COLOURFUL, "#maps .map-row:first-child canvas") > 40
    assert page.evaluate(COLOURFUL, "#filters .filter-layer:first-child canvas") > 20
    assert page.is_hidden("#draw") and page.text_content("#h-draw") == "Test a picture"
    assert re.match(r"(warm|cool) \w+", page.locator(".pred .row b").first.inner_text())
    picture = np.full((90, 120, 3), (190, 195, 185), dtype=np.uint8)  # an orange disc
    ys, xs = np.mgrid[0:90, 0:120]
    picture[(ys - 45) ** 2 + (xs - 60) ** 2 < 30**2] = (230, 120, 20)
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    page.click("#step")  # trained: loading asks before it replaces this network
    _wait(page, lambda p: p.inner_text("#epoch") != "0", 20, "the step's frame")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#load-pretrained")
    _wait(page, lambda p: "shapes.netplay" in p.inner_text("#notices"), 30, "the pretrained net")
    assert asked and asked[0].startswith("Replace the network you have trained")
    _wait(page, lambda p: _number(p, "#m-test-acc") > 80, 20, "the pretrained accuracy")
    assert "augment=on" in page.url
    page.set_input_files("#file", files=[{"name": "sun.png", "mimeType": "image/png",
                                          "buffer": out.getvalue()}])
    _wait(page, lambda p: p.inner_text("#guess").startswith("sun.png: the net says warm disc"),
          20, "the picture's class")
    assert page.evaluate(COLOURFUL, "#seen") > 60  # what the net sees is in colour
    assert probe.console_errors == []


def test_a_dream_unit_that_is_not_a_whole_number_is_named_in_the_pages_language(make_page):
    """It showed pydantic's "Input should be greater than or equal to 0", in English on a
    Chinese page, without naming the field."""
    probe = make_page()
    page = _open_lab(probe, f"lang=zh&net={SMALL_NET}&seed=1")
    for bad in ("-1", "0.5"):
        page.fill("#dream-unit", bad)
        page.click("#dream")
        page.locator(".notice").first.wait_for()
        text = page.inner_text("#notices")
        assert f"单元或类别：请输入 0 或更大的整数（收到的是“{bad}”）" in text, text
        assert "Input should" not in text
        page.locator(".notice-close").first.click()
    assert page.inner_text("#dream") == "生成"  # nothing was sent
