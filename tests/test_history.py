"""A run's history in its link (`playground_models/history.py`): the live changes are recorded
with the step they took effect at, the link carries them (`h`) and may name an epoch to open at
(`at`), and opening it replays the run to the same numbers, bit for bit — in the engine, in
`netplay run` and over the socket."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models import history
from playground_models.experiment import ConfigError, Experiment
from playground_models.headless import run_epochs
from playground_models.trainer import Trainer
from playground_models.urlcodec import parse, run_query, serialize

BASE = Experiment(dataset="spiral", networkShape=(6, 4), numSamples=200)


def flat(t: Trainer) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in t.parameters()])


def a_class(t: Trainer) -> list[dict]:
    """A teacher's run: every kind of live change, with training between; metrics per epoch."""
    seen = []

    def train(steps: int) -> None:
        while steps > 0:
            before = t.epoch
            steps -= t.train_steps(steps, stop_at_epoch_end=True)
            if t.epoch > before:
                seen.append(t.metrics())

    train(130)
    t.update(t.experiment.replace(learningRate=0.1))
    train(400)
    t.set_weight(1, 2, 3, 0.75)
    train(33)
    t.update(t.experiment.replace(regularization="L1", regularizationRate=0.003,
                                  points=((1.0, 2.0, 1.0), (-2.5, 0.5, 0.0)), removed=(4, 9)))
    train(250)
    t.set_bias(0, 1, -0.5)
    t.update(t.experiment.replace(batchSize=7, optimizer="adam", learningRate=0.01, dropout=0.1))
    train(301)
    t.update(t.experiment.replace(schedule="step", lrStepEpochs=5, showTestData=True))
    train(200)
    return seen


@pytest.mark.parametrize("backend", [None, "reference"])
def test_a_link_replays_a_run_with_every_kind_of_change_bit_for_bit(backend):
    teacher = Trainer(BASE, backend=backend)
    a_class(teacher)
    assert [c[0] for c in teacher.history] == ["set", "w", "set", "b", "set", "set"]
    query, carried = run_query(teacher)
    assert carried == {"changes": 6, "carried": 6, "at": None}
    state = parse(query, strict=True)
    assert state.experiment == teacher.experiment  # the link shows the settings now
    assert state.run_start() == BASE  # and holds where they started
    student = Trainer(state.run_start(), backend=backend)
    assert history.replay(student, state.history) == 6
    assert student.history == teacher.history and student.experiment == teacher.experiment
    student.train_steps(teacher.steps - student.steps)
    np.testing.assert_array_equal(flat(student), flat(teacher))
    assert student.metrics() == teacher.metrics()


def test_at_opens_the_run_at_an_epoch_with_that_epochs_numbers():
    teacher = Trainer(BASE)
    seen = a_class(teacher)
    query, _ = run_query(teacher)
    for epoch in (3, 14, len(seen)):
        state = parse(f"{query}&at={epoch}", strict=True)
        student = Trainer(state.run_start())
        history.replay(student, state.history, at_epoch=state.at)
        assert student.epoch == epoch
        assert student.metrics() == seen[epoch - 1]


def test_netplay_run_makes_each_change_when_its_step_comes():
    teacher = Trainer(BASE)
    seen = a_class(teacher)
    query, _ = run_query(teacher)
    records = list(run_epochs(query, len(seen)))
    for record, want in zip(records, seen, strict=True):
        assert record["train_loss"] == round(want["train_loss"], 6)
        assert record["test_acc"] == round(want["test_acc"], 6)


def test_a_rebuild_or_a_reset_starts_a_new_history_and_old_links_stay_as_they_were():
    t = Trainer(BASE)
    t.train_steps(50)
    t.update(t.experiment.replace(learningRate=0.3))
    assert run_query(t)[0].endswith("&h=" + history.encode(t.history, {"learningRate": 0.03}))
    t.update(t.experiment.replace(networkShape=(3,)))  # a rebuild: a new run from its seed
    assert t.history == [] and t.base == t.experiment
    assert run_query(t)[0] == serialize(t.experiment)  # no history: the link of old
    t.train_steps(20)
    t.update(t.experiment.replace(learningRate=0.01))
    t.reset()
    assert t.history == [] and run_query(t)[0] == serialize(t.experiment)


def test_a_history_too_long_for_a_link_carries_what_fits_and_opens_before_the_rest():
    teacher = Trainer(BASE.replace(numSamples=100))
    seen = {}
    for i in range(3000):  # a learning rate moved by hand every update or two
        teacher.train_steps(2, stop_at_epoch_end=True)
        if teacher.at_epoch_start:
            seen[teacher.epoch] = teacher.metrics()
        teacher.update(teacher.experiment.replace(learningRate=0.01 + (i % 97) * 0.001))
    query, carried = run_query(teacher)
    assert 300 < carried["carried"] < carried["changes"] == 3000
    assert len(query.split("&h=")[1].split("&")[0]) <= history.MAX_CHARS
    at = carried["at"]
    assert query.endswith(f"&at={at}") and 0 < at < teacher.epoch
    state = parse(query, strict=True)
    student = Trainer(state.run_start())
    history.replay(student, state.history, at_epoch=state.at)
    assert student.epoch == at and student.metrics() == seen[at]


