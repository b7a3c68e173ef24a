"""The rules table (`playground_models/rules.py`) against every engine of both labs.

Each test is parametrized over the table, so a new optimizer, activation or loss there fails
here for every engine that lacks its arithmetic: the reference path, the C kernel
and the image lab. The oracle is torch.optim written out independently (`torch_optimizers.py`),
which a new entry needs too.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_trainer import SMALL, HandLoop
from torch_optimizers import TORCH_OPTIMIZERS

from playground_models import fastpath, rules
from playground_models.backend import Backend
from playground_models.experiment import Experiment
from playground_models.imagelab.config import LabConfig
from playground_models.imagelab.trainer import LabTrainer
from playground_models.network import Architecture
from playground_models.trainer import Trainer

ENGINES_2D = ("reference", "fast")
LAB_NET = "in8x8x1-conv4k3p1-tanh-fc10"


def _trainer(engine: str, exp: Experiment) -> Trainer:
    if engine == "fast" and not fastpath.supports(exp):
        pytest.skip("the C kernel cannot be built here")
    t = Trainer(exp, backend="reference" if engine == "reference" else None)
    assert t.path == engine
    return t


def _flat(trainer: Trainer) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in trainer.parameters()])


@pytest.mark.parametrize("engine", ENGINES_2D)
@pytest.mark.parametrize("optimizer", rules.OPTIMIZERS)
def test_every_optimizer_of_the_table_trains_as_torch_optim_on_every_2d_engine(optimizer, engine):
    exp = SMALL.replace(optimizer=optimizer, learningRate=0.05, momentum=0.9,
                        regularization="L2", regularizationRate=0.01)
    t = _trainer(engine, exp)
    hand = HandLoop(exp, t.x_train, t.y_train)
    start = _flat(t).copy()
    t.train_steps(13)
    hand.step(13)
    want = np.concatenate([w.ravel() for w in hand.weights()])
    np.testing.assert_allclose(_flat(t), want, rtol=1e-4, atol=1e-5)
    assert np.abs(_flat(t) - start).max() > 1e-3  # it did train


@pytest.mark.parametrize("engine", ENGINES_2D)
def test_nesterov_at_momentum_zero_is_plain_sgd_on_every_2d_engine(engine):
    exp = SMALL.replace(optimizer="nesterov", momentum=0.0, learningRate=0.1)
    t = _trainer(engine, exp)
    hand = HandLoop(exp.replace(optimizer="sgd"), t.x_train, t.y_train)
    t.train_steps(7)
    hand.step(7)
    want = np.concatenate([w.ravel() for w in hand.weights()])
    np.testing.assert_allclose(_flat(t), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ("fast",))
@pytest.mark.parametrize("activation", rules.ACTIVATIONS)
def test_every_activation_of_the_table_agrees_with_the_reference(activation, engine):
    exp = SMALL.replace(activation=activation, networkShape=(4, 3), learningRate=0.05)
    t, ref = _trainer(engine, exp), Trainer(exp, backend="reference")
    t.train_steps(12)
    ref.train_steps(12)
    np.testing.assert_allclose(_flat(t), _flat(ref), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ("fast",))
@pytest.mark.parametrize("loss", rules.LOSSES)
def test_every_loss_of_the_table_agrees_with_the_reference(loss, engine):
    problem = "classification" if loss in rules.CLASSIFY_LOSSES else "regression"
    exp = SMALL.replace(problem=problem, loss=loss, learningRate=0.02)
    t, ref = _trainer(engine, exp), Trainer(exp, backend="reference")
    t.train_steps(12)
    ref.train_steps(12)
    np.testing.assert_allclose(_flat(t), _flat(ref), rtol=1e-4, atol=1e-5)


# --- the image lab -------------------------------------------------------------------------------


def _lab_against_torch(config: LabConfig, oracle: str, steps: int = 6) -> None:
    """Train the lab `steps` updates and a copy of its net with torch.optim (`oracle`) on the
    very batches the lab drew; their weights must agree."""
    lab = LabTrainer(config, torch.device("cpu"))
    twin = copy.deepcopy(lab.net)
    opt = TORCH_OPTIMIZERS[oracle](list(twin.parameters()), config.learningRate)
    batches: list[tuple[torch.Tensor, torch.Tensor]] = []
    draw = lab._next_batch

    def recording() -> tuple[torch.Tensor, torch.Tensor]:
        batches.append(draw())
        return batches[-1]

    lab._next_batch = recording  # type: ignore[method-assign]
    lab.step(steps)
    twin.train()
    for xb, yb in batches:
        loss = F.cross_entropy(twin(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    moved = 0.0
    for (name, got), want, start in zip(lab.net.named_parameters(), twin.parameters(),
                                        lab.initial_state.values(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=name)
        moved = max(moved, float((got.detach() - start).abs().max()))
    assert moved > 1e-4  # it did train


@pytest.mark.parametrize("optimizer", rules.OPTIMIZERS)
def test_every_optimizer_of_the_table_trains_as_torch_optim_in_the_image_lab(optimizer):
    config = LabConfig(net=LAB_NET, optimizer=optimizer, learningRate=0.05, momentum=0.9,
                       weightDecay=0.0, batchSize=16)
    _lab_against_torch(config, optimizer)


def test_nesterov_at_momentum_zero_is_plain_sgd_in_the_image_lab():
    config = LabConfig(net=LAB_NET, optimizer="nesterov", momentum=0.0, learningRate=0.1,
                       weightDecay=0.0, batchSize=16)
    _lab_against_torch(config, "sgd")


def test_both_labs_offer_the_tables_optimizers_in_its_order():
    from playground_models.imagelab.config import BY_NAME as LAB
    from playground_models.params import BY_NAME

    assert BY_NAME["optimizer"].choices == LAB["optimizer"].choices == rules.OPTIMIZERS
    assert BY_NAME["activation"].choices == rules.ACTIVATIONS
    assert BY_NAME["momentum"].only_when["optimizer"] == ("momentum", "nesterov")


# --- the table itself ---------------------------------------------------------------------------


def test_the_kernel_header_numbers_the_tables_names_in_order():
    header = rules.c_header()
    assert "OPT_SGD = 0" in header and f"OPT_ADAM = {rules.OPTIMIZERS.index('adam')}" in header
    assert "ACT_LEAKYRELU = 4" in header and "REG_L2 = 2" in header
    assert "static const double ADADELTA_RHO = 0.9;" in header
    assert "static const double ADAM_EPS = 1e-08;" in header


def test_the_table_constants_are_torch_optims_defaults():
    # The oracle passes only lr (and momentum): the table must hold exactly torch's defaults.
    for name, rule in rules.OPTIMIZER_RULES.items():
        opt = TORCH_OPTIMIZERS[name]([torch.zeros(1, requires_grad=True)], 0.1)
        group = opt.param_groups[0]
        for key, value in rule.torch_kwargs().items():
            assert group[key] == value, (name, key)


def test_parameter_count_and_offsets_follow_the_flat_layout():
    sizes = (2, 4, 3)
    assert rules.parameter_count(sizes) == 3 * 4 + 5 * 3 == 27
    assert rules.layer_offsets(sizes) == [(0, 8), (12, 24)]
    exp = Experiment(networkShape=(4,), numClasses=3, dataset="blobs")
    t = Trainer(exp, backend="reference")
    assert Architecture.of(exp).num_parameters == sum(p.numel() for p in t.parameters()) == 27


def test_dropout_masks_and_one_flat_draw_are_the_same_numbers():
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    masks = rules.dropout_masks(a, 5, (4, 2), 0.3)
    flat = rules.dropout_factors(b.random(5 * 6), 0.3)
    assert np.array_equal(np.concatenate([m.ravel() for m in masks]), flat)
    assert set(np.unique(flat)) == {0.0, np.float32(1 / 0.7)}


def test_every_2d_backend_implements_the_protocol():
    exp = SMALL
    for engine in ENGINES_2D:
        if engine == "fast" and not fastpath.supports(exp):
            continue
        t = _trainer(engine, exp)
        assert isinstance(t.backend, Backend)
        t.set_weight(0, 1, 0, 0.25)  # `write`, the same on every engine
        assert float(t.parameters()[0][1, 0]) == 0.25
        t.close()


def test_an_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        rules.torch_optimizer("lion", [torch.zeros(1, requires_grad=True)], 0.1)
