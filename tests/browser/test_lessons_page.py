"""Lessons, languages and the compare view in a real Chromium."""

from __future__ import annotations

import re

import pytest
from conftest import RECORD_CANVAS_TEXT

from playground_models.compare import parse_compare
from playground_models.headless import run_epochs
from playground_models.lessons import LESSONS, lesson

pytestmark = pytest.mark.browser

# Words that are names, not English to translate: brands, functions, optimizers, keys.
KEPT = {
    "netplay",
    "PyTorch",
    "ReLU",
    "Leaky",
    "ELU",
    "GELU",
    "tanh",
    "Sigmoid",
    "SGD",
    "Adam",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Nesterov",
    "Softmax",
    "SVM",
    "Huber",
    "CSV",  # file formats keep their names
    "safetensors",
    "Xavier",
    "XOR",
    "TF",
    "Playground",
    "dropout",
    "Shift",
    "Ctrl",
    "English",
    "sin",
    "reg",
    "sine",
}


def untranslated(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z]{3,}", text)
    kept = {w.lower() for w in KEPT}
    return sorted({w for w in words if w.lower() not in kept})


def compare_ready(probe) -> None:
    probe.wait("window.netplayCompare && window.netplayCompare.ready")


def test_lesson_menu_opens_a_compare_lesson_and_a_one_run_lesson(make_page, artifacts):
    probe = make_page(1300, 1000)
    page = probe.open("/")
    page.click("#lessons-button")
    assert page.locator("#lesson-list a").count() == len(LESSONS)
    page.click("#lesson-list a[data-lesson='regularization']")
    compare_ready(probe)
    assert page.url.split("?")[0].endswith("/compare")
    assert page.get_attribute("#lesson-card", "data-lesson") == "regularization"
    assert page.locator(".run-card").count() == 3
    assert "λ" in page.inner_text("#lesson-card h2")
    page.click("#play")
    probe.wait("window.netplayCompare.epoch >= 30")
    page.click("#play")
    page.screenshot(path=str(artifacts / "lesson-regularization.png"), full_page=True)

    page.click("#lessons-button")
    page.click("#lesson-list a[data-lesson='knn']")
    probe.wait_ready()
    assert page.get_attribute("#lesson-card", "data-lesson") == "knn"
    assert probe.js("window.netplay.config.knn") == 5
    assert probe.console_errors == [] and probe.foreign_requests == []




def canvas_texts(probe) -> list[str]:
    return probe.js("[...window.canvasTexts]")


def test_chinese_page_has_no_untranslated_english_in_controls_and_lessons(make_page, artifacts):
    probe = make_page(1300, 1000)
    page = probe.page
    page.add_init_script(RECORD_CANVAS_TEXT)
    probe.open("/?lang=zh&lesson=dropout&" + lesson("knn").url)
    probe.wait("document.getElementById('lesson-card') !== null")
    page.click("#step")
    probe.wait("window.netplay.frame.epoch >= 1")
    page.fill("#sweep input[name=values]", "0, 0.01")
    page.fill("#sweep input[name=epochs]", "5")
    page.click("#sweep button[type=submit]")
    probe.wait("!window.netplaySweep.running && window.netplaySweep.points.every(Boolean)")
    probe.drawn()
    page.click("#lessons-button")
    texts = page.evaluate(
        "[...document.querySelectorAll('.topbar, .trainbar, main, #lesson-card, #lesson-list')]"
        ".map((e) => e.innerText).join('\\n')"
    )
    titles = page.evaluate(
        "[...document.querySelectorAll('[data-param]')].map((e) => e.title).join('\\n')"
    )
    page.screenshot(path=str(artifacts / "lab-zh.png"), full_page=True)
    assert untranslated(texts) == []
    assert untranslated(titles) == []
    drawn = canvas_texts(probe)
    assert untranslated(" ".join(drawn)) == [], drawn
    assert {"轮次 0", "最终损失", "正则化强度 λ"} <= set(drawn)  # loss chart, sweep chart

    page.goto(probe.server.url + "/compare?" + lesson("optimizer-race").url + "&lang=zh")
    compare_ready(probe)
    page.click("#step")
    probe.wait("window.netplayCompare.epoch >= 1")
    probe.drawn()
    compare_text = page.inner_text("body")
    page.screenshot(path=str(artifacts / "compare-zh.png"), full_page=True)
    assert untranslated(compare_text) == [], [
        ln for ln in compare_text.splitlines() if untranslated(ln)
    ]
    assert "lang=zh" in page.url
    drawn = canvas_texts(probe)
    assert untranslated(" ".join(drawn)) == [], drawn
    assert {"轮次 0", "W1", "点击“开始扫描”画出曲线。"} <= set(drawn)
    assert "轮次 1" not in drawn  # every chart starts at the initial weights, epoch 0


