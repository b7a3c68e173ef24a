"""Every lesson parses, is translated, and shows the effect its text claims when trained.

The effects are measured on each lesson's own link with the engine's real trainer, at the
lesson's own epoch count, so a change of engine or link that breaks a lesson's story fails here.
"""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground_models.compare import Comparison
from playground_models.gradients import layer_gradient_norms
from playground_models.knn import knn_accuracy
from playground_models.lessons import LESSONS, check_lesson, lesson
from playground_models.messages import LANGS, LOCALES, catalogue
from playground_models.params import PARAMS, Kind
from playground_models.trainer import Trainer
from playground_models.urlcodec import parse

Curves = list[list[dict]]  # per run, per epoch: metrics


@cache
def trained(lesson_id: str) -> tuple[Curves, Comparison]:
    """Train a compare lesson for its epochs; per-run metrics after every epoch."""
    item = lesson(lesson_id)
    comparison = Comparison(item.spec())
    curves: Curves = [[] for _ in comparison.trainers]
    for _ in range(item.epochs):
        comparison.train_epochs(1)
        for run, m in zip(curves, comparison.metrics(), strict=True):
            run.append(m)
    return curves, comparison


def final(curves: Curves, key: str) -> list[float]:
    return [run[-1][key] for run in curves]


def gaps(curves: Curves) -> list[float]:
    return [run[-1]["test_loss"] - run[-1]["train_loss"] for run in curves]


# --- the catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("item", LESSONS, ids=[x.id for x in LESSONS])
def test_lesson_link_parses_strictly_without_warnings(item):
    check_lesson(item)
    for url in item.run_urls():
        assert parse(url, strict=True).warnings == []
    if item.is_compare:
        assert item.spec().warnings == []
        assert 2 <= len(item.run_urls()) <= 6


@pytest.mark.parametrize("lang", LANGS)
def test_every_lesson_has_title_and_text_in_each_language(lang):
    for item in LESSONS:
        data = item.to_json(lang)
        assert data["title"] != f"lesson.{item.id}.title"
        sentences = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", data["text"].strip())
        assert 2 <= len([s for s in sentences if s]) <= 4, (item.id, lang)


def test_locale_catalogues_have_the_same_keys():
    assert set(catalogue("en")) == set(catalogue("zh"))
    on_disk = sorted(p.stem for p in LOCALES.glob("*.json"))
    assert on_disk == sorted(LANGS)


def test_every_parameter_and_choice_has_a_label_and_help():
    en = catalogue("en")
    for p in PARAMS:
        # The table has no texts of its own: its labels and help are these.
        assert p.label == en[f"param.{p.name}.label"] != ""
        assert p.help == en[f"param.{p.name}.help"] != ""
        if p.kind is Kind.CHOICE:
            for choice in p.choices:
                assert f"choice.{p.name}.{choice}" in en


def _is_symbolic(text: str) -> bool:
    # Math like "X₁²" or "sin(X₁)" reads the same in every language; so do bare placeholders.
    return re.search(r"[A-Za-z]{2,}", re.sub(r"{\w+}", "", text).replace("sin", "")) is None


def test_no_chinese_text_is_left_in_english():
    en, zh = catalogue("en"), catalogue("zh")
    same = [k for k in en if en[k] == zh[k] and not _is_symbolic(en[k])]
    assert same == []
    no_chinese = [k for k in zh if not _is_symbolic(zh[k]) and not re.search(r"[一-鿿]", zh[k])]
    assert no_chinese == []


def test_placeholders_match_between_languages():
    en, zh = catalogue("en"), catalogue("zh")
    for key in en:
        assert set(re.findall(r"{\w+}", en[key])) == set(re.findall(r"{\w+}", zh[key])), key


def test_catalogues_are_valid_utf8_json_objects_of_strings():
    for lang in LANGS:
        data = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(isinstance(v, str) and v.strip() for v in data.values())


# --- gradient norms, checked against an independent reference ------------------------------------


