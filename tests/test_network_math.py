"""The network's numbers against independent references: closed forms, finite differences
(`torch.autograd.gradcheck` in float64) and the course's worked examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from playground_models.network import (
    ACTIVATION_FUNCTIONS,
    data_loss,
    forward,
    regularization,
)
from playground_models.rules import dropout_masks

# Inputs kept away from the kinks of relu / leaky relu (0) so finite differences are exact.
Z = torch.tensor([-3.1, -1.7, -0.6, -0.25, 0.3, 0.8, 1.9, 2.7], dtype=torch.float64)


def _gelu_tanh(z: np.ndarray) -> np.ndarray:
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * z * (1.0 + np.tanh(c * (z + 0.044715 * z**3)))


def _gelu_tanh_slope(z: np.ndarray) -> np.ndarray:
    c = math.sqrt(2.0 / math.pi)
    u = c * (z + 0.044715 * z**3)
    du = c * (1.0 + 3 * 0.044715 * z**2)
    return 0.5 * (1.0 + np.tanh(u)) + 0.5 * z * (1.0 - np.tanh(u) ** 2) * du


# (value, derivative) in closed form, written out with NumPy.
CLOSED_FORMS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (
        lambda z: 1.0 / (1.0 + np.exp(-z)),
        lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2,
    ),
    "linear": (lambda z: z, np.ones_like),
    "leakyrelu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "elu": (
        lambda z: np.where(z > 0, z, np.exp(z) - 1.0),
        lambda z: np.where(z > 0, 1.0, np.exp(z)),
    ),
    "gelu": (_gelu_tanh, _gelu_tanh_slope),
    "sine": (np.sin, np.cos),
}


def test_every_activation_has_a_closed_form_here():
    assert set(CLOSED_FORMS) == set(ACTIVATION_FUNCTIONS)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_activation_values_and_slopes_match_closed_forms(name):
    value, slope = CLOSED_FORMS[name]
    z = Z.clone().requires_grad_(True)
    out = ACTIVATION_FUNCTIONS[name](z)
    (grad,) = torch.autograd.grad(out.sum(), z)
    np.testing.assert_allclose(out.detach().numpy(), value(Z.numpy()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad.numpy(), slope(Z.numpy()), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_activation_gradients_match_finite_differences(name):
    z = Z.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(ACTIVATION_FUNCTIONS[name], (z,), eps=1e-6, atol=1e-7)


# --- losses -------------------------------------------------------------------------------

SCORES = torch.tensor(
    [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1], [-0.4, 0.9, 0.3]], dtype=torch.float64
)
CLASSES = torch.tensor([0, 1, 2, 1])
OUT = torch.tensor([[0.3], [-1.8], [2.6], [0.05], [-0.4]], dtype=torch.float64)
TARGET = torch.tensor([0.1, 0.2, -0.3, 0.75, -2.0], dtype=torch.float64)


def _softmax_np(s, y):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    onehot = np.eye(s.shape[1])[y]
    return loss, (p - onehot) / n


def _hinge_np(s, y):
    n = len(y)
    margins = s - s[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 0.0
    active = (margins > 0).astype(float)
    grad = active.copy()
    grad[np.arange(n), y] = -active.sum(axis=1)
    return np.maximum(margins, 0).sum(axis=1).mean(), grad / n


def _square_np(s, y):
    n, c = s.shape
    t = np.where(np.eye(c)[y] > 0, 1.0, -1.0)
    o = np.tanh(s)
    return 0.5 * ((o - t) ** 2).mean(), (o - t) * (1 - o**2) / (n * c)


def _regression_np(name, o, t):
    d = o[:, 0] - t
    n = len(t)
    if name == "mse":
        return 0.5 * (d**2).mean(), (d / n)[:, None]
    if name == "mae":
        return np.abs(d).mean(), (np.sign(d) / n)[:, None]
    quad = np.abs(d) <= 1.0
    loss = np.where(quad, 0.5 * d**2, np.abs(d) - 0.5).mean()
    return loss, (np.clip(d, -1.0, 1.0) / n)[:, None]


LOSS_CASES = {
    "softmax": (SCORES, CLASSES, lambda s, y: _softmax_np(s, y)),
    "hinge": (SCORES, CLASSES, lambda s, y: _hinge_np(s, y)),
    "square": (SCORES, CLASSES, lambda s, y: _square_np(s, y)),
    "mse": (OUT, TARGET, lambda o, t: _regression_np("mse", o, t)),
    "mae": (OUT, TARGET, lambda o, t: _regression_np("mae", o, t)),
    "huber": (OUT, TARGET, lambda o, t: _regression_np("huber", o, t)),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_value_and_gradient_match_closed_forms(name):
    scores, target, reference = LOSS_CASES[name]
    s = scores.clone().requires_grad_(True)
    loss = data_loss(name, s, target)
    (grad,) = torch.autograd.grad(loss, s)
    want_loss, want_grad = reference(scores.numpy(), target.numpy())
    assert float(loss.detach()) == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_gradients_match_finite_differences(name):
    scores, target, _ = LOSS_CASES[name]
    s = scores.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: data_loss(name, x, target), (s,), eps=1e-6)


def test_course_example_softmax_gives_cat_probability_013_and_cross_entropy_204():
    scores = torch.tensor([[3.2, 5.1, -1.7]], dtype=torch.float64)  # cat, car, frog
    cat = torch.tensor([0])
    p_cat = math.exp(3.2) / (math.exp(3.2) + math.exp(5.1) + math.exp(-1.7))
    assert p_cat == pytest.approx(0.13, abs=0.005)
    loss = float(data_loss("softmax", scores, cat))
    assert loss == pytest.approx(-math.log(p_cat), rel=1e-12)
    assert loss == pytest.approx(2.04, abs=0.005)


def test_course_example_multiclass_hinge_loss_is_2_9():
    scores = torch.tensor([[3.2, 5.1, -1.7]], dtype=torch.float64)
    # max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0
    assert float(data_loss("hinge", scores, torch.tensor([0]))) == pytest.approx(2.9, abs=1e-12)


def test_square_loss_is_tf_playgrounds_half_squared_error_on_tanh_outputs():
    # One sample of class 1 with scores (0, atanh 0.5): outputs 0 and 0.5 against targets −1, +1.
    scores = torch.tensor([[0.0, math.atanh(0.5)]], dtype=torch.float64)
    want = 0.5 * ((0.0 + 1.0) ** 2 + (0.5 - 1.0) ** 2) / 2
    assert float(data_loss("square", scores, torch.tensor([1]))) == pytest.approx(want, rel=1e-12)
    saturated = torch.tensor([[-20.0, 20.0]], dtype=torch.float64)
    assert float(data_loss("square", saturated, torch.tensor([1]))) == pytest.approx(0.0, abs=1e-12)
    assert float(data_loss("square", saturated, torch.tensor([0]))) == pytest.approx(2.0, rel=1e-12)


def test_hinge_loss_is_zero_once_every_margin_is_met():
    scores = torch.tensor([[5.0, 3.9, -2.0], [0.0, 0.0, 1.5]], dtype=torch.float64)
    assert float(data_loss("hinge", scores, torch.tensor([0, 2]))) == 0.0


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        data_loss("cosine", OUT, TARGET)


# --- regularization -----------------------------------------------------------------------


def test_l2_penalty_is_half_lambda_sum_of_squares_with_gradient_lambda_w():
    w1 = torch.tensor([[0.5, -1.5], [2.0, 0.25]], dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor([[-3.0, 0.1]], dtype=torch.float64, requires_grad=True)
    pen = regularization("L2", 0.03, [w1, w2])
    squares = 0.25 + 2.25 + 4.0 + 0.0625 + 9.0 + 0.01
    assert float(pen.detach()) == pytest.approx(0.5 * 0.03 * squares, rel=1e-12)
    g1, g2 = torch.autograd.grad(pen, [w1, w2])
    np.testing.assert_allclose(g1.numpy(), 0.03 * w1.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), 0.03 * w2.detach().numpy(), rtol=1e-12)


def test_l1_penalty_is_lambda_sum_of_magnitudes_with_gradient_lambda_sign():
    w = torch.tensor([[0.5, -1.5], [2.0, -0.25]], dtype=torch.float64, requires_grad=True)
    pen = regularization("L1", 0.1, [w])
    assert float(pen.detach()) == pytest.approx(0.1 * 4.25, rel=1e-12)
    (g,) = torch.autograd.grad(pen, [w])
    np.testing.assert_allclose(g.numpy(), [[0.1, -0.1], [0.1, -0.1]], rtol=1e-12)


@pytest.mark.parametrize("kind, rate", [("none", 0.5), ("L2", 0.0), ("L1", 0.0)])
def test_no_penalty_without_a_type_or_a_rate(kind, rate):
    w = torch.ones(3, 3, dtype=torch.float64)
    assert float(regularization(kind, rate, [w])) == 0.0


# --- forward pass and dropout ---------------------------------------------------------------


def test_forward_matches_a_numpy_mlp_and_records_hidden_layers():
    rng = np.random.default_rng(7)
    sizes = (3, 5, 4, 2)
    params = []
    for a, b in itertools.pairwise(sizes):
        params += [rng.normal(size=(b, a)), rng.normal(size=b)]
    x = rng.normal(size=(6, 3))
    h1 = np.tanh(x @ params[0].T + params[1])
    h2 = np.maximum(h1 @ params[2].T + params[3], 0.0)
    want = h2 @ params[4].T + params[5]
    record: list[torch.Tensor] = []
    got = forward(
        [torch.from_numpy(p) for p in params], ("tanh", "relu"), torch.from_numpy(x), record=record
    )
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(record[0].numpy(), h1, rtol=1e-12)
    np.testing.assert_allclose(record[1].numpy(), h2, rtol=1e-12)


def test_forward_with_no_hidden_layer_is_a_linear_map():
    w = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    b = torch.tensor([0.5], dtype=torch.float64)
    x = torch.tensor([[3.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    assert forward([w, b], (), x)[:, 0].tolist() == [1.5, 2.5]


def test_dropout_masks_drop_about_p_and_rescale_the_kept_units():
    rng = np.random.default_rng(3)
    (mask,) = dropout_masks(rng, 200, [50], 0.3)
    kept = mask != 0
    np.testing.assert_allclose(np.unique(mask), [0.0, 1 / 0.7], rtol=1e-6)
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    assert mask.mean() == pytest.approx(1.0, abs=0.03)  # inverted dropout keeps the expectation
