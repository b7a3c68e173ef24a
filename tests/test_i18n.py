"""One i18n convention: every text a page shows is a key in the message catalogues.

Page code reads keys with `t()`, templates with `tx`/`ta`/`msg`, and a server sentence the page
shows travels with its key. These tests read the page's sources and the rendered pages: every
key used exists in every catalogue, and no shown text is written outside them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from frontend import STATIC, TEMPLATES
from playground_models.imagelab import data as labdata
from playground_models.imagelab.layers import analyze, parse_net
from playground_models.imagelab.presets import PRESETS
from playground_models.messages import LANGS, catalogue, message
from playground_models.params import BY_NAME, PARAMS, Kind

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(STATIC.rglob("*.js"))
PAGES = sorted(TEMPLATES.glob("*.html"))
FAMILIES = r"(?:ui|lab|param|choice|lesson|group|tile|seq|rl|paint|ae)"
# A quoted key anywhere in page code: `t('ui.play')`, `t(cond ? 'ui.a' : 'ui.b')`, `{ key: 'ui.x' }`.
QUOTED_KEY = re.compile(rf"""(['"`])({FAMILIES}\.[\w.\-]+)\1""")
# `{% set reset_key = 'rl.resetTitle' %}`: a key a lab hands to lab_base.html.
TEMPLATE_KEY = re.compile(
    r"""(?:msg|tx)\('([^']+)'\)|ta\('[\w-]+', '([^']+)'\)|data-i18n(?:-[\w-]+)?="([^"]+)\"|"""
    r"""\{% set \w+_key = '([^']+)' %\}"""
)


def _code(path: Path) -> str:
    """A script without its comments (a comment may name a key pattern like `param.<name>`)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return re.sub(r"(^|\s)//.*$", r"\1", text, flags=re.MULTILINE)


def _keys_in_scripts() -> dict[str, str]:
    return {m.group(2): p.name for p in SCRIPTS for m in QUOTED_KEY.finditer(_code(p))}


def _keys_in_templates() -> dict[str, str]:
    found = {}
    for page in PAGES:
        for m in TEMPLATE_KEY.finditer(page.read_text(encoding="utf-8")):
            found[next(g for g in m.groups() if g)] = page.name
    return found


def test_the_scan_sees_the_keys_the_pages_use():
    # The scanners themselves: they find known keys, so an empty scan cannot pass silently.
    scripts, templates = _keys_in_scripts(), _keys_in_templates()
    assert {"ui.linkCopied", "ui.hiddenLayer1", "ui.hiddenLayersN", "lab.buildTrain"} <= set(scripts)
    assert {"ui.title", "ui.copyLinkTitle", "lab.calcW", "ui.speedAuto"} <= set(templates)
    assert len(scripts) > 120 and len(templates) > 80


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_the_page_code_uses_exists_in_every_catalogue(lang):
    texts = catalogue(lang)
    missing = {k: where for k, where in _keys_in_scripts().items() if k not in texts}
    assert missing == {}


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_the_templates_use_exists_in_every_catalogue(lang):
    texts = catalogue(lang)
    missing = {k: where for k, where in _keys_in_templates().items() if k not in texts}
    assert missing == {}


@pytest.mark.parametrize("lang", LANGS)
def test_keys_built_from_values_exist_for_every_value(lang):
    # Keys the page builds at run time (`tile.${choice}`, `lab.presetOf.${name}`, ...).
    texts = catalogue(lang)
    wanted = [f"param.{p.name}.{part}" for p in PARAMS for part in ("label", "help")]
    wanted += [f"choice.{p.name}.{c}" for p in PARAMS if p.kind is Kind.CHOICE and p.name != "lang"
               for c in p.choices]
    wanted += [f"tile.{c}" for name in ("dataset", "regDataset") for c in BY_NAME[name].choices]
    wanted += [f"lab.presetOf.{name}" for name in PRESETS]
    for name in labdata.DATASETS:
        wanted += [f"lab.data.{name}", f"lab.dataTitle.{name}", f"lab.creditOf.{name}"]
    assert [k for k in wanted if k not in texts] == []


def test_no_template_writes_a_text_of_its_own():
    # Text between tags must come from a key; only the brand name is the same in every language.
    for page in PAGES:
        html = page.read_text(encoding="utf-8")
        html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL)
        html = re.sub(r"\{#.*?#\}|\{%.*?%\}", "", html, flags=re.DOTALL)  # template logic
        texts = [t.strip() for t in re.findall(r">([^<]*)<", html)]
        own = [t for t in texts if re.search(r"[A-Za-z]{2,}", re.sub(r"\{\{.*?\}\}", "", t))
               and t not in ("netplay", "relu", "tanh")]
        assert own == [], page.name
        attrs = re.findall(r'\s(title|aria-label|placeholder|content)="([^"{]*[A-Za-z]{3,}[^"]*)"', html)
        assert [a for a in attrs if not a[1].startswith(("width=", "text/"))] == [], page.name


def test_no_page_code_writes_a_catalogue_text_itself():
    # A sentence of the catalogue written as a literal would stay English in every language.
    english = {v for v in catalogue("en").values() if re.search(r"[A-Za-z]{3,} [A-Za-z]{2,}", v)}
    found = []
    for path in SCRIPTS:
        for m in re.finditer(r"""(['"`])((?:(?!\1).)+)\1""", _code(path)):
            if m.group(2) in english:
                found.append((path.name, m.group(2)))
    assert found == []


@pytest.mark.parametrize("path", ["/", "/compare?runs=2&r2.activation=sigmoid", "/lab"])
def test_a_page_asked_for_in_chinese_is_written_in_chinese(client, path):
    sep = "&" if "?" in path else "?"
    zh, en = client.get(f"{path}{sep}lang=zh").text, client.get(path).text
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert catalogue("zh")["ui.copyLink"] in zh and catalogue("en")["ui.copyLink"] not in zh
    assert catalogue("en")["ui.copyLink"] in en
    # Marked with its key, so that a `#lang=zh` link (read by the page) is translated the same.
    assert '<span data-i18n="ui.copyLink">' in zh


def test_an_unknown_language_renders_english(client):
    page = client.get("/?lang=klingon").text
    assert '<html lang="en">' in page and catalogue("en")["ui.tagline"] in page


def test_a_layer_note_goes_with_its_key_so_the_page_can_say_it_in_chinese():
    spec = parse_net("in10x10x1-conv4k3s2-maxpool3-fc10")
    info = analyze(spec, (1, 10, 10))
    conv, pool = info[1], info[2]
    assert conv.note and conv.messages["note"]["key"] == "lab.note.stride"
    note = conv.messages["note"]
    # The English is the catalogue's, filled with the values sent.
    assert conv.note == message(note["key"], "en", **note["values"])
    assert conv.note == "stride 2 does not tile the input: the last 1 pixel(s) are skipped"
    assert re.search(r"[一-鿿]", message(note["key"], "zh", **note["values"]))
    assert pool.messages["formula"]["key"] == "lab.formula.pool"
    assert conv.to_json()["messages"]["note"] == note


# --- what the server says, in the page's language ------------------------------------------------

CHINESE = re.compile(r"[一-鿿]")


def test_the_2d_server_names_bad_link_values_and_unknown_keys_in_chinese(open_session):
    s = open_session()
    s.send(type="start", url="lang=zh&learningRate=abc&noise=999&bogus=1")
    config = s.next()
    assert [e["field"] for e in config["errors"]] == ["learningRate", "noise"]
    number = config["errors"][0]["message"]
    assert number == "learningRate: " + message("err.number", "zh", got="'abc'")
    assert CHINESE.search(config["errors"][1]["message"]) and "999" in config["errors"][1]["message"]
    assert config["warnings"] == [message("warn.unknownKey", "zh", key="'bogus'")]
    # A later bad change is said in the session's language too.
    s.send(type="update", changes={"activation": "swish"})
    error = s.until("error")
    assert error["field"] == "activation" and CHINESE.search(error["message"])
    assert "swish" in error["message"]


def test_the_2d_server_keeps_english_for_english_pages(open_session):
    s = open_session()
    s.send(type="start", url="learningRate=abc&bogus=1")
    config = s.next()
    assert config["errors"][0]["message"] == "learningRate: must be a number, got 'abc'"
    assert config["warnings"] == ["unknown key 'bogus', ignored"]


def test_the_image_lab_says_its_link_warnings_and_errors_in_the_page_language(client):
    from loopback import receive_lab

    def until(ws, kind):
        while (m := receive_lab(ws))["type"] != kind:
            pass
        return m

    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": "preset=mlp&learningRate=100&bogus=1", "lang": "zh"})
        warnings = until(ws, "config")["warnings"]
        assert len(warnings) == 2 and all(CHINESE.search(w) for w in warnings)
        assert warnings[0].startswith("learningRate：") and "100" in warnings[0]
        assert warnings[1] == message("lab.warn.unknownKey", "zh", key="'bogus'")
        ws.send_json({"type": "update", "changes": {"optimizer": "lion"}})
        error = until(ws, "error")
        assert error["field"] == "optimizer" and CHINESE.search(error["message"])


@pytest.mark.parametrize("link", [
    "lang=zh&networkShape=abc", "lang=zh&networkShape=100", "lang=zh&seed=%21%21",
    "lang=zh&x=false&y=false", "lang=zh&points=1,2", "lang=zh&layerActivations=relu",
    "lang=zh&data=AAAA", "lang=zh&data=v1.%21%21",
])
def test_a_bad_list_seed_or_feature_in_a_link_is_named_in_chinese(link):
    """These were said in English whatever the page's language."""
    from playground_models.urlcodec import parse

    shared = parse(link)
    (error,) = shared.errors
    assert CHINESE.search(error.in_lang("zh")), error.in_lang("zh")


def test_a_broken_comparison_and_tf_modes_unused_keys_are_named_in_chinese():
    from fastapi.testclient import TestClient

    from playground_models.urlcodec import parse
    from server.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        answer = client.post("/api/compare/parse", json={"url": "lesson=nope", "lang": "zh"})
    assert answer.status_code == 422
    assert CHINESE.search(answer.json()["error"]["message"]), answer.json()
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        for route in ("parse", "step"):  # a link too long to read, said in words
            answer = client.post(f"/api/compare/{route}",
                                 json={"url": "runs=2&seed=" + "A" * 20000, "lang": "zh"})
            assert answer.json()["error"] == {
                "code": "bad_value", "field": "url",
                "message": "此链接太长，无法读取（20,012 个字符；最多 16,384 个）"}
    from playground_models.messages import in_lang

    warnings = [in_lang(w, "zh") for w in parse("lang=zh&compat=tf&optimizer=adam").warnings]
    assert any(w.startswith("optimizer ") and CHINESE.search(w) for w in warnings), warnings


@pytest.mark.parametrize("net", ["garbage", "conv9999k5", "in999x9x1-fc10", "drop2", "fc1.5"])
def test_the_image_labs_unreadable_network_is_named_in_chinese(net):
    """These were said in English on a Chinese page, the field's own words too."""
    from playground_models.imagelab.config import parse_link
    from playground_models.messages import in_lang

    _, warnings = parse_link(f"net={net}")
    (said_zh,) = [in_lang(w, "zh") for w in warnings]
    assert said_zh.startswith("net：") and CHINESE.search(said_zh.split("；")[0]), said_zh


def test_a_hide_key_that_is_neither_true_nor_false_is_named():
    """`showTestData=maybe` was named, `learningRate_hide=maybe` silently ignored."""
    from playground_models.messages import in_lang
    from playground_models.urlcodec import parse

    shared = parse("lang=zh&learningRate_hide=maybe&noise_hide=false")
    assert not shared.hidden
    (warning,) = [in_lang(w, "zh") for w in shared.warnings]
    assert warning.startswith("learningRate_hide=maybe ") and CHINESE.search(warning), warning
