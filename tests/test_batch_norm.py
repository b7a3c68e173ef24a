"""Batch normalization in the 2-D lab (`batchNorm`) against torch.nn written out independently:
`nn.Linear` → `nn.BatchNorm1d` → activation per hidden layer, trained by `torch.optim` on the
trainer's own batches, must give the same weights, γ, β and running estimates; and everything
drawn or measured outside training uses the running estimates, as `module.eval()` does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from playground_models.experiment import Experiment
from playground_models.network import Architecture, initial_parameters
from playground_models.snapshot import grid_inputs
from playground_models.trainer import Trainer

# 100 training points in batches of 7: every epoch ends with a short batch of 2.
NET = Experiment(numSamples=200, networkShape=(5, 4), batchNorm=True, batchSize=7,
                 activation="relu", init="he", optimizer="momentum", learningRate=0.05)


def torch_net(exp: Experiment) -> nn.Sequential:
    """The same net as torch modules, starting from the trainer's initial parameters."""
    arch = Architecture.of(exp)
    init = initial_parameters(arch, exp)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(arch.sizes[:-1], arch.sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(init[2 * i]))
            linear.bias.copy_(torch.from_numpy(init[2 * i + 1]))
        layers.append(linear)
        if i < len(arch.activations):
            layers += [nn.BatchNorm1d(n_out), nn.ReLU()]
    return nn.Sequential(*layers)


def train_alike(trainer: Trainer, net: nn.Sequential, epochs: int) -> None:
    """Train the trainer `epochs` epochs, and `net` with torch.optim on the very same batches."""
    exp = trainer.experiment
    opt = torch.optim.SGD(net.parameters(), lr=exp.learningRate, momentum=exp.momentum)
    for _ in range(epochs):
        net.train()
        for rows in trainer.next_batches(10**9):
            loss = F.cross_entropy(net(trainer.x_train[torch.from_numpy(rows)]),
                                   trainer.y_train[torch.from_numpy(rows)])
            opt.zero_grad()
            loss.backward()
            opt.step()
        trainer.train_epochs(1)  # the same batches: next_batches drew this epoch's shuffle


def test_training_matches_torch_nn_batchnorm1d():
    trainer = Trainer(NET)
    assert trainer.path == "reference"
    net = torch_net(NET)
    train_alike(trainer, net, epochs=3)
    assert trainer.steps == 3 * 15
    linears = [m for m in net if isinstance(m, nn.Linear)]
    norms = [m for m in net if isinstance(m, nn.BatchNorm1d)]
    for mine, theirs in zip(trainer.parameters(), [t for m in linears for t in (m.weight, m.bias)],
                            strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    bn = trainer.norm
    assert bn is not None
    for i, m in enumerate(norms):
        for mine, theirs in ((bn.gamma[i], m.weight), (bn.beta[i], m.bias),
                             (bn.mean[i], m.running_mean), (bn.var[i], m.running_var)):
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(),
                                       rtol=1e-4, atol=1e-5)
    # Outside training: the running estimates, as module.eval() uses them.
    net.eval()
    with torch.no_grad():
        want = F.cross_entropy(net(trainer.x_test), trainer.y_test).item()
        grid, _ = grid_inputs(trainer, 20, 10)
        want_grid = torch.softmax(net(grid.T), dim=1)[:, 1]
    got = trainer.metrics()
    assert got["test_loss"] == pytest.approx(want, rel=1e-4)
    snap = trainer.snapshot(20, 10)
    np.testing.assert_allclose(snap.output.ravel(), (want_grid * 2 - 1).numpy(), atol=1e-4)


def test_looking_never_moves_the_running_estimates():
    trainer = Trainer(NET)
    trainer.train_epochs(2)
    bn = trainer.norm
    assert bn is not None
    before = [t.clone() for t in bn.mean + bn.var]
    first = trainer.metrics()
    trainer.snapshot(20, 10)
    from playground_models.gradients import layer_gradient_norms
    assert all(g is not None and g > 0 for g in layer_gradient_norms(trainer))
    assert trainer.metrics() == first
    for a, b in zip(before, bn.mean + bn.var, strict=True):
        assert torch.equal(a, b)


def test_a_batch_of_one_trains_on_the_running_estimates():
    # 100 training points in batches of 3: the 34th batch of each epoch has one point.
    exp = NET.replace(batchSize=3)
    trainer = Trainer(exp)
    trainer.train_epochs(2)
    m = trainer.metrics()
    assert trainer.steps == 68 and m["train_loss"] is not None and m["train_acc"] > 0.5
    single = Trainer(exp.replace(batchSize=1))
    single.train_steps(5)
    assert single.metrics()["train_loss"] is not None


def test_a_net_with_batch_norm_always_trains_on_the_reference_path():
    assert Trainer(NET).path == "reference"
    plain = Trainer(NET.replace(batchNorm=False), backend="reference")
    assert plain.norm is None
    # Switching it is a rebuild: same seed, epoch 0, the same initial weights.
    normed = Trainer(NET)
    for a, b in zip(plain.parameters(), normed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_over_the_socket_batch_norm_is_a_rebuild_that_trains_on_the_reference_path(
        make_client, open_session):
    s = open_session(make_client())
    first = s.start(batchNorm=True, networkShape=[4, 4])
    assert first["path"] == "reference"
    s.send(type="step", n=2)
    assert s.until("frame")["epoch"] == 2
    s.send(type="update", changes={"batchNorm": False})
    config = s.until("config")
    assert config["effects"] == {"batchNorm": "rebuild"} and config["model"]["path"] == "fast"
    frame = s.until("frame")
    assert frame["epoch"] == 0 and frame["path"] == "fast"
    np.testing.assert_array_equal(frame["_arrays"]["weights"], first["_arrays"]["weights"])
