"""The lessons router: lesson menu, catalogues, compare parse and lockstep compare frames."""

from __future__ import annotations

import re

import pytest

from playground_models.compare import Comparison
from playground_models.gradients import layer_gradient_norms
from playground_models.lessons import LESSONS, lesson
from server.frames import decode
from server.lessons import grad_sampled

LINK = "runs=2&dataset=gauss&r1.loss=softmax&r2.loss=hinge"


def test_lesson_menu_and_catalogues_in_both_languages(client):
    zh = client.get("/api/lessons?lang=zh").json()
    assert zh["lang"] == "zh" and len(zh["lessons"]) == len(LESSONS) == 13
    assert zh["lessons"][0]["page_url"].startswith("/compare?runs=3&")
    assert client.get("/api/lessons?lang=xx").json()["lang"] == "en"
    assert client.get("/api/locales/zh").json()["messages"]["ui.lessons"] == "课程"
    assert client.get("/api/locales/xx").status_code == 404


def test_compare_parse_names_the_bad_key(client):
    ok = client.post("/api/compare/parse", json={"url": LINK}).json()
    assert ok["labels"] == ["loss=softmax", "loss=hinge"] and len(ok["run_urls"]) == 2
    bad = client.post("/api/compare/parse", json={"url": "runs=2&r2.dropout=2"}).json()
    assert [e["field"] for e in bad["errors"]] == ["r2.dropout"] and ok["errors"] == []
    # A link with no comparison in it is refused; its unknown keys still come back as warnings.
    none = client.post("/api/compare/parse", json={"url": "foo=bar&lesson=x"}).json()
    assert none["error"]["field"] == "runs"
    assert none["error"]["warnings"] == ["unknown key 'foo', ignored"]


def test_compare_steps_continue_or_replay_to_the_same_numbers(client):
    def step(epoch: int, epochs: int, who: str = "a") -> dict:
        r = client.post(
            "/api/compare/step", json={"url": LINK, "client": who, "epoch": epoch, "epochs": epochs}
        )
        assert r.status_code == 200
        return decode(r.content)

    header, arrays = step(0, 0)
    assert header["epoch"] == 0 and {"train0", "test1", "output0", "output1"} <= set(arrays)
    for epoch in range(0, 20, 5):
        header, arrays = step(epoch, 5)
    assert "train0" not in arrays  # the data comes once, with the first frame
    replayed, _ = step(0, 20, who="b")  # another page: trained from scratch
    reference = Comparison.from_url(LINK)
    reference.train_epochs(20)
    expected = [m["test_loss"] for m in reference.metrics()]
    assert [r["test_loss"] for r in header["runs"]] == expected
    assert [r["test_loss"] for r in replayed["runs"]] == expected
    assert all(len(r["grad_norms"]) == 3 for r in header["runs"])  # 4, 2 hidden


def test_compare_page_is_served(client):
    r = client.get("/compare?runs=2&r2.activation=sigmoid")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert ">netplay — compare runs</title>" in r.text
    # The page that reads the link and drives /api/compare/step.
    assert '<script type="module" src="/static/js/compare.js"></script>' in r.text
    assert client.get("/static/js/compare.js").status_code == 200


def _history(client, link: str, epoch: int, epochs: int, who: str) -> list[list[dict]]:
    r = client.post(
        "/api/compare/step", json={"url": link, "client": who, "epoch": epoch, "epochs": epochs}
    )
    assert r.status_code == 200
    return decode(r.content)[0]["history"]


