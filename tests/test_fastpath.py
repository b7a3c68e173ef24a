"""The fast path (C kernel) against the reference path (autograd + torch.optim) and torch itself.

Agreement bars: same seed → parameters within 1e-5 after one epoch; losses within
1 % after 100 epochs; every optimizer's first steps match torch.optim on the same tensors.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_optimizers import TORCH_OPTIMIZERS

from playground_models import fastpath, rules
from playground_models.experiment import Experiment
from playground_models.network import Architecture, data_loss, forward, regularization
from playground_models.params import ACTIVATIONS, OPTIMIZERS
from playground_models.reference_nets import NET_A, NET_B, REFERENCE_NETS
from playground_models.rules import dropout_masks
from playground_models.snapshot import kernel_picture
from playground_models.trainer import Trainer
from server import frames

pytestmark = pytest.mark.skipif(
    not fastpath.supports(Experiment()), reason="no C compiler: the fast path is unavailable"
)

NETS = REFERENCE_NETS
TOL = 1e-5


def both(exp: Experiment) -> tuple[Trainer, Trainer]:
    fast, ref = Trainer(exp), Trainer(exp, backend="reference")
    assert (fast.path, ref.path) == ("fast", "reference")
    return fast, ref


def max_gap(a: Trainer, b: Trainer) -> float:
    return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def assert_one_epoch_agrees(exp: Experiment) -> None:
    fast, ref = both(exp)
    fast.train_epochs(1)
    ref.train_epochs(1)
    assert fast.steps == ref.steps
    assert max_gap(fast, ref) < TOL


# --- one epoch, parameters within 1e-5 ---------------------------------------------------------
@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_matches_reference_after_one_epoch(net: str, optimizer: str) -> None:
    assert_one_epoch_agrees(NETS[net].replace(optimizer=optimizer, learningRate=0.01))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_reference_after_one_epoch(activation: str) -> None:
    assert_one_epoch_agrees(NET_A.replace(activation=activation, networkShape=[5, 3]))
    assert_one_epoch_agrees(NET_B.replace(activation=activation, learningRate=0.01))


@pytest.mark.parametrize(
    "exp",
    [
        NET_A.replace(loss="softmax", dataset="blobs", numClasses=4),
        NET_A.replace(loss="hinge"),
        NET_A.replace(loss="hinge", dataset="spiral3", networkShape=[6, 6]),
        NET_A.replace(loss="square"),
        NET_A.replace(loss="square", dataset="spiral3", networkShape=[6, 6], activation="relu"),
        NET_A.replace(problem="regression", loss="mse"),
        NET_A.replace(problem="regression", loss="mae", regDataset="reg-gauss"),
        NET_A.replace(problem="regression", loss="huber", regDataset="reg-sine", learningRate=0.1),
    ],
    ids=["softmax-4", "hinge-2", "hinge-3", "square-2", "square-3", "mse", "mae", "huber"],
)
def test_every_loss_matches_reference_after_one_epoch(exp: Experiment) -> None:
    assert_one_epoch_agrees(exp)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("reg", ["L1", "L2"])
def test_penalties_match_reference_after_one_epoch(net: str, reg: str) -> None:
    assert_one_epoch_agrees(NETS[net].replace(regularization=reg, regularizationRate=0.03))


@pytest.mark.parametrize("net", NETS)
def test_dropout_matches_reference_after_one_epoch(net: str) -> None:
    assert_one_epoch_agrees(NETS[net].replace(dropout=0.4, optimizer="adam", learningRate=0.01))


@pytest.mark.parametrize(
    "exp",
    [
        NET_A.replace(networkShape=[]),  # logistic regression: no hidden layer
        NET_A.replace(networkShape=[3] * 8, activation="elu", batchSize=7),  # deepest, partial
        NET_A.replace(networkShape=[64, 64], batchSize=250, learningRate=0.3),  # widest
        NET_A.replace(batchSize=1, optimizer="momentum", momentum=0.0),
        NET_A.replace(layerActivations=["sine", "gelu"], preprocess="standardize"),
    ],
    ids=["no-hidden", "deep", "wide-full-batch", "momentum-0", "mixed-activations"],
)
def test_shapes_and_batches_match_reference(exp: Experiment) -> None:
    assert_one_epoch_agrees(exp)


def test_one_flat_draw_gives_dropout_masks_draws() -> None:
    """The fast path draws every mask of a call at once; the stream must be the same."""
    widths, batch, p = (4, 7, 2), 10, 0.3
    layered, flat = np.random.default_rng(5), np.random.default_rng(5)
    expected = np.concatenate(
        [m.ravel() for _ in range(3) for m in dropout_masks(layered, batch, widths, p)]
    )
    uniform = flat.random(3 * batch * sum(widths))
    assert np.array_equal(((uniform >= p) / (1 - p)).astype(np.float32), expected)
    assert layered.random() == flat.random()


# --- long runs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("net", NETS)
def test_losses_agree_within_one_percent_after_100_epochs(net: str) -> None:
    fast, ref = both(NETS[net])
    fast.train_epochs(100)
    ref.train_epochs(100)
    got, want = fast.metrics(), ref.metrics()
    for key in ("train_loss", "test_loss"):
        assert got[key] == pytest.approx(want[key], rel=0.01)
    if net == "a":  # (b) at lr 0.03 has a loss spike near epoch 100, in both paths alike
        assert got["train_loss"] < 0.5 * Trainer(NETS[net]).metrics()["train_loss"]


def test_same_config_trains_bit_identically() -> None:
    exp = NET_B.replace(dropout=0.2, optimizer="adam", learningRate=0.01)
    runs = [Trainer(exp) for _ in range(2)]
    for t in runs:
        t.train_epochs(5)
    for p, q in zip(runs[0].parameters(), runs[1].parameters(), strict=True):
        assert torch.equal(p, q)


def test_concurrent_sessions_train_as_they_would_alone() -> None:
    """The kernel releases the GIL and keeps no global state: threads cannot disturb a run."""
    exps = [NET_A, NET_B, NET_A.replace(dropout=0.3), NET_B.replace(optimizer="adam")]
    alone = [Trainer(e) for e in exps]
    for t in alone:
        t.train_epochs(10)
    together = [Trainer(e) for e in exps]
    with ThreadPoolExecutor(len(exps)) as pool:
        list(pool.map(lambda t: t.train_epochs(10), together))
    for a, b in zip(alone, together, strict=True):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


# --- each optimizer against torch.optim directly -------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_first_three_steps_match_torch_optim(optimizer: str) -> None:
    exp = NET_A.replace(
        optimizer=optimizer,
        learningRate=0.1,
        momentum=0.9,
        networkShape=[5],
        regularization="L2",
        regularizationRate=0.01,
    )
    arch = Architecture.of(exp)
    gen = np.random.default_rng(0)
    init = [gen.normal(0, 0.5, p.shape).astype(np.float32) for p in Trainer(exp).initial_params]
    x = torch.from_numpy(gen.normal(0, 2, (30, 2)).astype(np.float32))
    y = torch.from_numpy(gen.integers(0, 2, 30))
    backend = fastpath.FastBackend(arch, init, exp)
    leaves = [torch.tensor(p, requires_grad=True) for p in init]
    opt = TORCH_OPTIMIZERS[optimizer](leaves, 0.1)
    for step in range(3):
        rows = np.arange(step * 10, step * 10 + 10)
        assert backend.train_batches(x, y, [rows], np.random.default_rng()) == (1, False)
        scores = forward(leaves, arch.activations, x[rows])
        loss = F.cross_entropy(scores, y[rows]) + regularization("L2", 0.01, leaves[0::2])
        opt.zero_grad()
        loss.backward()
        opt.step()
        for got, want in zip(backend.tensors(), leaves, strict=True):
            gap = float((got - want.detach()).abs().max())
            assert gap < TOL, (optimizer, step, gap)


# --- divergence, live changes, zero-copy, fallback ----------------------------------------------
def test_divergence_stops_at_the_same_step_as_the_reference() -> None:
    exp = NET_A.replace(
        problem="regression",
        networkShape=[8, 8],
        activation="relu",
        learningRate=10.0,
        dropout=0.1,
    )
    fast, ref = both(exp)
    fast.train_epochs(20)
    ref.train_epochs(20)
    assert fast.diverged_at is not None
    assert (fast.diverged_at, fast.steps) == (ref.diverged_at, ref.steps)
    for p, q in zip(fast.parameters(), ref.parameters(), strict=True):  # the bad update was never applied
        assert torch.equal(p.isfinite(), q.isfinite())
    assert fast.dropout_rng.random() == ref.dropout_rng.random()  # stream left in step
    assert fast.metrics()["train_loss"] is None


def test_live_changes_apply_at_the_next_update_like_the_reference() -> None:
    fast, ref = both(NET_B.replace(optimizer="momentum", learningRate=0.01))
    changes = [
        {"learningRate": 0.003, "momentum": 0.5},
        {"regularization": "L1", "regularizationRate": 0.01, "dropout": 0.3},
        {"loss": "hinge", "batchSize": 7},
        {"optimizer": "adam"},  # a new optimizer type: fresh state in both
        {"regularization": "L2", "dropout": 0.0, "optimizer": "rmsprop"},
    ]
    for change in changes:
        for t in (fast, ref):
            t.update(t.experiment.replace(**change))
            t.train_steps(13)
        assert max_gap(fast, ref) < TOL, change


def test_nesterov_at_momentum_zero_is_sgd_then_nesterov_when_raised() -> None:
    fast, ref = both(NET_A.replace(optimizer="nesterov", momentum=0.0))
    for momentum in (0.0, 0.9):
        for t in (fast, ref):
            t.update(t.experiment.replace(momentum=momentum))
            t.train_steps(30)
        assert max_gap(fast, ref) < TOL, momentum


def test_tensors_are_live_views_of_the_trained_parameters() -> None:
    trainer = Trainer(NET_A)
    views = trainer.parameters()
    before = [v.clone() for v in views]
    trainer.train_epochs(1)
    assert all(not torch.equal(v, b) for v, b in zip(views, before, strict=True))
    assert all(torch.equal(v, w) for v, w in zip(views, trainer.parameters(), strict=True))
    trainer.backend.set_parameters([b.numpy() for b in before])
    assert all(torch.equal(v, b) for v, b in zip(views, before, strict=True))


@pytest.fixture
def fresh_kernel(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """The kernel loader as on a machine that has never built it."""
    monkeypatch.setattr(fastpath, "_kernel", None)
    monkeypatch.setattr(fastpath, "_kernel_tried", False)
    monkeypatch.setenv("NETPLAY_CACHE", str(tmp_path))
    return tmp_path


def test_without_a_compiler_the_reference_path_runs(fresh_kernel, monkeypatch) -> None:
    monkeypatch.setattr(fastpath, "_compiler", lambda: None)
    assert not fastpath.supports(NET_A)
    trainer = Trainer(NET_A)
    assert trainer.path == trainer.model_info()["path"] == "reference"
    trainer.train_epochs(1)


def test_a_failed_build_falls_back_to_the_reference_path(fresh_kernel, monkeypatch) -> None:
    broken = fresh_kernel / "broken.c"
    broken.write_text("this is not C;\n")
    monkeypatch.setattr(fastpath, "SOURCE", broken)
    assert not fastpath.supports(NET_A)
    assert Trainer(NET_A).path == "reference"


def test_the_kernel_builds_into_the_cache_once(fresh_kernel) -> None:
    assert fastpath.supports(NET_A)
    built = list(fresh_kernel.glob("mlp-*.so"))
    assert len(built) == 1
    assert Trainer(NET_A).path == "fast"


def test_a_cached_build_loads_without_a_compiler(fresh_kernel, monkeypatch) -> None:
    assert fastpath.supports(NET_A)  # builds into the fresh cache
    monkeypatch.setattr(fastpath, "_kernel", None)
    monkeypatch.setattr(fastpath, "_kernel_tried", False)
    monkeypatch.setattr(fastpath, "_compiler", lambda: None)
    assert fastpath.supports(NET_A)
    assert Trainer(NET_A).path == "fast"


def test_a_changed_rules_table_rebuilds_the_kernel_with_its_constants(fresh_kernel, monkeypatch):
    exp = NET_A.replace(optimizer="adadelta", learningRate=1.0)
    assert fastpath.supports(exp)
    before = Trainer(exp)
    before.train_epochs(2)
    adadelta = rules.OPTIMIZER_RULES["adadelta"]
    changed = dataclasses.replace(adadelta, constants={**adadelta.constants, "rho": 0.5})
    monkeypatch.setitem(rules.OPTIMIZER_RULES, "adadelta", changed)
    monkeypatch.setattr(fastpath, "_kernel", None)
    monkeypatch.setattr(fastpath, "_kernel_tried", False)
    assert fastpath.supports(exp)
    assert len(list(fresh_kernel.glob("mlp-*.so"))) == 2  # a new header is a new build
    fast, ref = Trainer(exp), Trainer(exp, backend="reference")
    assert fast.path == "fast"
    fast.train_epochs(2)
    ref.train_epochs(2)
    for got, want in zip(fast.parameters(), ref.parameters(), strict=True):
        assert float((got - want).abs().max()) < TOL  # both engines read ρ = 0.5
    assert not np.allclose(fast.parameters()[0], before.parameters()[0], atol=1e-4)


# --- a frame's picture in the kernel (`mlp_grid`) -------------------------------------------


def _torch_picture(trainer: Trainer, grid: int, maps: int):
    from playground_models.snapshot import _grid_forward, _pool, grid_inputs

    x_rows, _ = grid_inputs(trainer, grid, maps)
    scores, hidden = _grid_forward(trainer.parameters(), trainer.arch.activations, x_rows)
    return x_rows, scores, _pool(torch.cat(hidden), grid, maps)


@pytest.mark.parametrize("config", [
    {},  # two classes, tanh, 100×100 pooled to 20×20
    {"activation": "relu", "networkShape": (8, 8, 8), "gridSize": 37},  # windows that overlap
    {"activation": "sigmoid", "dataset": "blobs"},  # more classes: every score
    {"activation": "gelu", "problem": "regression", "networkShape": (5,)},
    {"activation": "leakyrelu", "xSquared": True, "sinY": True},
    {"activation": "elu"},  # drawn through the kernel's generic activation
])
def test_the_kernels_picture_is_torchs_to_float_rounding(config):
    trainer = Trainer(Experiment(config))
    trainer.train_epochs(2)
    grid, maps = trainer.experiment.gridSize, 20
    x_rows, scores, pooled = _torch_picture(trainer, grid, maps)
    exp = trainer.experiment
    kind = 1 if not exp.is_classification else 0 if exp.num_classes == 2 else 2
    drawn, kernel_maps = trainer.backend.draw_grid(x_rows.numpy(), grid, maps, kind)
    if kind == 0:
        want = torch.sigmoid(scores[1] - scores[0]) * 2 - 1
    else:
        want = scores[0].clamp(-1, 1) if kind == 1 else scores
    np.testing.assert_allclose(drawn, want.numpy(), atol=2e-6, rtol=1e-6)
    np.testing.assert_allclose(kernel_maps, pooled.numpy(), atol=2e-6, rtol=1e-6)


def test_the_pictures_tanh_is_tanh_on_every_kind_of_float():
    """One tanh neuron reading x₁, on a grid of one cell per map cell: the map is tanh(x₁)."""
    trainer = Trainer(Experiment(networkShape=(1,)))
    trainer.backend.set_parameters([np.array([[1.0, 0.0]]), np.zeros(1), np.zeros((2, 1)),
                                    np.zeros(2)])
    rng = np.random.default_rng(0)
    values = np.concatenate([np.linspace(-12, 12, 40_000), rng.normal(0, 3, 20_000),
                             np.geomspace(1e-30, 1, 3_999), [-8.0, 7.9, 1e30, -np.inf, np.inf]])
    grid = 253  # 64,009 cells
    x1 = np.resize(values, grid * grid).astype(np.float32)
    x_rows = np.stack([x1, np.zeros_like(x1)])
    _, maps = trainer.backend.draw_grid(x_rows, grid, grid, 0)
    np.testing.assert_allclose(maps[0].ravel(), np.tanh(x1.astype(np.float64)), atol=1e-6, rtol=0)
    x_rows[0, 5] = np.nan  # a diverged net's NaN stays NaN: the frame draws it as neutral
    _, maps = trainer.backend.draw_grid(x_rows, grid, grid, 0)
    assert np.isnan(maps[0].ravel()[5]) and np.isfinite(maps[0].ravel()[6])


@pytest.mark.parametrize("config", [
    {},  # two classes, tanh, 100×100 pooled to 20×20
    {"activation": "relu", "networkShape": (8, 8, 8), "gridSize": 37},  # maps past ±1
    {"activation": "gelu", "problem": "regression", "networkShape": (5,)},  # clamped values
    {"activation": "sigmoid", "xSquared": True, "sinY": True, "networkShape": ()},  # no hidden
    {"dataset": "spiral", "networkShape": (8, 8), "activation": "leakyrelu", "gridSize": 50},
])
def test_a_picture_quantised_in_the_kernel_is_the_snapshots_byte_for_byte(config):
    """`kernel_picture` (drawn and quantised in one call) against the snapshot quantised in
    numpy: the frame's arrays are the same bytes, in the same order, for every kind it draws,
    and for a diverged net (NaN weights) and one whose values run to ±inf."""
    trainer = Trainer(Experiment(config))
    trainer.train_epochs(2)
    grid, maps = trainer.experiment.gridSize, 20

    def both() -> tuple[dict, dict]:
        picture = kernel_picture(trainer, grid, maps)
        assert picture is not None
        return (frames.picture_arrays(picture),
                frames.snapshot_arrays(trainer.snapshot(grid, maps)))

    for change in ("trained", "huge", "diverged"):
        if change == "huge":
            trainer.backend._flat[:] *= 1e30  # scores of ±inf and NaN where they meet
        elif change == "diverged":
            trainer.backend._flat[::3] = np.nan
        got, want = both()
        assert list(got) == list(want), change
        for name in want:
            assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape
            assert got[name].tobytes() == want[name].tobytes(), (change, name)
    assert np.count_nonzero(got["output"]) < got["output"].size  # NaN drawn as 0


def test_the_kernel_leaves_pictures_it_does_not_draw_to_the_snapshot():
    """More than two classes (classes and confidences), a 1-D curve and a net past the
    kernel's size are drawn by torch through `take_snapshot`."""
    for config in ({"dataset": "blobs"}, {"problem": "regression", "regDataset": "reg-sine"},
                   {"networkShape": (64, 64, 64)}):
        trainer = Trainer(Experiment(config))
        assert trainer.path == "fast"
        assert kernel_picture(trainer, 50, 10) is None, config


