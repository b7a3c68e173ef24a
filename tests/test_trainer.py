"""Trainer semantics: epochs, live and structural updates, reset, divergence, metrics, init,
snapshots. Numbers are checked against independent computations (NumPy, a hand-written
torch.optim loop), never against a second run of the same code path alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_optimizers import TORCH_OPTIMIZERS

from playground_models.experiment import Experiment
from playground_models.features import feature_matrix
from playground_models.network import Architecture, initial_parameters
from playground_models.rng import stream
from playground_models.trainer import EditError, Trainer
from playground_models.urlcodec import parse

SMALL = Experiment(numSamples=200, networkShape=(4, 3))  # 100 train points, batch 10


def _weights(trainer: Trainer) -> list[np.ndarray]:
    return [p.numpy().copy() for p in trainer.parameters()]


def _assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


def _record_batches(trainer: Trainer) -> list[np.ndarray]:
    """Wrap the backend so every index batch it trains on is recorded."""
    seen: list[np.ndarray] = []
    inner = trainer.backend.train_batches

    def recording(x, y, batches, rng):
        seen.extend(b.copy() for b in batches)
        return inner(x, y, batches, rng)

    trainer.backend.train_batches = recording
    return seen


# --- determinism --------------------------------------------------------------------------


def _curve(trainer: Trainer, epochs: int) -> list[dict]:
    out = []
    for _ in range(epochs):
        trainer.train_epochs(1)
        out.append(trainer.metrics())
    return out


def test_same_config_trained_twice_gives_bit_identical_metrics():
    exp = SMALL.replace(dropout=0.2, optimizer="adam", learningRate=0.01)
    first, second = _curve(Trainer(exp), 4), _curve(Trainer(exp), 4)
    assert first == second
    assert first[0]["train_loss"] != first[-1]["train_loss"]  # it did train


def test_two_configs_trained_interleaved_match_each_trained_alone():
    a_exp = SMALL.replace(dropout=0.3, seed="a")
    b_exp = SMALL.replace(dataset="xor", optimizer="momentum", seed="b")
    alone_a, alone_b = _curve(Trainer(a_exp), 3), _curve(Trainer(b_exp), 3)
    a, b = Trainer(a_exp), Trainer(b_exp)
    mixed_a, mixed_b = [], []
    for _ in range(3):
        # 10 steps = one epoch each, in uneven chunks so the two alternate mid-epoch
        for n_a, n_b in ((4, 6), (6, 4)):
            a.train_steps(n_a)
            b.train_steps(n_b)
            torch.rand(5)  # the global RNGs are not used: touching them changes nothing
            np.random.rand(5)
        mixed_a.append(a.metrics())
        mixed_b.append(b.metrics())
    assert mixed_a == alone_a
    assert mixed_b == alone_b
    assert alone_a[0] != alone_b[0]


# --- epochs ------------------------------------------------------------------------------


def test_each_epoch_visits_every_point_once_in_a_new_order_that_repeats_across_runs():
    runs = []
    for _ in range(2):
        t = Trainer(SMALL)
        seen = _record_batches(t)
        t.train_epochs(3)
        runs.append([np.concatenate(seen[i * 10 : (i + 1) * 10]) for i in range(3)])
    epochs = runs[0]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(100))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    for x, y in zip(runs[0], runs[1], strict=True):
        assert np.array_equal(x, y)


def test_last_partial_batch_is_trained_inside_its_epoch():
    t = Trainer(Experiment(batchSize=30))  # 500 samples, 50 % → 250 training points
    assert len(t.y_train) == 250
    seen = _record_batches(t)
    t.train_epochs(2)
    assert t.steps == 18 and t.epoch == 2  # 9 updates per epoch: 8 × 30 + 10
    assert [len(b) for b in seen] == ([30] * 8 + [10]) * 2
    t.train_steps(4)
    assert (t.epoch, t.steps) == (2, 22)


def test_train_steps_crosses_epoch_boundaries():
    t = Trainer(SMALL)
    assert t.train_steps(25) == 25
    assert (t.epoch, t.steps) == (2, 25)


# --- independent reference loop: torch.optim on the same tensors -------------------------


class HandLoop:
    """Training written out by hand: shuffle per epoch, tanh MLP, cross-entropy + ½λΣw²."""

    def __init__(self, exp: Experiment, x: torch.Tensor, y: torch.Tensor):
        self.exp, self.x, self.y = exp, x, y
        init = initial_parameters(Architecture.of(exp), exp)
        self.params = [torch.tensor(p, requires_grad=True) for p in init]
        self.opt = TORCH_OPTIMIZERS[exp.optimizer](self.params, exp.learningRate)
        self.rng = stream(exp.seed, "shuffle")
        self.queue: list[np.ndarray] = []

    def step(self, n: int) -> None:
        for _ in range(n):
            if not self.queue:
                perm = self.rng.permutation(len(self.y))
                bs = self.exp.batchSize
                self.queue = [perm[s : s + bs] for s in range(0, len(perm), bs)]
            rows = torch.from_numpy(self.queue.pop(0))
            h = self.x[rows]
            for w, b in zip(self.params[0:-2:2], self.params[1:-2:2], strict=True):
                h = torch.tanh(h @ w.T + b)
            out = h @ self.params[-2].T + self.params[-1]
            loss = F.cross_entropy(out, self.y[rows])
            lam = self.exp.regularizationRate if self.exp.regularization == "L2" else 0.0
            loss = loss + 0.5 * lam * sum((w**2).sum() for w in self.params[0::2])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    def weights(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.params]


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", [None, "reference"])
@pytest.mark.parametrize("optimizer", sorted(TORCH_OPTIMIZERS))
def test_first_steps_of_each_optimizer_match_a_hand_written_torch_optim_loop(optimizer, backend):
    exp = SMALL.replace(
        optimizer=optimizer, learningRate=0.05, regularization="L2", regularizationRate=0.01
    )
    t = Trainer(exp, backend=backend)
    hand = HandLoop(exp, t.x_train, t.y_train)
    start = _weights(t)
    t.train_steps(13)
    hand.step(13)
    _close(_weights(t), hand.weights())
    assert not np.allclose(start[0], _weights(t)[0])


# --- live updates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"learningRate": 0.3},
        {"regularizationRate": 0.1, "regularization": "L2"},
        {"regularization": "L1"},
        {"dropout": 0.5},
        {"batchSize": 7},
        {"optimizer": "adam"},
        {"loss": "hinge"},
    ],
)
def test_live_update_keeps_weights_and_epoch(change):
    t = Trainer(SMALL)
    t.train_steps(15)
    before, epoch, steps = _weights(t), t.epoch, t.steps
    effects = t.update(t.experiment.replace(**change))
    assert {e.value for e in effects.values()} == {"live"}
    _assert_same(_weights(t), before)
    assert (t.epoch, t.steps) == (epoch, steps)
    assert t.train_steps(3) == 3
    assert not np.array_equal(_weights(t)[0], before[0])


@pytest.mark.parametrize("backend", [None, "reference"])
def test_live_learning_rate_and_lambda_change_continue_like_the_hand_loop(backend):
    exp = SMALL.replace(optimizer="momentum", regularization="L2", regularizationRate=0.001)
    t = Trainer(exp, backend=backend)
    hand = HandLoop(exp, t.x_train, t.y_train)
    t.train_steps(12)
    hand.step(12)
    new = exp.replace(learningRate=0.2, regularizationRate=0.05)
    t.update(new)
    hand.exp = new
    for group in hand.opt.param_groups:
        group["lr"] = 0.2  # momentum buffers are kept
    t.train_steps(9)
    hand.step(9)
    _close(_weights(t), hand.weights())


def test_live_batch_size_change_takes_effect_on_the_next_update():
    t = Trainer(SMALL)
    seen = _record_batches(t)
    t.train_steps(3)
    t.update(t.experiment.replace(batchSize=25))
    t.train_steps(3)
    assert [len(b) for b in seen] == [10, 10, 10, 25, 25, 20]  # 30 + 70 = the 100 points
    assert t.epoch == 1
    assert sorted(np.concatenate(seen).tolist()) == list(range(100))


# --- structural changes, reset, reseed ---------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"networkShape": (5,)},
        {"activation": "relu"},
        {"dataset": "xor"},
        {"seed": "other"},
        {"init": "he"},
        {"xSquared": True},
        {"noise": 20},
    ],
)
def test_structural_change_rebuilds_from_the_seed(change):
    t = Trainer(SMALL)
    t.train_epochs(2)
    new = SMALL.replace(**change)
    effects = t.update(new)
    assert "rebuild" in {e.value for e in effects.values()}
    fresh = Trainer(new)
    assert (t.epoch, t.steps) == (0, 0)
    _assert_same(_weights(t), _weights(fresh))
    assert torch.equal(t.x_train, fresh.x_train) and torch.equal(t.y_train, fresh.y_train)
    t.train_epochs(1)
    fresh.train_epochs(1)
    assert t.metrics() == fresh.metrics()


def test_reset_returns_exactly_to_the_initial_weights_and_replays_the_same_run():
    t = Trainer(SMALL.replace(dropout=0.2))
    initial = _weights(t)
    t.train_epochs(2)
    first = t.metrics()
    t.reset()
    assert (t.epoch, t.steps, t.diverged_at) == (0, 0, None)
    _assert_same(_weights(t), initial)
    t.train_epochs(2)
    assert t.metrics() == first


def test_reseed_draws_new_data_and_new_weights():
    t = Trainer(SMALL)
    old_x, old_w = t.x_train.clone(), _weights(t)
    t.train_epochs(1)
    t.reseed("fresh")
    assert t.experiment.seed == "fresh" and t.epoch == 0
    assert not torch.equal(t.x_train, old_x)
    assert not np.array_equal(_weights(t)[0], old_w[0])
    fresh = Trainer(SMALL.replace(seed="fresh"))
    _assert_same(_weights(t), _weights(fresh))
    assert torch.equal(t.x_train, fresh.x_train)


# --- divergence ---------------------------------------------------------------------------


def test_non_finite_loss_marks_divergence_without_raising():
    exp = Experiment(problem="regression", learningRate=10, activation="relu", networkShape=(8, 8))
    t = Trainer(exp)
    t.train_epochs(5)  # returns instead of looping forever
    assert t.diverged_at == 0
    assert t.epoch == 0 and 0 < t.steps < 25
    m = t.metrics()
    assert m["train_loss"] is None and m["test_loss"] is None and m["reg_loss"] is None
    assert t.train_steps(10) == 0
    t.reset()
    assert t.diverged_at is None


# --- metrics ------------------------------------------------------------------------------


def _numpy_scores(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    h = x.astype(np.float64)
    for w, b in zip(weights[0:-2:2], weights[1:-2:2], strict=True):
        h = np.tanh(h @ w.T + b)
    return h @ weights[-2].T + weights[-1]


@pytest.mark.parametrize("kind, rate", [("L2", 0.03), ("L1", 0.01)])
def test_metrics_report_data_loss_and_penalty_separately(kind, rate):
    t = Trainer(SMALL.replace(regularization=kind, regularizationRate=rate))
    t.train_epochs(2)
    m = t.metrics()
    w = [p.astype(np.float64) for p in _weights(t)]
    penalty = (
        sum((x**2).sum() for x in w[0::2]) * 0.5 * rate
        if kind == "L2"
        else sum(np.abs(x).sum() for x in w[0::2]) * rate
    )
    assert m["reg_loss"] == pytest.approx(penalty, rel=1e-5)
    for split, x, y in (("train", t.x_train, t.y_train), ("test", t.x_test, t.y_test)):
        scores = _numpy_scores(w, x.numpy())
        shifted = scores - scores.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        yy = y.numpy()
        assert m[f"{split}_loss"] == pytest.approx(-logp[np.arange(len(yy)), yy].mean(), rel=1e-5)
        assert m[f"{split}_acc"] == pytest.approx((scores.argmax(axis=1) == yy).mean())


# --- initialization -----------------------------------------------------------------------

WIDE = Experiment(
    networkShape=(64, 64), sinX=True, sinY=True, xSquared=True, ySquared=True, xTimesY=True
)


def test_small_init_has_std_001_and_zero_biases():
    params = initial_parameters(Architecture.of(WIDE), WIDE.replace(init="small"))
    middle = params[2]
    assert middle.shape == (64, 64)
    assert middle.std() == pytest.approx(0.01, rel=0.05)
    assert abs(middle.mean()) < 0.001
    assert all(np.all(b == 0) for b in params[1::2])


def test_he_init_has_std_sqrt_2_over_fan_in():
    params = initial_parameters(Architecture.of(WIDE), WIDE.replace(init="he"))
    assert params[2].std() == pytest.approx(math.sqrt(2 / 64), rel=0.05)
    assert params[0].shape == (64, 7)
    assert params[0].std() == pytest.approx(math.sqrt(2 / 7), rel=0.15)


def test_xavier_init_is_uniform_within_sqrt_6_over_fan_sum():
    w = initial_parameters(Architecture.of(WIDE), WIDE.replace(init="xavier"))[2]
    limit = math.sqrt(6 / 128)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.05)


def test_tf_init_is_uniform_in_half_and_biases_01():
    params = initial_parameters(Architecture.of(WIDE), WIDE)
    w = params[2]
    assert w.min() >= -0.5 and w.max() <= 0.5 and w.max() - w.min() > 0.98
    assert w.std() == pytest.approx(1 / math.sqrt(12), rel=0.05)
    assert all(np.all(b == np.float32(0.1)) for b in params[1::2])


# --- data into the trainer ----------------------------------------------------------------


def test_user_points_in_the_url_reach_the_training_set():
    exp = parse("?numSamples=100&points=1.5,-2,1;-3.25,4,0").experiment
    t = Trainer(exp)
    assert len(t.y_train) == 52 and len(t.y_test) == 50
    np.testing.assert_array_equal(t.x_train[-2:].numpy(), [[1.5, -2.0], [-3.25, 4.0]])
    assert t.y_train[-2:].tolist() == [1, 0]


def test_standardize_uses_training_statistics_only():
    t = Trainer(SMALL.replace(preprocess="standardize", xSquared=True, dataset="gauss", noise=30))
    raw_train = feature_matrix(t.data.train_x, ("x", "y", "xSquared"))
    raw_test = feature_matrix(t.data.test_x, ("x", "y", "xSquared"))
    mean, std = raw_train.mean(axis=0), raw_train.std(axis=0)
    np.testing.assert_allclose(t.x_train.numpy(), (raw_train - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.x_test.numpy(), (raw_test - mean) / std, rtol=1e-5, atol=1e-6)
    assert not np.allclose(raw_test.mean(axis=0), mean)  # so the test above could tell


def test_center_subtracts_the_training_mean_only():
    t = Trainer(SMALL.replace(preprocess="center", dataset="gauss", noise=30))
    mean = t.data.train_x.mean(axis=0)
    np.testing.assert_allclose(t.x_test.numpy(), t.data.test_x - mean, rtol=1e-5, atol=1e-6)


# --- snapshots ----------------------------------------------------------------------------


def test_feature_maps_have_row_0_at_the_top():
    snap = Trainer(SMALL).snapshot(grid_size=40, neuron_grid=10)
    assert snap.neurons.shape == (2 + 4 + 3, 10, 10)
    x1, x2 = snap.neurons[0], snap.neurons[1]
    assert np.all(x2[0] > 0.8) and np.all(x2[-1] < -0.8)  # top row: largest x₂
    assert np.all(x1[:, 0] < -0.8) and np.all(x1[:, -1] > 0.8)  # left column: smallest x₁


def test_neuron_maps_are_block_means_of_each_neuron_on_the_full_grid():
    t = Trainer(SMALL.replace(preprocess="standardize"))
    t.train_epochs(5)
    snap = t.snapshot(grid_size=40, neuron_grid=10)
    # Independently: every hidden neuron's tanh on the 40×40 grid, then 4×4 block means.
    from playground_models.grid import grid_points

    w = [p.astype(np.float64) for p in _weights(t)]
    raw = grid_points(40)
    x = (raw - t.preprocess.mean) / t.preprocess.scale
    h1 = np.tanh(x @ w[0].T + w[1])
    h2 = np.tanh(h1 @ w[2].T + w[3])
    hidden = np.concatenate([h1, h2], axis=1).T.reshape(7, 10, 4, 10, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(snap.neurons[2:], hidden, atol=2e-5)


def test_grid_inputs_follow_the_data_when_it_changes():
    exp = SMALL.replace(preprocess="center", dataset="gauss")
    t = Trainer(exp)
    first = t.snapshot(grid_size=20, neuron_grid=5)
    again = t.snapshot(grid_size=20, neuron_grid=5)
    np.testing.assert_array_equal(first.output, again.output)
    # A hand-placed point moves the training mean, so the grid's centred inputs must move too.
    t.update(exp.replace(points=((5.5, 5.5, 1), (5.8, 5.2, 1), (5.1, 5.9, 1))))
    moved = t.snapshot(grid_size=20, neuron_grid=5)
    w = [p.astype(np.float64) for p in _weights(t)]
    from playground_models.grid import grid_points

    x = grid_points(20) - t.preprocess.mean
    scores = _numpy_scores(w, x)
    expected = 2 / (1 + np.exp(-(scores[:, 1] - scores[:, 0]))) - 1
    np.testing.assert_allclose(moved.output.ravel(), expected, atol=1e-5)
    assert not np.allclose(moved.output, first.output, atol=1e-3)


def test_net_trained_with_class_1_above_shows_class_1_on_top():
    pts = ";".join(f"{x},{y},{int(y > 0)}" for x in (-5, -2, 1, 4) for y in (-5, -3, -1, 1, 3, 5))
    exp = parse(f"?dataset=gauss&numSamples=50&percTrainData=10&points={pts}").experiment
    t = Trainer(exp)
    t.train_epochs(40)
    out = t.snapshot(grid_size=30).output
    assert out.shape == (30, 30)
    assert out[0].min() > 0.5 and out[-1].max() < -0.5


def test_multiclass_snapshot_has_class_and_confidence_maps():
    t = Trainer(Experiment(dataset="blobs", numClasses=4))
    t.train_epochs(3)
    snap = t.snapshot(grid_size=25, neuron_grid=5)
    assert snap.output is None and snap.curve is None
    assert snap.classes.shape == (25, 25) and snap.classes.dtype == np.uint8
    assert set(np.unique(snap.classes)) <= {0, 1, 2, 3}
    assert snap.confidence.shape == (25, 25)
    assert snap.confidence.min() >= 0.25 - 1e-6 and snap.confidence.max() <= 1.0
    assert [w.shape for w in snap.weights] == [(4, 2), (2, 4), (4, 2)]


def test_one_d_regression_snapshot_has_a_curve_over_the_domain():
    t = Trainer(Experiment(problem="regression", regDataset="reg-sine"))
    snap = t.snapshot(grid_size=20)
    assert snap.curve.shape == (200, 2)
    assert snap.curve[0, 0] == -6 and snap.curve[-1, 0] == 6
    assert snap.output.shape == (20, 20) and snap.classes is None
    # the curve is the network at x₁, its only input (a 1-D curve has no x₂): one point by hand
    assert t.experiment.features == ("x",)
    w = [p.astype(np.float64) for p in _weights(t)]
    x = np.array([[snap.curve[57, 0]]])
    assert snap.curve[57, 1] == pytest.approx(_numpy_scores(w, x)[0, 0], rel=1e-5, abs=1e-6)


# --- hand edits of one weight or bias --------------------------------------------------------


@pytest.mark.parametrize("backend", [None, "reference"])
def test_set_weight_changes_one_entry_and_keeps_the_optimizer_state(backend):
    exp = SMALL.replace(optimizer="adam", learningRate=0.05)
    t = Trainer(exp, backend=backend)
    hand = HandLoop(exp, t.x_train, t.y_train)
    t.train_steps(12)
    hand.step(12)
    before = _weights(t)
    t.set_weight(1, 2, 3, -0.314)  # hidden layer 2, neuron 2, from layer 1's neuron 3
    t.set_bias(2, 1, 2.5)  # the output of class 1
    after = _weights(t)
    assert after[2][2, 3] == np.float32(-0.314) and after[5][1] == np.float32(2.5)
    after[2][2, 3], after[5][1] = before[2][2, 3], before[5][1]
    _assert_same(after, before)  # nothing else moved
    with torch.no_grad():  # the same edit in the hand loop, whose Adam moments stay as they are
        hand.params[2][2, 3] = -0.314
        hand.params[5][1] = 2.5
    t.train_steps(9)
    hand.step(9)
    _close(_weights(t), hand.weights())


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda t: t.set_weight(3, 0, 0, 1.0), "layer"),  # SMALL has 3 weight layers: 0..2
        (lambda t: t.set_weight(-1, 0, 0, 1.0), "layer"),
        (lambda t: t.set_weight(0, 4, 0, 1.0), "to"),  # 4 neurons in the first hidden layer
        (lambda t: t.set_weight(0, 0, 2, 1.0), "from"),  # two input features
        (lambda t: t.set_bias(2, 2, 1.0), "to"),  # two classes
        (lambda t: t.set_weight(0, 0, 0, math.inf), "value"),
        (lambda t: t.set_weight(0, 0, 0, math.nan), "value"),
        (lambda t: t.set_bias(0, 0, -1000.5), "value"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(call, field):
    t = Trainer(SMALL)
    before = _weights(t)
    with pytest.raises(EditError) as err:
        call(t)
    assert err.value.field == field and str(err.value).startswith(field)
    _assert_same(_weights(t), before)


def test_edits_at_the_bound_are_accepted():
    t = Trainer(SMALL)
    t.set_weight(0, 3, 1, 1000.0)
    t.set_bias(1, 0, -1000)
    assert t.parameters()[0][3, 1] == 1000.0 and t.parameters()[3][0] == -1000.0
