"""Pool rows (`playground_models.pool`): runs trained as rows of one batched program.

Each row must train as its own `Trainer` on the reference path would (parameters within 1e-5
after one epoch, losses within 1 % after many), and bit for bit as it would alone in a pool,
whatever its neighbours do: that is what keeps a shared link reproducible on a server that
groups its sessions.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.experiment import Experiment
from playground_models.params import BY_NAME
from playground_models.pool import PooledBackend, PoolSet
from playground_models.trainer import Trainer, train_together

BASE = Experiment(numSamples=200, networkShape=(4, 3))
OPTIMIZERS = BY_NAME["optimizer"].choices  # every one the product offers


def _flat(trainer: Trainer) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in trainer.parameters()])


def _pair(exp: Experiment, capacity: int = 4) -> tuple[Trainer, Trainer]:
    return Trainer(exp, pools=PoolSet("cpu", capacity)), Trainer(exp, backend="reference")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_row_matches_the_reference_after_one_epoch(optimizer):
    # Batches of 7 from 100 points: every epoch ends with a short batch of 2, padded in the pool.
    exp = BASE.replace(optimizer=optimizer, learningRate=0.03, momentum=0.5, dropout=0.2,
                       regularization="L2", regularizationRate=0.01, batchSize=7)
    pooled, ref = _pair(exp)
    pooled.train_epochs(1)
    ref.train_epochs(1)
    assert pooled.path == "batched" and ref.path == "reference"
    assert (pooled.epoch, pooled.steps) == (ref.epoch, ref.steps) == (1, 15)
    np.testing.assert_allclose(_flat(pooled), _flat(ref), atol=1e-5)
    assert not np.allclose(_flat(pooled), _flat(Trainer(exp)), atol=1e-3)  # it did train


@pytest.mark.parametrize("changes", [
    {"activation": "relu", "regularization": "L1", "regularizationRate": 0.003},
    {"loss": "hinge", "activation": "sigmoid"},
    {"loss": "square", "optimizer": "rmsprop", "learningRate": 0.01},
    {"problem": "regression", "regDataset": "reg-plane", "activation": "elu", "loss": "huber"},
    {"dataset": "blobs", "numClasses": 3, "activation": "gelu", "optimizer": "adam"},
])
def test_losses_agree_with_the_reference_after_many_epochs(changes):
    pooled, ref = _pair(BASE.replace(**changes))
    pooled.train_epochs(60)
    ref.train_epochs(60)
    got, want = pooled.metrics(), ref.metrics()
    assert pooled.steps == ref.steps == 600
    assert got["train_loss"] == pytest.approx(want["train_loss"], rel=0.01)
    assert got["test_loss"] == pytest.approx(want["test_loss"], rel=0.01)


def test_a_row_trains_bit_for_bit_alike_alone_and_among_busy_neighbours():
    exp = BASE.replace(optimizer="adam", dropout=0.1, batchSize=7)
    alone = Trainer(exp, pools=PoolSet("cpu", 4))
    crowd = PoolSet("cpu", 4)
    mine = Trainer(exp, pools=crowd)
    neighbours = [Trainer(exp.replace(seed=f"n{i}", learningRate=0.01 * (i + 1),
                                      regularization="L1", regularizationRate=0.001), pools=crowd)
                  for i in range(5)]  # 6 runs in pools of 4: two pools, mine shares the first
    assert mine.backend.pool is neighbours[0].backend.pool
    assert neighbours[3].backend.pool is not mine.backend.pool
    for k in range(12):
        alone.train_steps(13)
        train_together([(mine, 13)] + [(n, 5 + 3 * i + k) for i, n in enumerate(neighbours)])
    assert (alone.epoch, alone.steps) == (mine.epoch, mine.steps) == (10, 156)
    np.testing.assert_array_equal(_flat(alone), _flat(mine))
    assert crowd.stats()["rows_in_use"] == 6
    stats = crowd.stats()
    assert stats["updates"] == mine.steps + sum(n.steps for n in neighbours)
    assert stats["batched_steps"] < stats["updates"]  # rows shared their steps


def test_a_diverging_row_stops_where_the_reference_does_and_its_neighbour_goes_on():
    risky = BASE.replace(problem="regression", activation="relu", networkShape=(8, 8))
    pools = PoolSet("cpu", 4)
    wild = Trainer(risky.replace(learningRate=10.0, seed="x"), pools=pools)
    calm = Trainer(risky.replace(learningRate=0.01, seed="y"), pools=pools)
    ref = Trainer(risky.replace(learningRate=10.0, seed="x"), backend="reference")
    train_together([(wild, 300), (calm, 300)])
    ref.train_steps(300)
    assert ref.diverged_at is not None
    assert (wild.diverged_at, wild.steps) == (ref.diverged_at, ref.steps)
    assert calm.diverged_at is None and calm.steps == 300 and calm.epoch == 30


def test_rows_are_given_back_on_reset_rebuild_and_close():
    pools = PoolSet("cpu", 2)
    a, b = Trainer(BASE, pools=pools), Trainer(BASE.replace(seed="b"), pools=pools)
    assert pools.stats()["rows_in_use"] == 2 and pools.stats()["pools"] == 1
    a.train_epochs(2)
    a.reset()  # a fresh row, from the initial weights, with fresh optimizer state
    assert pools.stats()["rows_in_use"] == 2
    np.testing.assert_array_equal(_flat(a), _flat(Trainer(BASE)))
    a.update(a.experiment.replace(networkShape=(5,)))  # another architecture: another pool
    assert pools.stats()["pools"] == 2 and pools.stats()["rows_in_use"] == 2
    a.close()
    b.close()
    b.close()  # twice is harmless
    assert pools.stats()["rows_in_use"] == 0
    Trainer(BASE.replace(networkShape=(6,)), pools=pools)  # the empty pools are freed
    assert pools.stats()["pools"] == 1  # the freed pools' counts stay in the totals:
    assert pools.stats()["batched_steps"] == pools.stats()["updates"] == 20  # a's two epochs


def test_a_big_net_gets_a_pool_of_fewer_rows():
    pools = PoolSet("cpu", 256)
    small = Trainer(BASE, pools=pools).backend.pool
    big = Trainer(BASE.replace(networkShape=(64,) * 8), pools=pools).backend.pool
    assert small.capacity == 256
    assert big.params.shape == (4194304 // 29442, 29442) == (142, 29442)  # 16 MiB a tensor


@pytest.mark.parametrize(("change", "state_kept"), [({"optimizer": "rmsprop"}, False),
                                                     ({"batchSize": 20}, True)])
def test_a_live_change_of_pool_keeps_training_as_the_reference_does(change, state_kept):
    exp = BASE.replace(optimizer="adam", learningRate=0.01)
    pooled, ref = _pair(exp)
    first_pool = pooled.backend.pool
    for t in (pooled, ref):
        t.train_epochs(2)
        t.update(t.experiment.replace(**change))
        t.train_epochs(2)
    assert pooled.backend.pool is not first_pool and first_pool.used == 0
    np.testing.assert_allclose(_flat(pooled), _flat(ref), atol=1e-5)
    # The moved optimizer state matters: restarting it would train somewhere else.
    fresh = Trainer(exp, backend="reference")
    fresh.train_epochs(2)
    fresh.update(fresh.experiment.replace(**change))
    fresh.backend.configure(fresh.experiment.replace(optimizer="sgd"))
    fresh.backend.configure(fresh.experiment)  # the same settings, optimizer state cleared
    fresh.train_epochs(2)
    assert np.allclose(_flat(fresh), _flat(ref), atol=1e-5) is not state_kept


def test_hand_edits_reach_the_row_and_training_goes_on_from_them():
    pooled, ref = _pair(BASE.replace(optimizer="momentum", momentum=0.9))
    for t in (pooled, ref):
        t.train_epochs(1)
        t.set_weight(1, 2, 3, 0.75)
        t.set_bias(0, 1, -2.0)
    assert pooled.parameters()[2][2, 3] == np.float32(0.75)
    assert pooled.parameters()[1][1] == np.float32(-2.0)
    for t in (pooled, ref):
        t.train_epochs(1)
    np.testing.assert_allclose(_flat(pooled), _flat(ref), atol=1e-5)


def test_a_pool_whose_snapshots_read_a_host_copy_trains_and_edits_the_same():
    # On a GPU, snapshots read a copy of the rows kept on the host: the same bookkeeping here.
    exp = BASE.replace(optimizer="adam", batchSize=7, dropout=0.1)
    direct, copied = Trainer(exp, pools=PoolSet("cpu", 4)), Trainer(exp, pools=PoolSet(
        "cpu", 4, host_copy=True))
    assert copied.backend.pool.host is not copied.backend.pool.params
    for t in (direct, copied):
        train_together([(t, 20)])
        t.set_weight(0, 1, 0, 0.5)
        t.train_epochs(2)
        t.update(t.experiment.replace(batchSize=10, learningRate=0.02))  # moves to another pool
        t.train_epochs(1)
    np.testing.assert_array_equal(_flat(direct), _flat(copied))
    np.testing.assert_array_equal(copied.backend.pool.host, copied.backend.pool.params)


def test_a_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        PoolSet("cpu", 0)


def test_train_together_refuses_trainers_outside_pools():
    with pytest.raises(TypeError, match="pooled"):
        train_together([(Trainer(BASE), 3)])
    assert isinstance(Trainer(BASE, pools=PoolSet()).backend, PooledBackend)
