"""The painting lab in a real Chromium against a real uvicorn: the network's picture changes
and grows more like the photograph while it plays, the curve fills, pause, step and reset work,
the learning rate's slider answers the keyboard and goes into the share link, a link opens the
same settings and the same picture, a learner's own picture (file picker or drop) is painted
and bad ones are named, and the page reads in Chinese, passes axe-core and fits a phone."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground_models.messages import LANGS, catalogue

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FRAMES = "Number(document.body.dataset.frames || 0)"
UPDATES = "Number(document.body.dataset.updates || -1)"
PSNR = "Number(document.body.dataset.psnr || 0)"
LINK = "/paint?picture=flower&size=64&layers=16,16&seed=4"
BANNER = "!document.getElementById('banner').hidden"


def _open(probe, link: str = LINK):
    probe.page.goto(probe.server.url + link)
    probe.wait(f"{FRAMES} > 0")
    return probe.page


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_the_picture_sharpens_while_it_plays_and_the_run_controls_work(make_page, artifacts):
    probe = make_page(1280, 900)
    page = _open(probe)
    assert page.input_value("#picture") == "flower" and page.input_value("#size") == "64"
    assert page.input_value("#layers") == "16,16" and page.inner_text("#lr-value") == "0.003"
    assert page.inner_text("#picture-size") == "64 × 43 px"
    first = page.get_attribute("#painted", "src")
    start = probe.js(PSNR)

    page.click("#play")
    probe.wait("document.body.dataset.state === 'playing'")
    probe.wait(f"{UPDATES} > 600 && Number(document.getElementById('curve').dataset.points) > 3")
    assert page.get_attribute("#painted", "src") != first
    baseline = float(page.inner_text("#m-baseline").split()[0])
    probe.wait(f"{PSNR} > {baseline + 3}")  # the flower, not its one colour
    assert probe.js(PSNR) > start + 5
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Space")
    probe.wait("document.body.dataset.state === 'paused'")
    probe.drawn()
    updates = probe.js(UPDATES)
    assert page.inner_text("#updates") == f"{updates:,}"
    page.click("#step")
    probe.wait(f"{UPDATES} === {updates + 100}")
    page.screenshot(path=str(artifacts / "paint-lab.png"), full_page=True)
    page.click("#reset")
    probe.wait(f"{UPDATES} === 0 && document.getElementById('curve').dataset.points === '1'")
    assert page.get_attribute("#painted", "src") == first  # the seed's first picture again
    assert probe.console_errors == [] and probe.foreign_requests == []


def test_the_slider_answers_the_keyboard_and_the_link_opens_the_same_picture(make_page):
    probe = make_page(1024, 800)
    page = _open(probe, "/paint?size=48&layers=12,12&seed=abc")
    page.focus("#learningRate")
    for _ in range(10):  # steps of 0.05 on log10, up from 0.003 (log10 −2.52)
        page.keyboard.press("ArrowRight")
    probe.wait("!location.search.includes('learningRate=0.003&')")
    rate = page.inner_text("#lr-value")
    probe.wait(f"location.search.includes('learningRate={rate}&')")
    assert 0.008 <= float(rate) <= 0.011, rate
    page.select_option("#fourier", "3")
    page.select_option("#optimizer", "rmsprop")
    probe.wait("location.search.includes('fourier=3') && location.search.includes('optimizer=rmsprop')")
    probe.wait(f"{UPDATES} === 0")
    picture = page.get_attribute("#painted", "src")
    url = page.url
    assert "seed=abc" in url and "layers=12,12" in url

    other = make_page(1024, 800)
    again = _open(other, url[len(other.server.url):])
    for selector, value in (("#seed", "abc"), ("#layers", "12,12"), ("#fourier", "3"),
                            ("#optimizer", "rmsprop"), ("#size", "48")):
        assert again.input_value(selector) == value, selector
    assert again.inner_text("#lr-value") == rate
    assert again.get_attribute("#painted", "src") == picture
    # A bad value in a link is named as the page names it; the rest of the link applies.
    page = _open(probe, "/paint?size=7&seed=q")
    probe.wait(BANNER)
    text = page.inner_text("#banner")
    assert text.startswith("Size (pixels across): must be between 16 and 256, got 7;"), text
    assert page.input_value("#size") == "200" and page.input_value("#seed") == "q"


def test_your_own_picture_by_file_or_drop_and_bad_files_named(make_page):
    probe = make_page(1280, 900)
    page = _open(probe)
    assert page.is_hidden("#own-note")
    stripes = np.zeros((90, 160, 3), dtype=np.uint8)
    stripes[:, ::20] = (255, 255, 0)
    page.set_input_files("#file", files=[{"name": "stripes.png", "mimeType": "image/png",
                                          "buffer": _png(stripes)}])
    probe.wait("document.getElementById('drop').dataset.source === 'own'")
    assert page.is_visible("#own-note")
    assert page.inner_text("#picture-size") == "64 × 36 px"  # shrunk to the size, shape kept
    assert "picture=flower" in page.url  # the link names the gallery picture, as the note says
    # The menu says so too: the link's flower is not "chosen" while the stripes are painted.
    assert page.input_value("#picture") == ""
    assert page.inner_text("#picture option[data-own]") == "Your picture: stripes.png"

    # A file dropped on the page.
    red = _png(np.full((50, 50, 3), (200, 0, 0), dtype=np.uint8))
    page.evaluate("""(b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'red.png', { type: 'image/png' }));
      document.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, cancelable: true }));
    }""", base64.b64encode(red).decode())
    probe.wait("document.getElementById('picture-size').textContent === '50 × 50 px'")  # never enlarged
    assert page.is_hidden("#drop-veil")

    # Not a picture: named by the server, nothing changes.
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                          "buffer": b"just some words"}])
    probe.wait(BANNER)
    assert page.inner_text("#banner").startswith("Picture: this file is not a picture")
    assert page.inner_text("#picture-size") == "50 × 50 px"
    # Too large: said by the page before anything is sent.
    page.set_input_files("#file", files=[{"name": "big.png", "mimeType": "image/png",
                                          "buffer": b"\0" * 8_100_000}])
    probe.wait("document.getElementById('banner').textContent.includes('8.1 MB')")
    assert "up to 8 MB" in page.inner_text("#banner")
    # Choosing a gallery picture, even the link's own, lets the own one go.
    page.select_option("#picture", "flower")
    probe.wait("document.getElementById('drop').dataset.source === 'gallery'")
    assert page.is_hidden("#own-note") and page.is_hidden("#banner")
    assert page.locator("#picture option[data-own]").count() == 0
    assert page.input_value("#picture") == "flower"
    assert probe.console_errors == []


def test_the_page_reads_in_chinese_fits_a_phone_and_passes_axe_core(make_page, artifacts):
    from axe_playwright_python.sync_playwright import Axe

    probe = make_page(390, 844, touch=True)
    page = _open(probe, LINK + "&lang=zh")
    zh = catalogue("zh")
    assert page.inner_text("#h-pictures") == zh["paint.picturesTitle"]
    assert zh["paint.picture.flower"] in page.inner_text("#picture")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("#play")
    probe.wait(f"{UPDATES} > 200")
    page.click("#play")
    probe.wait("document.body.dataset.state === 'paused'")
    probe.drawn()
    page.screenshot(path=str(artifacts / "paint-lab-390x844.png"), full_page=True)
    sizes = probe.js("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1] == 390, sizes
    painted = page.locator("#painted").bounding_box()
    assert painted["x"] + painted["width"] <= 390 and painted["width"] > 150
    assert painted["y"] + painted["height"] < 844 and page.is_hidden("#fourier")  # folded away
    assert page.inner_text("#settings > summary") == zh["lab.settings"]  # not the agent's
    assert page.is_hidden(".drop-hint")  # a phone has nothing to drop
    page.click("#settings > summary")
    assert page.is_visible("#fourier")
    # A live error names its setting with the page's colon, as link warnings do.
    page.fill("#layers", "0")
    page.press("#layers", "Enter")
    probe.wait("!document.getElementById('banner').hidden")
    assert page.inner_text("#banner").startswith(zh["rl.param.layers"] + "：")
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    assert probe.console_errors == []


def test_a_link_too_long_says_so_in_the_pages_language_and_no_picture_looks_broken(make_page):
    probe = make_page(1024, 800)
    page = probe.page
    # Before any picture arrives, an image without a source is not drawn (no broken icon).
    page.goto(probe.server.url + "/paint?size=32&seed=" + "a" * 5000 + "&lang=zh")
    hidden = page.evaluate("""() => {
      const img = document.createElement('img');
      img.className = 'paint-img';
      document.querySelector('.paint-fig').append(img);
      return getComputedStyle(img).visibility;
    }""")
    assert hidden == "hidden"
    probe.wait(f"{FRAMES} > 0")
    probe.wait(BANNER)
    text = page.inner_text("#banner")
    assert text.startswith("此链接太长，无法读取（5013 个字符；最多 4000 个字符）"), text
    assert page.input_value("#size") == "200"


def test_every_key_the_painting_lab_uses_is_in_every_catalogue():
    code = (ROOT / "frontend/static/paint/main.js").read_text(encoding="utf-8")
    html = (ROOT / "frontend/templates/paint.html").read_text(encoding="utf-8")
    used = set(re.findall(r"""["'`]((?:paint|rl|ui|lab|seq|param|choice)\.[\w.]+)["'`]""",
                          code + html))
    used |= {f"paint.picture.{p}" for p in ("china", "flower")}
    assert {"paint.chart.updates", "paint.picturesTitle", "paint.tooLarge"} <= used
    for lang in LANGS:
        texts = catalogue(lang)
        assert sorted(k for k in used if k not in texts) == [], lang