@pytest.mark.parametrize("config", [
    {}, {"loss": "hinge"}, {"loss": "square", "dataset": "blobs"},
    {"problem": "regression"}, {"problem": "regression", "loss": "huber"},
    {"problem": "regression", "loss": "mae"},
    {"dataset": "spiral", "networkShape": (8, 8), "activation": "relu"},
])
def test_the_kernels_metrics_are_torchs_to_float_rounding(config):
    """A frame's losses and accuracies from `mlp_evaluate`, against the torch forward pass
    and `network.data_loss` on the same weights."""
    trainer = Trainer(Experiment(config))
    trainer.train_epochs(3)
    exp, params = trainer.experiment, trainer.parameters()
    for x, y in ((trainer.x_train, trainer.y_train), (trainer.x_test, trainer.y_test)):
        loss, acc = trainer.backend.evaluate(x, y)
        scores = forward(params, trainer.arch.activations, x)
        assert loss == pytest.approx(float(data_loss(exp.loss_name, scores, y)), rel=2e-6)
        if exp.is_classification:
            assert acc == float((scores.argmax(dim=1) == y).double().mean())


def test_the_kernels_metrics_follow_new_data_sets_past_what_it_keeps():
    """`evaluate` keeps the arrays of the sets it last saw (two); a third and a fourth set,
    and a first one seen again, are each scored as themselves."""
    trainer = Trainer(Experiment({"dataset": "xor"}))
    trainer.train_epochs(2)
    params, acts = trainer.parameters(), trainer.arch.activations
    sets = [(trainer.x_train, trainer.y_train), (trainer.x_test, trainer.y_test)]
    sets += [(x[:40].clone(), y[:40].clone()) for x, y in sets]  # new tensors, other values
    for x, y in sets + sets[:1]:
        loss, acc = trainer.backend.evaluate(x, y)
        scores = forward(params, acts, x)
        assert loss == pytest.approx(float(data_loss(trainer.experiment.loss_name, scores, y)), rel=2e-6)
        assert acc == float((scores.argmax(dim=1) == y).double().mean())
    assert len(trainer.backend._eval_inputs) <= 2