def test_compare_link_in_a_fresh_browser_reproduces_its_runs_first_20_epochs(make_page):
    link = lesson("neurons").url + "&r2.optimizer=sgd&r3.dropout=0.2"
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/compare?" + link)
    compare_ready(probe)
    shared = page.url.split("/compare?")[1]
    fresh = make_page()  # another context: nothing shared but the link
    fresh.page.goto(fresh.server.url + "/compare?" + shared)
    compare_ready(fresh)
    fresh.page.click("#play")
    fresh.wait("window.netplayCompare.epoch >= 20")
    fresh.page.click("#play")
    history = fresh.js("window.netplayCompare.history")
    for k, url in enumerate(parse_compare(shared).run_urls()):
        expected = list(run_epochs(url, 20))
        got = history[k][:20]
        assert [m["epoch"] for m in got] == list(range(1, 21))
        for m, e in zip(got, expected, strict=True):
            for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
                assert round(m[key], 6) == e[key], (k, m["epoch"], key)


def test_every_compare_card_is_measured_alike_from_the_first_layout(make_page):
    probe = make_page(1280, 900)
    probe.page.goto(probe.server.url + "/compare?" + lesson("neurons").url)
    compare_ready(probe)
    # Each card's boundary canvas holds as many pixels as it shows, so points keep their size:
    # card 1 was sized while it was still alone in the row, three times too large.
    sizes_settle = (
        "window.netplayCompare.cardSizes.every((c) => "
        "c.width === Math.round(c.cssWidth * devicePixelRatio))"
    )
    probe.wait(sizes_settle, 5_000)
    sizes = probe.js("window.netplayCompare.cardSizes")
    dpr = probe.js("devicePixelRatio")
    drawn_radius = [c["radius"] * c["cssWidth"] * dpr / c["width"] for c in sizes]
    assert len(sizes) == 3 and len({c["width"] for c in sizes}) == 1
    assert drawn_radius == [2, 2, 2]
    assert 300 < sizes[0]["cssWidth"] < 450  # three cards share the 1280-pixel row


def _w1_height(page, run: int) -> float:
    """Mean height (0 bottom … 1 top) of the first layer's colour in a card's history chart."""
    return page.evaluate(
        """(run) => {
            const c = document.querySelectorAll('.run-card canvas.grads-history')[run];
            const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
            const want = [16, 76, 71];  // layerColor(0, n): hsl(175, 65%, 18%)
            let sum = 0, count = 0;
            for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
                const i = 4 * (y * width + x);
                const d = Math.hypot(data[i] - want[0], data[i + 1] - want[1], data[i + 2] - want[2]);
                if (data[i + 3] === 255 && d < 12) { sum += y; count++; }
            }
            return count > 20 ? 1 - sum / count / height : null;
        }""",
        run,
    )


def test_the_vanishing_gradient_lesson_draws_each_layers_norm_over_the_epochs(make_page, artifacts):
    probe = make_page(1300, 1000)
    page = probe.page
    page.goto(probe.server.url + lesson("vanishing-gradients").page_url())
    compare_ready(probe)
    page.click("#play")  # pauses by itself at the lesson's 60 epochs
    probe.wait("window.netplayCompare.epoch > 0 && !window.netplayCompare.playing", 60_000)
    probe.drawn()
    page.screenshot(path=str(artifacts / "compare-gradients.png"), full_page=True)

    sigmoid, relu = probe.js("window.netplayCompare.gradHistory")
    epoch = probe.js("window.netplayCompare.epoch")
    for run in (sigmoid, relu):
        assert [row["epoch"] for row in run] == list(range(epoch + 1))  # epoch 0 onwards
        assert all(len(row["norms"]) == 7 for row in run)
    assert sigmoid[-1]["norms"][0] < relu[-1]["norms"][0] / 100
    # On the cards' shared log scale the sigmoid's first layer sits far below the relu's.
    low, high = _w1_height(page, 0), _w1_height(page, 1)
    assert low is not None and high is not None
    assert high - low > 0.3, (low, high)
    assert probe.console_errors == []