def test_layer_gradient_norms_match_torch_nn():
    trainer = Trainer(
        parse("networkShape=5,3&activation=tanh&dataset=spiral", strict=True).experiment
    )
    trainer.train_epochs(3)
    params = [p.clone() for p in trainer.parameters()]
    layers = []
    for i in range(0, len(params), 2):
        linear = torch.nn.Linear(params[i].shape[1], params[i].shape[0])
        with torch.no_grad():
            linear.weight.copy_(params[i])
            linear.bias.copy_(params[i + 1])
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1])
    F.cross_entropy(model(trainer.x_train), trainer.y_train).backward()
    expected = [float(m.weight.grad.norm()) for m in model if isinstance(m, torch.nn.Linear)]
    assert layer_gradient_norms(trainer) == pytest.approx(expected, rel=1e-5)


# --- each lesson's claim, measured ----------------------------------------------------------


def test_neurons_lesson_more_neurons_fit_more_and_overfit_more():
    curves, _ = trained("neurons")
    train = final(curves, "train_loss")
    gap = gaps(curves)
    assert train[0] > 0.3 > train[1] > train[2]  # 3 underfits; 20 fits the training set best
    assert gap[0] < gap[1] < gap[2] and gap[2] > 0.2
    test20 = [m["test_loss"] for m in curves[2]]
    assert test20[-1] > 1.5 * min(test20)  # the 20-neuron test loss climbs back up


def test_regularization_lesson_gap_falls_as_lambda_rises():
    curves, _ = trained("regularization")
    gap = gaps(curves)
    assert gap[0] > gap[1] > gap[2] and gap[0] > 2 * gap[2]
    train = final(curves, "train_loss")
    assert train[0] < train[1] < train[2]


def test_l1_lesson_l1_leaves_a_sparse_net_and_l2_small_nonzero_weights():
    curves, comparison = trained("l1-sparsity")
    assert min(final(curves, "test_acc")) >= 0.95  # both learn the circle
    l1, l2 = ([p.detach() for p in t.parameters()[0::2]] for t in comparison.trainers)
    total = sum(w.numel() for w in l1)
    assert sum(int((w == 0).sum()) for w in l1) > total // 2  # most weights exactly 0
    assert sum(int((w == 0).sum()) for w in l2) == 0
    # Inputs x, y, x², y², xy, sin x, sin y: L1 cuts all but x₁² and x₂², which the circle needs.
    cut = [bool((l1[0][:, j] == 0).all()) for j in range(7)]
    assert cut == [True, True, False, False, True, True, True]
    assert max(float(w.abs().max()) for w in l2) < max(float(w.abs().max()) for w in l1)


def test_dropout_lesson_narrows_the_gap_and_lowers_test_loss():
    curves, _ = trained("dropout")
    gap = gaps(curves)
    assert gap[1] < 0.5 * gap[0]
    assert final(curves, "test_loss")[1] < final(curves, "test_loss")[0]
    assert final(curves, "train_loss")[1] > final(curves, "train_loss")[0]


def test_vanishing_gradients_lesson_sigmoid_first_layer_gradient_far_below_relu():
    item = lesson("vanishing-gradients")
    comparison = Comparison(item.spec())
    sigmoid, relu = comparison.trainers
    for _ in range(3):  # at the start, and after 10 and 20 epochs
        s, r = layer_gradient_norms(sigmoid), layer_gradient_norms(relu)
        assert s[0] < 1e-3 * r[0]
        assert s[0] < 1e-3 * s[-1]  # the gradient vanishes on its way back through sigmoid
        comparison.train_epochs(10)
    comparison.train_epochs(item.epochs - 30)
    sig_m, relu_m = comparison.metrics()
    assert sig_m["train_loss"] > 0.68 and relu_m["train_loss"] < 0.1


def test_batch_norm_lesson_the_deep_sigmoid_net_learns_only_with_batch_norm():
    curves, comparison = trained("batch-norm")
    assert comparison.trainers[1].path == "reference"  # batch norm's engine
    assert final(curves, "train_loss")[0] > 0.69 and final(curves, "test_acc")[0] < 0.6
    assert final(curves, "test_acc")[1] >= 0.95
    plain_norms, normed_norms = (layer_gradient_norms(t) for t in comparison.trainers)
    assert plain_norms[0] < 1e-4 and normed_norms[0] > 1e-2