# The weights after 1,000 updates of each net, hashed: the kernel's own bits. A link replays to
# the same numbers only while these stay; a change to the order of any sum (vectorising a
# reduction, fused multiply-adds) changes them. Recorded with the plain scalar loops, before
# the wide layers' products ran side by side (2026-12-05), which kept every bit.
SAME_BITS = [
    ({"networkShape": [4, 2]}, "b3228e7198ed"),
    ({"networkShape": [64] * 8}, "ce5abfaef2eb"),
    ({"networkShape": [8, 8, 8], "activation": "relu", "optimizer": "adam", "dropout": 0.3,
      "regularization": "L1", "regularizationRate": 0.001}, "ca282909d99d"),
    ({"networkShape": [16, 5], "activation": "sigmoid", "optimizer": "sgd",
      "regularization": "L2", "regularizationRate": 0.01, "batchSize": 30}, "f46f0155e894"),
    ({"dataset": "spiral3", "numClasses": 3, "networkShape": [32, 17], "loss": "softmax",
      "activation": "leakyrelu", "optimizer": "rmsprop", "batchSize": 7, "xSquared": True,
      "sinX": True}, "ea9b26353a0b"),
]


@pytest.mark.parametrize(("config", "digest"), SAME_BITS)
def test_the_kernel_gives_the_same_bits_as_its_plain_loops(config: dict, digest: str) -> None:
    import hashlib

    trainer = Trainer(Experiment(config))
    assert trainer.path == "fast"
    trainer.train_steps(1000)
    got = hashlib.sha256(np.asarray(trainer.backend._flat).tobytes()).hexdigest()[:12]
    assert got == digest