def test_a_one_run_lesson_keeps_its_key_through_changes_and_reloads(make_page):
    probe = make_page()
    page = probe.open(lesson("knn").page_url())
    assert "lesson=knn" in page.url
    version = probe.js("window.netplay.version")
    page.fill("#seed", "7")
    page.press("#seed", "Enter")
    probe.wait(f"window.netplay.version > {version}")
    assert "seed=7" in page.url and "lesson=knn" in page.url
    page.reload()
    probe.wait_ready()
    probe.wait("document.getElementById('lesson-card') !== null")
    assert page.get_attribute("#lesson-card", "data-lesson") == "knn"
    assert probe.js("window.netplay.config.seed") == "7"

    page.click("#lesson-card button")  # closing the card takes the lesson out of the link
    assert "lesson=" not in page.url
    version = probe.js("window.netplay.version")
    page.fill("#seed", "8")
    page.press("#seed", "Enter")
    probe.wait(f"window.netplay.version > {version}")
    assert "seed=8" in page.url and "lesson=" not in page.url


def test_compare_lesson_pauses_at_its_watch_epoch_then_plays_on_at_the_chosen_speed(make_page):
    probe = make_page(1300, 1000)
    page = probe.page
    centering = lesson("centering")
    page.goto(probe.server.url + centering.page_url())
    compare_ready(probe)
    page.click("#play")
    probe.wait("!window.netplayCompare.playing")
    assert probe.js("window.netplayCompare.epoch") == centering.epochs == 20
    assert [m["epoch"] for m in probe.js("window.netplayCompare.history")[0]] == list(range(1, 21))
    assert "Paused at epoch 20" in page.inner_text("#notices")
    # The loss curve and the gradient history both start at the initial weights (epoch 0).
    assert probe.js("window.netplayCompare.curves[0][0].epoch") == 0
    assert probe.js("window.netplayCompare.gradHistory[0][0].epoch") == 0
    shown = page.evaluate(
        "import('/static/js/gradchart.js')"
        ".then((m) => [2, 0.01432, 3.2e-5, 12345].map(m.formatNorm))"
    )
    assert shown == ["2", "0.014", "3e-5", "1e4"]
    # Play goes on past the watch epoch, at the chosen number of epochs per request.
    page.select_option("#speed", "100")
    page.click("#play")
    probe.wait("window.netplayCompare.epoch >= 220")
    page.click("#play")
    probe.wait("!window.netplayCompare.playing")
    epoch = probe.js("window.netplayCompare.epoch")
    assert epoch >= 220 and (epoch - 20) % 100 == 0
    # The speed is in the address bar, so a reload or a shared link keeps it.
    assert "speed=100" in page.url
    page.reload()
    probe.wait("window.netplayCompare && window.netplayCompare.ready")
    assert page.input_value("#speed") == "100" and "speed=100" in page.url
    assert "speed" not in probe.js("window.netplayCompare.link")

    # Reset arms the pause again; "auto" speed stops there too (the gradient lesson: 60).
    vanishing = lesson("vanishing-gradients")
    page.goto(probe.server.url + vanishing.page_url())
    compare_ready(probe)
    page.click("#play")
    probe.wait("!window.netplayCompare.playing", 60_000)
    assert probe.js("window.netplayCompare.epoch") == vanishing.epochs == 60
    page.click("#reset")
    page.click("#play")
    probe.wait("window.netplayCompare.epoch > 0 && !window.netplayCompare.playing", 60_000)
    assert probe.js("window.netplayCompare.epoch") == 60
    assert probe.console_errors == []


def test_a_broken_compare_link_says_why_and_links_back(make_page):
    # Only a link that describes no comparison at all is broken: bad parts of one open at
    # their defaults (tests/browser/test_bad_links.py).
    probe = make_page(1200, 800)
    page = probe.page
    page.goto(probe.server.url + "/compare?lesson=nope&lang=zh")
    probe.wait("!!document.getElementById('broken-link')")
    box = page.inner_text("#broken-link")
    assert "这个链接不是一个有效的对比" in box and "runs: 一个对比需要 2 到 6 个运行" in box
    assert page.get_attribute("#broken-link a", "href") == "/?lang=zh"
    assert page.locator(".topbar .run").is_hidden()
    assert page.locator("#lessons-button").is_visible()

    page.goto(probe.server.url + "/compare?foo=bar")
    probe.wait("!!document.getElementById('broken-link')")
    assert "unknown key 'foo', ignored" in page.inner_text("#notices")
    page.click("#broken-link a")
    probe.wait_ready()
    assert page.url.startswith(probe.server.url + "/?problem=classification&")