@pytest.mark.parametrize(("h", "why"), [
    ("v1.abc", "does not decode"),
    ("v2.x", "must start with 'v1.'"),
    (history.encode([], {"networkShape": [3]}), "may only hold live settings"),
    (history.encode([], {"learningRate": -1}), "its start cannot be"),
    (history.encode([["set", 5, {"networkShape": [3]}]]), "no live setting"),
    (history.encode([["set", 9, {"learningRate": 0.1}], ["set", 3, {"learningRate": 0.2}]]),
     "before the one before it"),
    (history.encode([["w", 2, 0, 0]]), "not a weight or bias edit"),
    (history.encode([["x", 2, {}]]), "not a change"),
    (history.encode([["set", -1, {"learningRate": 0.1}]]), "whole number"),
])
def test_a_damaged_history_is_a_named_error(h, why):
    with pytest.raises(ConfigError, match=why) as err:
        parse(f"h={h}", strict=True)
    assert err.value.key == "h"


def test_a_change_that_cannot_be_made_is_named_when_replayed():
    state = parse("h=" + history.encode([["w", 3, 7, 0, 0, 1.0]]), strict=True)
    with pytest.raises(ConfigError, match="change 1 cannot be made: .*layer") as err:
        history.replay(Trainer(state.run_start()), state.history)
    assert err.value.key == "h"
    with pytest.raises(ConfigError, match="learningRate"):
        history.replay(Trainer(BASE), [["set", 1, {"learningRate": -4}]])


# --- over the socket ------------------------------------------------------------------------


def test_a_second_page_opening_the_link_trains_on_to_the_same_numbers(open_session):
    teacher = open_session()
    teacher.start(dataset="xor", networkShape=[5])
    teacher.send(type="step", n=3)
    teacher.until("frame")
    teacher.send(type="update", changes={"learningRate": 0.3, "regularization": "L2",
                                         "regularizationRate": 0.01})
    config = teacher.until("config")
    assert config["history"] == {"changes": 1, "carried": 1, "at": None} and "&h=v1." in config["query"]
    teacher.send(type="set_weight", layer=1, to=0, **{"from": 2}, value=1.5)
    teacher.until("frame")
    teacher.send(type="step", n=4)
    mine = teacher.until("frame")
    while mine["epoch"] < 7:
        mine = teacher.until("frame")
    teacher.send(type="snapshot")
    link = teacher.until("frame")
    # The query the page would share now: the run's start, its two changes, and where it is.
    teacher.send(type="update", changes={"showTestData": True})
    query = teacher.until("config")["query"]
    student = open_session()
    student.send(type="start", url=f"{query}&at=7")
    # Opened at epoch 7: the change made after epoch 7's frame is not made (the run forks there).
    config = student.until("config")
    assert config["history"]["changes"] == 2 and config["config"]["showTestData"] is False
    frame = student.until("frame")
    assert frame["epoch"] == 7
    np.testing.assert_array_equal(frame["_arrays"]["weights"], link["_arrays"]["weights"])
    np.testing.assert_array_equal(frame["_arrays"]["biases"], link["_arrays"]["biases"])


def test_a_link_whose_replay_is_too_long_opens_at_its_start_naming_it(make_client, open_session):
    s = open_session(make_client(max_replay_updates=1000))
    s.send(type="start", url="networkShape=3&at=500")
    config = s.until("config")
    assert [e["field"] for e in config["errors"]] == ["at"]
    assert "replays at most 1,000" in config["errors"][0]["message"]
    assert s.until("frame")["epoch"] == 0


def test_a_damaged_history_and_a_bad_epoch_are_named_in_the_pages_language(open_session):
    s = open_session()
    s.send(type="start", url="lang=zh&h=v1.AAAA&at=x")
    errors = {e["field"]: e["message"] for e in s.until("config")["errors"]}
    assert errors == {"h": "h: 已损坏：无法解码", "at": "at: 必须是 0 到 1,000,000 之间的轮次，实际为 'x'"}
    s.send(type="start", url="lang=zh&networkShape=3&h=" + history.encode([["w", 0, 5, 0, 0, 1.0]]))
    (error,) = s.until("config")["errors"]
    assert error["message"].startswith("h: 第 1 个更改无法执行：layer") and "layer" in error["message"]
