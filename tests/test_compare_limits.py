"""Compare steps within the server's limits: every run checked against `max_parameters` and
`max_samples`, the training bounded by `max_compare_work`, and done on the app's shared
workers in slices that give the numbers of unsliced training."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.compare import Comparison, parse_compare
from playground_models.sweep import PointStopped, train_point
from playground_models.work import epoch_work
from server.frames import decode
from server.lessons import HELD

XOR = "runs=2&dataset=xor"


def step(client, url: str, epoch: int = 0, epochs: int = 0, who: str = "t"):
    return client.post(
        "/api/compare/step", json={"url": url, "client": who, "epoch": epoch, "epochs": epochs}
    )


@pytest.mark.parametrize(
    ("link", "field", "says"),
    [
        ("runs=2&r2.networkShape=8,8", "r2.networkShape", "run 2 has 114 parameters"),
        ("runs=3&networkShape=8,8&r1.networkShape=2", "networkShape", "run 2 has 114"),
        ("runs=2&networkShape=7,7&r2.sinX=true&r2.sinY=true", "r2.sinX", "run 2 has 107"),
        ("runs=2&r1.numSamples=700", "r1.numSamples", "run 1 has 700 data points"),
        ("runs=2&numSamples=5000", "numSamples", "run 1 has 5000 data points"),
    ],
)
def test_a_run_over_the_model_or_data_limits_is_refused_naming_it(make_client, link, field, says):
    client = make_client(max_parameters=100, max_samples=600)
    r = step(client, link)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "bad_value" and error["field"] == field
    assert says in error["message"] and "this server allows" in error["message"]


def test_runs_within_the_limits_train(make_client):
    client = make_client(max_parameters=100, max_samples=600)
    r = step(client, "runs=2&r2.networkShape=3,3&numSamples=600", epochs=2)
    assert r.status_code == 200
    assert decode(r.content)[0]["epoch"] == 2


def test_a_replay_over_max_compare_work_is_refused_naming_epoch(make_client):
    per_epoch = Comparison.from_url(XOR).epoch_work()
    assert per_epoch == 2 * 250 * (28 + 200)  # 2 runs × 250 training points × (weights + 200)
    client = make_client(max_compare_work=1)  # a million units: 8 epochs of this link
    r = step(client, XOR, epoch=100, epochs=1)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "epoch" and "max_compare_work" in error["message"]


def test_a_step_trains_the_epochs_that_fit_and_says_how_far_it_got(make_client):
    client = make_client(max_compare_work=1)
    r = step(client, XOR, epochs=50)
    header = decode(r.content)[0]
    fit = 1_000_000 // Comparison.from_url(XOR).epoch_work()
    assert header["epoch"] == fit == 8 and len(header["history"]) == fit
    # The page goes on from there, and gets the same numbers as a server without the limit.
    more = decode(step(client, XOR, epoch=fit, epochs=3).content)[0]
    free = make_client()
    reference = decode(step(free, XOR, epochs=fit + 3).content)[0]
    assert more["epoch"] == reference["epoch"] == 11
    assert more["runs"] == reference["runs"]


def test_a_net_too_big_for_one_epoch_is_refused_naming_epochs(make_client):
    client = make_client(max_compare_work=1)
    link = "runs=2&numSamples=2000&networkShape=16,16"  # 1.1 million units an epoch
    assert step(client, link, who="big").status_code == 200  # the first frame trains nothing
    r = step(client, link, epochs=1, who="big")
    assert r.status_code == 422 and r.json()["error"]["field"] == "epochs"
    held = HELD.items[("big", parse_compare(link).to_url())]  # kept for the page to go on
    assert held.epoch == 0


def test_a_long_replay_runs_in_slices_on_the_shared_workers(make_client):
    client = make_client()
    scheduler = client.app.state.scheduler
    calls: list[str] = []
    run = scheduler.run

    async def counting(fn, *args):
        calls.append(args[0].__name__ if fn.__name__ == "_timed" else fn.__name__)
        return await run(fn, *args)

    scheduler.run = counting
    link = "runs=2&numSamples=1000&batchSize=1&networkShape=16,16"
    r = step(client, link, epoch=30, epochs=2)
    assert r.status_code == 200 and decode(r.content)[0]["epoch"] == 32
    slices = calls.count("train_toward")
    work = 32 * Comparison.from_url(link).epoch_work()
    assert slices >= 5, f"{work:,} units in {slices} slices"
    assert calls.count("_history_entry") == 2 and calls[-1] == "_frame"


def test_training_in_slices_gives_the_numbers_of_whole_epochs():
    link = "runs=3&dataset=spiral&dropout=0.2&r2.batchSize=7&r3.optimizer=adam"
    whole, sliced = Comparison.from_url(link), Comparison.from_url(link)
    whole.train_epochs(4)
    slices = 0
    while not sliced.train_toward(4, 3_000):  # about a dozen updates a slice
        slices += 1
    assert slices > 50
    for a, b in zip(whole.trainers, sliced.trainers, strict=True):
        assert a.epoch == b.epoch == 4 and a.steps == b.steps
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())


def test_a_sweep_point_with_a_stop_check_trains_the_same_numbers_and_can_stop():
    link = "dataset=circle&networkShape=6&batchSize=3"
    assert train_point(link, 40, stop=lambda: False) == train_point(link, 40)
    looks = []

    def stop() -> bool:
        looks.append(1)
        return len(looks) >= 2

    with pytest.raises(PointStopped):
        train_point("numSamples=2000&batchSize=1&networkShape=16,16", 500, stop=stop)
    assert len(looks) == 2


def test_epoch_work_counts_training_points_times_weights_and_overhead():
    trainer = Comparison.from_url("runs=2&numSamples=1000&percTrainData=30").trainers[0]
    assert epoch_work(trainer) == 300 * (trainer.arch.num_parameters + 200)


def test_a_stopping_server_answers_shutting_down_instead_of_training(make_client):
    client = make_client()
    client.app.state.stopping.set()  # as Ctrl-C does (server/shutdown.py)
    r = step(client, XOR, epoch=50, epochs=5)
    assert r.status_code == 503 and r.json()["error"]["code"] == "shutting_down"
    sweep = client.post("/api/sweep", json={"url": "dataset=xor", "param": "dropout",
                                             "values": ["0", "0.1"], "epochs": 2000})
    lines = sweep.text.splitlines()
    assert len(lines) == 1 and '"code": "shutting_down"' in lines[0]