def test_zh_data_editing_and_rate_texts_and_a_compare_link_with_one_lang(make_page):
    probe = make_page(1300, 900)
    page = probe.open("/?lang=zh")
    hint = ".hint[data-control='dataEditing']"
    probe.wait("document.querySelector('.swatch') !== null")
    assert page.inner_text(hint) == "点击图中可添加一个点，按住 Shift 点击添加另一类，按住 Ctrl 点击删除一个点。"
    assert page.get_attribute(".swatch-1", "title") == "点击图中添加第 1 类的点"
    page.click("#play")
    probe.wait("/每秒 .+ 次更新/.test(document.getElementById('rate').textContent)")
    page.click("#play")

    page = probe.open("/?problem=regression&regDataset=reg-plane&lang=zh")
    probe.wait("document.querySelector('.swatch-pos') !== null")
    assert page.inner_text(hint) == (
        "点击图中可添加一个所选值的点，按住 Shift 点击添加相反的值，按住 Ctrl 点击删除一个点。"
    )
    assert page.get_attribute(".swatch-pos", "title") == "点击图中添加值为 +1 的点"

    page.click("#lessons-button")
    page.click("#lesson-list a[data-lesson='centering']")
    compare_ready(probe)
    probe.wait("window.location.search.includes('lesson=centering')")
    assert page.url.count("lang=zh") == 1
    assert probe.console_errors == []


def test_a_classroom_compare_link_hides_the_controls_it_names(make_page):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/compare?runs=2&r1.learningRate=0.01&r2.learningRate=0.1"
              "&playButton_hide=true&sweep_hide=true&lessons_hide=true")
    probe.wait("window.netplayCompare && window.netplayCompare.ready")
    assert not page.is_visible("#play") and not page.is_visible("#sweep")
    assert not page.is_visible(".lessons-menu, [data-control=lessons]")
    assert page.is_visible("#step") and page.is_visible("#reset")
    assert "playButton_hide=true" in page.url and "sweep_hide=true" in page.url
    assert probe.console_errors == []


@pytest.mark.parametrize("width", [390, 820])
def test_the_lessons_list_opens_inside_a_phone_or_tablet_screen(make_page, width):
    probe = make_page(width=width, height=844)
    page = probe.open("/")
    page.click("#lessons-button")
    box = page.locator("#lesson-list").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert box["width"] >= min(300, width - 20)
    first = page.locator("#lesson-list a").first.bounding_box()
    assert first["x"] >= 0 and first["x"] + first["width"] <= width, first


def test_a_one_run_lesson_pauses_where_it_says_to_look(make_page):
    probe = make_page()
    page = probe.open(lesson("knn").page_url())
    probe.wait("document.getElementById('lesson-card') !== null")
    watch = lesson("knn").epochs
    page.select_option("#speed", "100")  # four epochs a frame: there in a second or two
    page.click("#play")
    probe.wait("netplay.runState === 'playing'")
    probe.wait("netplay.runState === 'paused'", 60_000)
    epoch = probe.js("netplay.frame.epoch")
    assert watch <= epoch < watch + 20
    said = re.search(r"Paused at epoch (\d+)", page.locator(".notice").last.inner_text())
    assert said and watch <= int(said[1]) <= epoch  # frames already under way arrive after it
    page.click("#play")  # once: play goes on past it
    probe.wait(f"netplay.frame.epoch > {epoch + 20}")
    assert probe.js("netplay.runState") == "playing"


TINY_LOSS = "runs=2&dataset=gauss&optimizer=adam&learningRate=0.1&networkShape=8&r2.activation=sigmoid"

# An init script that records every text drawn partly outside its canvas (in CSS pixels).
RECORD_CANVAS_OVERFLOW = """
window.canvasOverflow = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
  const w = this.measureText(String(text)).width;
  const align = this.textAlign;
  const left = align === 'right' || align === 'end' ? x - w : align === 'center' ? x - w / 2 : x;
  const width = this.canvas.width / this.getTransform().a;
  if (left < -0.5 || left + w > width + 0.5) {
    window.canvasOverflow.push({ text: String(text), left, right: left + w, width, canvas: this.canvas.className });
  }
  return fillText.call(this, text, x, y, ...rest);
};
"""


def open_compare(probe, link: str):
    probe.page.goto(probe.server.url + "/compare?" + link)
    compare_ready(probe)
    return probe.page


