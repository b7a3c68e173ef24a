"""TensorFlow Playground mode, live: a `compat=tf` link opened over the socket trains on TF's
engine, and its frames carry TF Playground's own numbers (the fixtures made with TF's code, see
tests/fixtures/tfplayground/README.md): the points, the starting weights and the loss curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from playground_models.tfcompat.engine import TfRun
from playground_models.tfcompat.live import TfTrainer
from playground_models.urlcodec import parse

FIXTURES = Path(__file__).parent / "fixtures" / "tfplayground"


def _case(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _open(s, link: str) -> tuple[dict, dict, dict]:
    """Start from `link`; the config, data and first frame."""
    s.send(type="start", url=link)
    config, data, frame = s.next(), s.next(), s.next()
    assert (config["type"], data["type"], frame["type"]) == ("config", "data", "frame")
    assert s.next()["type"] == "state"
    return config, data, frame


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * abs(b)


def test_a_tf_link_opens_with_tf_points_weights_and_loss(open_session):
    case = _case("circle_l1__0.12345")
    config, data, frame = _open(open_session(), "?compat=tf&" + case["hash"])
    assert config["config"]["compat"] == "tf" and "compat=tf" in config["query"]
    assert not [w for w in config["warnings"] if "TensorFlow" in w]
    assert config["model"]["path"] == frame["path"] == "tf"
    assert config["model"]["loss"] == frame["metrics"]["loss"] == "square"
    assert config["model"]["layers"] == case["shape"]
    # TF's first training points (x, y, label ±1), drawn as classes 0/1.
    train = data["_arrays"]["train"]
    head = np.array(case["train_head"])
    np.testing.assert_allclose(train[: len(head), :2], head[:, :2], rtol=1e-6)
    np.testing.assert_array_equal(train[: len(head), 2], (head[:, 2] > 0).astype(np.float32))
    np.testing.assert_allclose(frame["_arrays"]["weights"], case["initial"]["weights"], rtol=1e-6)
    np.testing.assert_allclose(frame["_arrays"]["biases"], case["initial"]["biases"], rtol=1e-6)
    assert _close(frame["metrics"]["train_loss"], case["loss_train"][0])
    assert _close(frame["metrics"]["test_loss"], case["loss_test"][0])


@pytest.mark.parametrize("name", ["circle_l1__0.98765", "reg_plane__0.12345",
                                  "xor_l2_batch7__0.12345", "circle_hide_x__0.12345"])
def test_stepping_a_tf_link_follows_tf_loss_curve(open_session, name):
    case = _case(name)
    s = open_session()
    _open(s, "?compat=tf&" + case["hash"])
    for n, epoch in ((1, 1), (4, 5), (25, 30)):
        s.send(type="step", n=n)
        frame = s.until("frame")
        assert frame["epoch"] == epoch
        assert _close(frame["metrics"]["train_loss"], case["loss_train"][epoch]), frame["metrics"]
        assert _close(frame["metrics"]["test_loss"], case["loss_test"][epoch])


def test_playing_a_tf_link_shows_tf_losses_at_every_frame(open_session):
    case = _case("circle_default__0.12345")
    s = open_session()
    _open(s, "?compat=tf&" + case["hash"])
    s.send(type="play")
    seen = 0
    while seen < 5:
        frame = s.until("frame")
        e = frame["epoch"]
        if e > 100 or "metrics" in frame["reduced"]:
            break
        assert _close(frame["metrics"]["train_loss"], case["loss_train"][e]), e
        seen += 1
    s.send(type="pause")
    assert seen >= 3


def test_l1_prunes_links_and_the_frame_counts_them():
    state = parse("?compat=tf&dataset=circle&regularization=L1&regularizationRate=0.01&seed=7")
    live = TfTrainer(state.experiment, state.hidden)
    live.train_epochs(100)
    m = live.metrics()
    assert m["dead_weights"] > 0 and m["zero_weights"] >= m["dead_weights"]
    assert m["weights"] == 2 * 4 + 4 * 2 + 2 * 1
    snap = live.snapshot(grid_size=50, neuron_grid=10)
    zeros = sum(int((w == 0).sum()) for w in snap.weights)
    assert zeros == m["zero_weights"]


def test_updates_in_chunks_give_the_numbers_of_one_epoch_at_a_time():
    state = parse("?compat=tf&dataset=xor&batchSize=7&seed=abc")
    live = TfTrainer(state.experiment, state.hidden)
    per_epoch = live.updates_per_epoch
    assert per_epoch == -(-250 // 7)
    assert live.train_steps(3) == per_epoch  # never less than an epoch
    assert live.train_steps(per_epoch * 9 + 2) == per_epoch * 9
    assert live.train_steps(10**6, stop_at_epoch_end=True) == per_epoch
    alone = TfRun(live.cfg)
    for _ in range(11):
        alone.train_epoch()
    assert live.epoch == 11 and live.run.loss_train == alone.loss_train


def test_the_learning_rate_is_live_and_other_tf_keys_reset_as_tf_does(open_session):
    s = open_session()
    _open(s, "?compat=tf&dataset=gauss&seed=1")
    s.send(type="step", n=3)
    s.until("frame")
    s.send(type="update", changes={"learningRate": 0.1})
    config = s.until("config")
    assert config["effects"] == {"learningRate": "live"}
    s.send(type="snapshot")
    assert s.until("frame")["epoch"] == 3  # weights kept
    s.send(type="update", changes={"regularizationRate": 0.01, "regularization": "L2"})
    config = s.until("config")
    assert set(config["effects"].values()) == {"rebuild"}
    assert s.until("frame")["epoch"] == 0
    assert config["config"]["compat"] == "tf"


def test_a_change_tf_cannot_express_leaves_the_mode_and_says_so(open_session):
    s = open_session()
    _open(s, "?compat=tf&dataset=circle&seed=1")
    s.send(type="update", changes={"optimizer": "adam"})
    config = s.until("config")
    assert config["config"]["compat"] == "netplay" and "compat=tf" not in config["query"]
    assert any("left TensorFlow Playground mode: optimizer" in w for w in config["warnings"])
    frame = s.until("frame")
    assert frame["path"] != "tf" and frame["metrics"].get("loss") != "square"


def test_a_tf_link_value_tf_cannot_run_opens_at_its_default_naming_the_key(open_session):
    config, _, frame = _open(open_session(), "?compat=tf&dataset=moons&activation=elu&seed=1")
    assert config["config"]["compat"] == "tf" and frame["path"] == "tf"
    assert (config["config"]["dataset"], config["config"]["activation"]) == ("circle", "tanh")
    notes = [w for w in config["warnings"] if "opens at its default" in w]
    assert len(notes) == 2
    assert notes[0].startswith("dataset: 'moons' is not a TensorFlow Playground dataset")
    assert notes[1].startswith("activation: 'elu' is not a TensorFlow Playground activation")
    # The same numbers as the link written with those defaults.
    _, _, plain = _open(open_session(), "?compat=tf&seed=1")
    assert frame["metrics"]["train_loss"] == plain["metrics"]["train_loss"]


def test_edits_reach_tf_weights_and_bad_ones_are_named(open_session):
    s = open_session()
    _open(s, "?compat=tf&dataset=circle&seed=1")
    s.send(type="set_weight", layer=1, to=0, **{"from": 3}, value=-0.25)
    weights = s.until("frame")["_arrays"]["weights"]
    assert weights[2 * 4 + 3] == np.float32(-0.25)
    s.send(type="set_bias", layer=2, to=1, value=0.5)
    error = s.until("error")
    assert error["field"] == "to"


def test_the_drawn_boundary_is_tf_network_output_on_the_grid():
    from playground_models.grid import grid_points

    state = parse("?compat=tf&dataset=xor&xTimesY=true&seed=9")
    live = TfTrainer(state.experiment, state.hidden)
    live.train_epochs(20)
    snap = live.snapshot(grid_size=40, neuron_grid=20)
    cells = grid_points(40)  # row 0 at the top
    x = np.stack([cells[:, 0], cells[:, 1], cells[:, 0] * cells[:, 1]], axis=1)
    np.testing.assert_allclose(snap.output.ravel(), np.clip(live.run.output(x), -1, 1), atol=1e-6)
    # inputs (3), then 4 + 2 hidden neurons, each a 20×20 map
    assert snap.neurons.shape == (3 + 4 + 2, 20, 20)
