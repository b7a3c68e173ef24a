"""The lessons router: lesson menu, catalogues, compare parse and lockstep compare frames."""

from __future__ import annotations

from playground_models.compare import Comparison
from server.frames import decode

LINK = "runs=2&dataset=gauss&r1.loss=softmax&r2.loss=hinge"


def test_lesson_menu_and_catalogues_in_both_languages(client):
    zh = client.get("/api/lessons?lang=zh").json()
    assert zh["lang"] == "zh" and len(zh["lessons"]) == 9
    assert zh["lessons"][0]["page_url"].startswith("/compare?runs=3&")
    assert client.get("/api/lessons?lang=xx").json()["lang"] == "en"
    assert client.get("/api/locales/zh").json()["messages"]["ui.lessons"] == "课程"
    assert client.get("/api/locales/xx").status_code == 404


def test_compare_parse_names_the_bad_key(client):
    ok = client.post("/api/compare/parse", json={"url": LINK}).json()
    assert ok["labels"] == ["loss=softmax", "loss=hinge"] and len(ok["run_urls"]) == 2
    bad = client.post("/api/compare/parse", json={"url": "runs=2&r2.dropout=2"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "r2.dropout"


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
    r = client.get("/compare")
    assert r.status_code in (200, 503)