def test_the_log_checkbox_sets_the_scale_of_every_loss_chart(make_page):
    probe = make_page()
    page = open_compare(probe, "runs=2&dataset=xor&r2.activation=sigmoid")
    page.click("#step")
    probe.wait("window.netplayCompare.epoch >= 1")
    assert page.is_checked("#log-scale")
    assert probe.js("window.netplayCompare.logScale") == {"overlay": True, "cards": [True, True]}
    page.uncheck("#log-scale")
    probe.drawn()
    assert probe.js("window.netplayCompare.logScale") == {"overlay": False, "cards": [False, False]}
    assert "every loss chart" in page.inner_text(".overlay-panel .chart-head")


def test_a_cards_accuracy_says_it_is_the_test_accuracy(make_page):
    probe = make_page()
    page = open_compare(probe, "runs=2&dataset=xor&r2.activation=sigmoid")
    metrics = page.locator(".run-metrics").all_inner_texts()
    assert len(metrics) == 2
    for line in metrics:
        assert re.fullmatch(r"Train [\d.]+ · Test [\d.]+ · Test accuracy [\d.]+ %", line), line
    page.goto(probe.server.url + "/compare?runs=2&dataset=xor&r2.activation=sigmoid&lang=zh")
    compare_ready(probe)
    assert "测试准确率" in page.inner_text(".run-metrics")


def test_the_lesson_pause_notice_covers_no_card(make_page, artifacts):
    probe = make_page(1280, 720)
    page = probe.page
    page.goto(probe.server.url + lesson("centering").page_url())
    compare_ready(probe)
    page.click("#play")
    probe.wait("!window.netplayCompare.playing && !!document.querySelector('.notice')")
    probe.drawn()
    page.screenshot(path=str(artifacts / "compare-paused.png"))
    notice = page.locator(".notice").first.bounding_box()
    assert "Paused at epoch 20" in page.inner_text("#notices")
    assert notice["y"] >= 0 and notice["y"] + notice["height"] <= 720  # in view when it comes
    for card in page.locator(".run-card").all():
        box = card.bounding_box()
        apart = (notice["y"] + notice["height"] <= box["y"] or box["y"] + box["height"] <= notice["y"]
                 or notice["x"] + notice["width"] <= box["x"] or box["x"] + box["width"] <= notice["x"])
        assert apart, (notice, box)


def test_every_axis_label_fits_its_chart_even_for_tiny_losses(make_page, artifacts):
    probe = make_page(1280, 900)
    probe.page.add_init_script(RECORD_CANVAS_OVERFLOW)
    probe.page.add_init_script(RECORD_CANVAS_TEXT)
    page = open_compare(probe, TINY_LOSS)
    page.select_option("#speed", "20")
    page.click("#play")
    probe.wait("window.netplayCompare.epoch >= 20")
    page.click("#play")
    probe.wait("!window.netplayCompare.playing")
    probe.drawn()
    page.uncheck("#log-scale")
    probe.drawn()
    page.check("#log-scale")
    probe.drawn()
    page.screenshot(path=str(artifacts / "compare-tiny-loss.png"), full_page=True)
    assert min(m["test_loss"] for m in probe.js("window.netplayCompare.history")[0]) < 1e-3
    assert any("e-" in text for text in canvas_texts(probe))  # small ticks are drawn ...
    assert probe.js("window.canvasOverflow") == []  # ... and every one within its canvas


@pytest.mark.parametrize(
    ("link", "selects"),
    [
        ("/compare?runs=2", "#sweep select, .topbar select"),
        ("/compare?runs=2&lang=zh", "#sweep select, .topbar select"),
        ("/", "#sweep select"),
        ("/?lang=zh", "#sweep select"),
    ],
)
def test_every_select_of_the_sweep_and_compare_controls_shows_its_choices_whole(
    make_page, link, selects
):
    probe = make_page(1280, 900)
    probe.page.goto(probe.server.url + link)
    probe.wait("window.netplaySweep && document.querySelector('#sweep select') !== null")
    probe.drawn()
    # A select as wide as it would be with no limit on its width shows every option whole.
    cut = page_selects_cut(probe, selects)
    assert cut == []