def test_compare_history_carries_each_epochs_gradient_norms(client):
    link = lesson("vanishing-gradients").url  # run 1 sigmoid, run 2 relu; six hidden layers
    history = _history(client, link, 0, 60, "grads")
    reference = Comparison.from_url(link)
    for row in history:
        reference.train_epochs(1)
        expected = [layer_gradient_norms(t) for t in reference.trainers]
        assert [run["grad_norms"] for run in row] == expected, row[0]["epoch"]
    sigmoid, relu = history[-1]
    assert len(sigmoid["grad_norms"]) == 7  # six hidden layers and the output
    # The vanishing gradient: the sigmoid net's first layer barely gets any.
    assert sigmoid["grad_norms"][0] < relu["grad_norms"][0] / 100
    assert sigmoid["grad_norms"][0] < sigmoid["grad_norms"][-1] / 1000


def test_gradient_norms_thin_out_on_long_runs():
    sampled = [e for e in range(1, 20_001) if grad_sampled(e)]
    assert sampled[:200] == list(range(1, 201))  # every epoch at first
    assert [e for e in sampled if 400 <= e < 420] == [400, 404, 408, 412, 416]
    assert len(sampled) < 900  # about GRAD_SAMPLES per doubling over 20,000 epochs


def test_a_late_step_carries_gradient_norms_only_on_sampled_epochs(client):
    history = _history(client, LINK, 400, 8, "late")  # replayed to epoch 400, then 8 more
    assert [row[0]["epoch"] for row in history] == list(range(401, 409))
    assert [row[0]["epoch"] for row in history if "grad_norms" in row[0]] == [404, 408]
    assert all(("grad_norms" in run) == ("grad_norms" in row[0]) for row in history for run in row)


@pytest.mark.parametrize(("link", "named", "runs"), [
    ("runs=2&r2.learningRate=abc", ["r2.learningRate"], 2),
    ("runs=9&r2.activation=relu", ["runs"], 2),
    ("runs=2&r5.x=false&r2.activation=relu", ["r5"], 2),
    ("runs=3&learningRate=-1&r3.dropout=2&r2.activation=nope", None, 3),
    ("runs=2&lesson=NOPE&r2.activation=relu", ["lesson"], 2),
])
def test_a_compare_link_with_bad_parts_opens_at_defaults_and_names_them(client, link, named, runs):
    body = client.post("/api/compare/parse", json={"url": link + "&bogus=1"}).json()
    assert len(body["runs"]) == runs
    fields = [e["field"] for e in body["errors"]]
    if named is not None:
        assert fields == named
    else:
        assert sorted(fields) == ["learningRate", "r2.activation", "r3.dropout"]
    assert all(e["message"].startswith(f"{e['field']}: ") for e in body["errors"])
    assert body["warnings"] == ["unknown key 'bogus', ignored"]
    assert "bogus" not in body["url"] and "abc" not in body["url"]  # the canonical link is clean


def test_bad_compare_parts_are_named_in_the_page_language(client):
    body = client.post("/api/compare/parse",
                       json={"url": "runs=2&r2.learningRate=abc", "lang": "zh"}).json()
    assert re.search(r"[一-鿿]", body["errors"][0]["message"])


def test_a_link_that_names_no_comparison_still_says_so(client):
    bad = client.post("/api/compare/parse", json={"url": "lesson=nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "runs"


def test_a_link_of_only_a_lesson_name_opens_that_lesson(client):
    # What a teacher writes on the board: /compare?lesson=square-softmax
    for url in ("lesson=square-softmax", "?lesson=square-softmax&lang=zh"):
        got = client.post("/api/compare/parse", json={"url": url}).json()
        assert got["lesson"] == "square-softmax" and got["errors"] == []
        assert [run["loss"] for run in got["runs"]] == ["square", "softmax"]
        assert "&dataset=spiral3&" in got["url"] and "&r1.loss=square&r2.loss=softmax" in got["url"]
    # An unknown lesson, or a lesson with other keys, is read as the link it is.
    bad = client.post("/api/compare/parse", json={"url": "lesson=nope"}).json()
    assert bad["error"]["field"] == "runs"
    mixed = client.post("/api/compare/parse", json={"url": "lesson=square-softmax&seed=2"}).json()
    assert mixed["error"]["field"] == "runs"
