"""netplay's own L1 makes weights exactly 0, with every optimizer, on the fast path, the
reference path alike."""

from __future__ import annotations

import pytest
import torch

from playground_models.experiment import Experiment
from playground_models.network import l1_zeros
from playground_models.params import OPTIMIZERS
from playground_models.trainer import Trainer

L1 = Experiment(regularization="L1", regularizationRate=0.03, networkShape=[6, 4], seed="7")
LR = {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adagrad": 0.1, "adadelta": 1.0,
      "rmsprop": 0.01, "adam": 0.01}


def _weights(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.parameters()[0::2]]


def _zeros(trainer: Trainer) -> int:
    return sum(int((w == 0).sum()) for w in _weights(trainer))


def test_the_rule_on_a_few_numbers():
    before = torch.tensor([0.5, -0.5, 0.0, 0.0, 0.2])
    after = torch.tensor([-0.1, 0.1, 0.01, 0.01, 0.1])
    grad = torch.tensor([1.0, -1.0, 0.02, 0.05, 1.0])
    assert l1_zeros(before, after, grad, 0.03).tolist() == [True, True, True, False, False]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_exact_zeros_appear_with_every_optimizer(optimizer, backend):
    exp = L1.replace(optimizer=optimizer, learningRate=LR[optimizer])
    trainer = Trainer(exp, backend="reference") if backend == "reference" else Trainer(exp)
    assert trainer.path == ("reference" if backend == "reference" else "fast")
    assert _zeros(trainer) == 0
    trainer.train_epochs(40)
    assert _zeros(trainer) > 0
    assert all(float(b.abs().min()) > 0 for b in trainer.parameters()[1::2])  # biases never


def test_a_zero_weight_stays_zero_while_l1_dominates():
    exp = L1.replace(regularizationRate=0.1, learningRate=0.1)
    trainer = Trainer(exp)
    trainer.train_epochs(30)
    zero_then = [w == 0 for w in _weights(trainer)]
    assert sum(int(z.sum()) for z in zero_then) >= 10  # a strong λ prunes most weights
    trainer.train_epochs(5)
    still = sum(int((w[z] == 0).all()) for w, z in zip(_weights(trainer), zero_then, strict=True))
    assert still == len(zero_then)


def test_without_l1_nothing_is_forced_to_zero():
    trainer = Trainer(L1.replace(regularization="L2"))
    trainer.train_epochs(40)
    assert _zeros(trainer) == 0


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fast_and_reference_paths_prune_the_same_weights(optimizer):
    exp = L1.replace(optimizer=optimizer, learningRate=LR[optimizer])
    fast, ref = Trainer(exp), Trainer(exp, backend="reference")
    fast.train_epochs(20)
    ref.train_epochs(20)
    for a, b in zip(_weights(fast), _weights(ref), strict=True):
        assert torch.equal(a == 0, b == 0)
        assert torch.allclose(a, b, atol=1e-4)


def test_metrics_count_the_pruned_weights():
    trainer = Trainer(L1.replace(regularizationRate=0.1, learningRate=0.1))
    assert trainer.metrics()["zero_weights"] == 0
    assert trainer.metrics()["weights"] == 2 * 6 + 6 * 4 + 4 * 2
    trainer.train_epochs(30)
    m = trainer.metrics()
    assert m["zero_weights"] == _zeros(trainer) and m["zero_weights"] >= 10