def page_selects_cut(probe, selects: str) -> list:
    """The selects narrower than their longest option, with their width and the one needed."""
    return probe.page.evaluate(
        """(selects) => [...document.querySelectorAll(selects)].flatMap((s) => {
            const shown = s.getBoundingClientRect().width;
            const [maxWidth, width] = [s.style.maxWidth, s.style.width];
            s.style.maxWidth = 'none';
            s.style.width = 'max-content';
            const needed = s.getBoundingClientRect().width;
            [s.style.maxWidth, s.style.width] = [maxWidth, width];
            return shown + 0.5 < needed ? [[s.name || s.id || s.className, shown, needed]] : [];
        })""",
        selects,
    )


def test_a_multi_class_plot_shows_no_orange_blue_legend(make_page):
    probe = make_page()
    page = probe.open("/?dataset=spiral3")
    probe.wait("document.querySelector('#class-picker .swatch-2') !== null")  # three classes
    probe.drawn()
    assert not page.is_visible(".plot-box .legend")  # the classes are hues, not −1 … 1
    page = probe.open("/?dataset=circle")
    probe.drawn()
    assert page.is_visible(".plot-box .legend")


def test_a_1d_regression_card_draws_its_curve_along_x1_with_no_x2_axis(make_page, artifacts):
    probe = make_page()
    page = open_compare(probe, "runs=2&problem=regression&regDataset=reg-sine&r2.activation=sigmoid")
    page.click("#step")
    probe.wait("window.netplayCompare.epoch >= 1")
    probe.drawn()
    page.locator(".run-card").first.screenshot(path=str(artifacts / "compare-reg-sine.png"))
    assert probe.js("window.netplayCompare.views") == ["curve", "curve"]
    # The curve view's pale background, where a 2-D map would paint the prediction at (-6, 6).
    corner = page.evaluate(
        """() => {
            const c = document.querySelector('.run-card canvas.plot');
            return [...c.getContext('2d').getImageData(3, 3, 1, 1).data];
        }"""
    )
    assert corner == [251, 251, 252, 255]
    page = open_compare(probe, "runs=2&dataset=xor&r2.activation=sigmoid")
    probe.drawn()
    assert probe.js("window.netplayCompare.views") == ["map", "map"]


def test_a_link_that_names_only_a_lesson_opens_the_lesson_itself(make_page):
    """`?lesson=knn` is the short link a teacher writes on the board: it showed the lesson's
    card over the default run (the circle, no k-NN), not the lesson's own settings. On the
    compare page a 2-D lab lesson's name opens it in the lab."""
    knn = lesson("knn")
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/?lesson=knn")
    page.wait_for_url("**/?dataset=spiral&*")
    probe.wait_ready()
    assert probe.js("netplay.config.dataset") == "spiral"
    assert probe.js("netplay.config.knn") == int(dict(re.findall(r"(\w+)=([^&]*)", knn.url))["knn"])
    assert page.locator("#lesson-card").is_visible()
    page.goto(probe.server.url + "/compare?lesson=knn")
    page.wait_for_url("**/?dataset=spiral&*")
    probe.wait_ready()


def test_an_unknown_lesson_is_named_on_both_pages(make_page):
    probe = make_page()
    page = probe.open("/?lesson=KNN")
    page.locator(".notice").first.wait_for()
    assert "No lesson is called “KNN”" in page.inner_text("#notices")
    page.goto(probe.server.url + "/compare?lesson=nope")
    probe.wait("!!document.getElementById('broken-link')")
    assert "No lesson is called “nope”" in page.inner_text("#notices")


def test_a_compare_link_too_long_to_read_says_so_in_words(make_page):
    """It showed the request validator's "url: String should have at most 16384 characters"."""
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/compare?runs=2&seed=" + "A" * 20000)
    probe.wait("!!document.getElementById('broken-link')")
    text = page.inner_text("#broken-link")
    assert "url: this link is too long to read (20,012 characters; at most 16,384)" in text, text
    assert "String should have" not in page.inner_text("body")


def test_the_lessons_list_by_keyboard_gives_focus_back_and_closes_when_left(make_page):
    probe = make_page()
    page = probe.open("/")
    page.focus("#lessons-button")
    page.keyboard.press("Enter")
    probe.wait("!document.getElementById('lesson-list').hidden")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert probe.js("document.getElementById('lesson-list').hidden")
    assert probe.js("document.activeElement.id") == "lessons-button"  # it was lost to <body>
    page.keyboard.press("Enter")
    probe.wait("!document.getElementById('lesson-list').hidden")
    for _ in range(probe.js("document.querySelectorAll('#lesson-list a').length") + 1):
        page.keyboard.press("Tab")
    assert probe.js("document.getElementById('lesson-list').hidden")  # it covered the controls