def test_centering_lesson_raw_inputs_zigzag_and_end_higher():
    curves, _ = trained("centering")
    none, center, standard = final(curves, "train_loss")
    assert none > 2 * center and none > 2 * standard
    raw = [m["train_loss"] for m in curves[0]]
    assert any(b > a for a, b in pairwise(raw))  # the raw run's loss goes back up
    centered = [m["train_loss"] for m in curves[1]]
    assert all(b <= a for a, b in pairwise(centered))


def test_init_lesson_small_init_stalls_where_he_learns():
    curves, comparison = trained("init-scale")
    small, he = final(curves, "train_loss")
    assert small > 0.69 and he < 0.05
    assert abs(curves[0][0]["train_loss"] - small) < 1e-3  # it never moved
    small_norms, he_norms = (layer_gradient_norms(t) for t in comparison.trainers)
    assert small_norms[0] < 1e-6 < he_norms[0]


def test_lr_decay_lesson_the_constant_rate_keeps_jumping_and_the_decayed_one_settles():
    curves, comparison = trained("lr-decay")
    last = [np.array([m["train_loss"] for m in c[-100:]]) for c in curves]
    assert last[0].std() > 0.05 and last[1].std() < 0.01
    assert last[0].std() > 10 * last[1].std()
    assert final(curves, "train_loss")[1] < final(curves, "train_loss")[0]
    # The second run trained at the scheduled rate: 1 × 0.3⁶ after 300 epochs.
    assert comparison.trainers[1].learning_rate == pytest.approx(0.3**6)


def test_square_loss_lesson_square_learns_slower_than_cross_entropy():
    curves, comparison = trained("square-softmax")
    assert [t.experiment.loss_name for t in comparison.trainers] == ["square", "softmax"]
    # Training accuracy at epochs 200 and 300 (the lesson's numbers, seed 1): square behind.
    for epoch, lead in ((200, 0.05), (300, 0.1)):
        square, softmax = (run[epoch - 1]["train_acc"] for run in curves)
        assert softmax - square >= lead, (epoch, square, softmax)
    assert final(curves, "train_acc")[1] >= 0.75


def test_hinge_lesson_hinge_loss_stops_at_zero_while_softmax_keeps_pushing():
    item = lesson("hinge-softmax")
    comparison = Comparison(item.spec())
    comparison.train_epochs(item.epochs // 2)
    half = [
        (m["train_loss"], float(t.parameters()[0].norm()))
        for m, t in zip(comparison.metrics(), comparison.trainers, strict=True)
    ]
    comparison.train_epochs(item.epochs - item.epochs // 2)
    end = [
        (m["train_loss"], float(t.parameters()[0].norm()))
        for m, t in zip(comparison.metrics(), comparison.trainers, strict=True)
    ]
    (soft_half, soft_w_half), (_, hinge_w_half) = half
    (soft_end, soft_w_end), (hinge_end, hinge_w_end) = end
    assert hinge_end == 0.0 and hinge_w_end == hinge_w_half  # satisfied: nothing moves
    assert 0 < soft_end < soft_half and soft_w_end > 1.05 * soft_w_half
    assert all(m["test_acc"] >= 0.99 for m in comparison.metrics())


def test_knn_lesson_knn_is_right_at_once_and_the_network_catches_up():
    item = lesson("knn")
    trainer = Trainer(parse(item.url, strict=True).experiment)
    knn = knn_accuracy(trainer.data, trainer.experiment.knn)
    trainer.train_epochs(20)
    early = trainer.metrics()["test_acc"]
    trainer.train_epochs(item.epochs - 20)
    late = trainer.metrics()["test_acc"]
    assert knn > 0.95 and early < knn - 0.15 and late >= knn - 0.02
    assert trainer.arch.num_parameters == 114  # the number the text quotes


def test_optimizer_race_sgd_last_adaptive_methods_first():
    curves, comparison = trained("optimizer-race")
    order = ["sgd", "momentum", "adagrad", "adadelta", "rmsprop", "adam"]
    assert [t.experiment.optimizer for t in comparison.trainers] == order
    test = dict(zip(order, final(curves, "test_loss"), strict=True))
    assert test["sgd"] == max(test.values())
    assert test["momentum"] < test["sgd"]
    for fast in ("rmsprop", "adam"):
        assert all(test[fast] < test[slow] for slow in ("sgd", "momentum", "adagrad", "adadelta"))
