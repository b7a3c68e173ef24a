"""The batched group program against the reference path, run by run.

A group's runs share an architecture but differ in everything else; each must train as its
own `Trainer` on the reference path would (parameters within 1e-5 after one epoch, losses
within 1 % after many), including dropout draws, shuffles and divergence.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.batched import TrainGroup
from playground_models.experiment import Experiment
from playground_models.params import BY_NAME
from playground_models.trainer import Trainer

BASE = Experiment(numSamples=200, networkShape=(4, 3))


def _flat(trainer: Trainer) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in trainer.parameters()])


def _group_and_references(exps: list[Experiment], epochs: int):
    group = TrainGroup([Trainer(e) for e in exps])
    group.train_epochs(epochs)
    refs = []
    for e in exps:
        ref = Trainer(e, backend="reference")
        ref.train_epochs(epochs)
        refs.append(ref)
    return group, refs


@pytest.mark.parametrize("optimizer", BY_NAME["optimizer"].choices)
def test_each_run_matches_its_reference_after_one_epoch(optimizer):
    exps = [
        BASE.replace(optimizer=optimizer, learningRate=0.03, seed="a"),
        BASE.replace(optimizer=optimizer, learningRate=0.01, regularization="L2",
                     regularizationRate=0.03, seed="b", dataset="xor", momentum=0.5),
        BASE.replace(optimizer=optimizer, learningRate=0.1, regularization="L1",
                     regularizationRate=0.01, seed="c", dataset="circle", momentum=0.0),
        BASE.replace(optimizer=optimizer, learningRate=0.05, dropout=0.2, seed="d"),
    ]
    group, refs = _group_and_references(exps, 1)
    for t, ref in zip(group.trainers, refs):
        assert t.epoch == ref.epoch == 1 and t.steps == ref.steps == 10
        np.testing.assert_allclose(_flat(t), _flat(ref), atol=1e-5)
    assert not np.allclose(_flat(group.trainers[0]), _flat(group.trainers[1]), atol=1e-2)


@pytest.mark.parametrize("changes", [
    {"activation": "relu", "dropout": 0.3},
    {"loss": "hinge", "activation": "sigmoid"},
    {"problem": "regression", "regDataset": "reg-plane", "activation": "elu"},
    {"dataset": "blobs", "numClasses": 3, "activation": "gelu"},
    {"batchSize": 7},  # 100 training points: a last partial batch of 2 in every epoch
])
def test_losses_agree_with_the_reference_after_many_epochs(changes):
    exps = [BASE.replace(**changes, seed=s, learningRate=lr)
            for s, lr in (("p", 0.03), ("q", 0.01), ("r", 0.1))]
    group, refs = _group_and_references(exps, 60)
    for t, ref in zip(group.trainers, refs):
        got, want = t.metrics(), ref.metrics()
        assert t.epoch == 60 and t.steps == ref.steps
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=0.01)
        assert got["test_loss"] == pytest.approx(want["test_loss"], rel=0.01)


@pytest.mark.parametrize("dropout", [0.1, 0.0])  # at 0, Σw² overflows before the loss does
def test_a_run_that_diverges_stops_and_the_others_go_on(dropout):
    risky = BASE.replace(problem="regression", activation="relu", networkShape=(8, 8),
                         dropout=dropout)
    exps = [risky.replace(learningRate=10.0, seed="x"), risky.replace(learningRate=0.01, seed="y")]
    group, refs = _group_and_references(exps, 30)
    wild, calm = group.trainers
    assert refs[0].diverged_at is not None
    assert wild.diverged_at == refs[0].diverged_at and wild.steps == refs[0].steps
    assert calm.diverged_at is None and calm.epoch == 30
    assert calm.metrics()["train_loss"] == pytest.approx(refs[1].metrics()["train_loss"], rel=0.01)


def test_live_changes_reach_the_group_after_configure():
    t1, t2 = Trainer(BASE.replace(seed="m")), Trainer(BASE.replace(seed="n"))
    group = TrainGroup([t1, t2])
    group.train_epochs(2)
    t2.update(t2.experiment.replace(learningRate=0.3))
    group.configure()
    group.train_epochs(2)
    ref = Trainer(BASE.replace(seed="n"), backend="reference")
    ref.train_epochs(2)
    ref.update(ref.experiment.replace(learningRate=0.3))
    ref.train_epochs(2)
    np.testing.assert_allclose(_flat(t2), _flat(ref), atol=1e-4)


def test_runs_that_differ_in_architecture_are_refused_by_name():
    with pytest.raises(ValueError, match="layer sizes"):
        TrainGroup([Trainer(BASE), Trainer(BASE.replace(networkShape=(5,)))])
    with pytest.raises(ValueError, match="optimizer"):
        TrainGroup([Trainer(BASE), Trainer(BASE.replace(optimizer="adam"))])
    moved = Trainer(BASE)
    moved.train_steps(3)
    with pytest.raises(ValueError, match="start of the same epoch"):
        TrainGroup([Trainer(BASE), moved])
