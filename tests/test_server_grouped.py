"""A server that groups its sessions (`--group-sessions`): sessions of one architecture trained
as rows of one batched program, each still reproducing its own numbers bit for bit."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from playground_models import trainer as trainer_module
from playground_models.experiment import Experiment
from playground_models.pool import PoolSet
from playground_models.trainer import Trainer
from server.scheduler import Scheduler
from server.settings import Settings


@pytest.fixture
def client(make_client):
    return make_client(group_sessions="cpu", group_capacity=4)


def _health(client) -> dict:
    return client.get("/api/health").json()["grouped"]


def test_a_grouped_session_trains_as_its_pool_row_would_alone_while_another_plays(
        client, open_session):
    busy, mine = open_session(), open_session()
    busy.start(dataset="xor", learningRate=0.1, seed="other")
    busy.send(type="speed", steps_per_frame=40)
    busy.send(type="play")
    first = mine.start(dataset="spiral", optimizer="adam", dropout=0.1)
    assert first["path"] == "batched"
    mine.send(type="step", n=6)
    frame = mine.until("frame")
    assert (frame["epoch"], frame["steps"]) == (6, 150)

    alone = Trainer(Experiment(dataset="spiral", optimizer="adam", dropout=0.1),
                    pools=PoolSet("cpu", 4))
    alone.train_epochs(6)
    weights = np.concatenate([w.numpy().ravel() for w in alone.parameters()[0::2]])
    np.testing.assert_array_equal(frame["_arrays"]["weights"], weights)

    playing = busy.until("frame")
    while playing["epoch"] == 0:  # the first frame of a new pool trains a few steps only
        playing = busy.until("frame")
    assert playing["path"] == "batched"
    stats = _health(client)
    assert stats["device"] == "cpu" and stats["capacity"] == 4
    assert stats["pools"] == 2  # the busy session steps with SGD, mine with Adam
    assert stats["rows_in_use"] == 2 and stats["updates"] >= 150
    busy.send(type="pause")


def test_sessions_give_their_rows_back_when_they_restart_and_close(client, open_session):
    s = open_session()
    s.start()
    s.start(networkShape=[3])  # a new run: the old row goes back
    assert _health(client)["rows_in_use"] == 1
    s.ws.close()
    for _ in range(100):  # the server notices the close on its own time
        if _health(client)["rows_in_use"] == 0:
            break
        client.get("/api/health")
    assert _health(client)["rows_in_use"] == 0


def test_frames_that_ask_together_are_trained_in_one_program(monkeypatch):
    calls: list[int] = []
    real = trainer_module.train_together

    def counting(work):
        calls.append(len(work))
        real(work)

    monkeypatch.setattr("server.scheduler.train_together", counting)
    pools = PoolSet("cpu", 8)
    trainers = [Trainer(Experiment(seed=f"s{i}"), pools=pools) for i in range(5)]
    trainer_module.train_together([(Trainer(Experiment(), pools=pools), 1)])  # measures the pool
    scheduler = Scheduler(workers=2, pools=pools)

    async def frames():
        await asyncio.gather(*(scheduler.train_pooled(t, 25, budget_s=1.0) for t in trainers))
        await asyncio.gather(*(scheduler.train_pooled(t, 10, budget_s=1.0) for t in trainers[:2]))

    try:  # on a thread of its own: the browser tests leave a running loop on this one
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, frames()).result()
    finally:
        scheduler.shutdown()
    assert calls == [5, 2]
    assert [t.steps for t in trainers] == [35, 35, 25, 25, 25]
    stats = pools.stats()  # one epoch of five rows in 25 steps, then two rows in 10 more
    assert (stats["batched_steps"], stats["updates"]) == (1 + 35, 1 + 145)


def test_the_group_setting_is_checked_and_off_by_default():
    assert Settings().group_device() is None
    with pytest.raises(ValidationError, match="group_sessions"):
        Settings(group_sessions="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValidationError, match="no CUDA device"):
            Settings(group_sessions="cuda")
        assert Settings(group_sessions="auto").group_device() is None
    assert Settings(group_sessions="off").group_device() is None
    assert Settings(group_sessions="cpu").group_device() == "cpu"


def test_a_new_pools_first_frame_trains_a_few_steps_then_the_budget_decides():
    pools = PoolSet("cpu", 4)
    trainer = Trainer(Experiment(), pools=pools)
    scheduler = Scheduler(workers=1, pools=pools)

    async def frames():
        await scheduler.train_pooled(trainer, 25, budget_s=1.0)  # cost unknown: 8 to measure
        await scheduler.train_pooled(trainer, 25, budget_s=1.0)  # measured: all 25 fit
        await scheduler.train_pooled(trainer, 25, budget_s=1e-9)  # over budget: still one

    try:
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, frames()).result()
    finally:
        scheduler.shutdown()
    assert trainer.steps == 8 + 25 + 1
