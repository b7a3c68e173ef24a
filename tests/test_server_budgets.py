"""Work bounded before it starts: `step` in frame-budget slices and frames drawn within the
budget (docs/protocol.md, *Drawing budget* and `step`)."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.experiment import Experiment
from playground_models.knn import knn_grid
from playground_models.trainer import Trainer
from server.drawing import MIN_GRID, KnnBands, grid_levels
from server.frames import decode
from server.live import LiveRun

# The largest net and data the default limits allow, with the largest grid and k.
HEAVY = {"numSamples": 5000, "percTrainData": 90, "networkShape": [64] * 8, "gridSize": 200,
         "knn": 50, "xSquared": True, "ySquared": True, "xTimesY": True, "sinX": True,
         "sinY": True}


def _weights(frame: dict) -> np.ndarray:
    return frame["_arrays"]["weights"]


def test_a_step_over_the_update_limit_is_refused_naming_n(make_client, open_session):
    s = open_session(make_client(max_step_updates=100))
    s.start()  # 250 training points in batches of 10: 25 updates an epoch
    s.send(type="step", n=5)
    err = s.next()
    assert (err["type"], err["code"], err["field"]) == ("error", "bad_value", "n")
    assert "125 updates" in err["message"] and "100" in err["message"]
    s.send(type="step", n=4)  # 100 updates: allowed, and the session went on
    frame = s.next()
    assert (frame["epoch"], frame["steps"]) == (4, 100)


def test_the_hello_announces_the_update_limit(make_client, open_session):
    client = make_client(max_step_updates=1234)
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["limits"]["max_step_updates"] == 1234


@pytest.mark.parametrize("config", [
    {},  # the C kernel
    {"optimizer": "adam", "dropout": 0.1, "batchSize": 7},  # dropout's stream; a partial batch
])
def test_a_step_in_many_slices_equals_training_in_one_go(make_client, open_session, config):
    # A budget of a microsecond: every slice is one engine call of at most 8 updates.
    s = open_session(make_client(frame_budget_ms=0.001))
    s.start(**config)
    s.send(type="step", n=3)
    frame = s.next()
    alone = Trainer(Experiment(config))
    alone.train_epochs(3)
    assert (frame["epoch"], frame["steps"]) == (3, alone.steps)
    expected = np.concatenate([w.numpy().ravel() for w in alone.parameters()[0::2]])
    np.testing.assert_array_equal(_weights(frame), expected)


def test_pause_ends_a_long_step_after_its_slice_with_the_frame_first(make_client, open_session):
    s = open_session(make_client(frame_budget_ms=0.001, max_step_updates=1_000_000))
    s.start(numSamples=5000, batchSize=1)  # 2,500 updates an epoch: 250,000 for 100 epochs
    s.send(type="step", n=100)
    s.send(type="pause")
    frame = s.next()
    assert frame["type"] == "frame" and frame["epoch"] < 100
    assert s.next() == {"type": "state", "state": "paused", "epoch": frame["epoch"],
                        "steps_per_frame": 25}
    s.send(type="ping", id=1)
    assert s.next() == {"type": "pong", "id": 1}


def test_another_step_ends_the_one_in_progress(make_client, open_session):
    s = open_session(make_client(frame_budget_ms=0.001, max_step_updates=1_000_000))
    s.start(numSamples=5000, batchSize=1)
    s.send(type="step", n=100)
    s.send(type="step", n=1)
    first, second = s.next(), s.next()
    assert first["epoch"] < 100 and second["epoch"] == first["epoch"] + 1


def test_a_heavy_knn_frame_is_drawn_on_a_smaller_grid_within_the_budget():
    run = LiveRun(Experiment(HEAVY), draw_budget_s=0.05)
    header, arrays = decode(run.frame())  # as after `start`: the k-NN map complete at once
    assert header["grid"] < 200 and header["reduced"] == ["grid"]
    assert arrays["knn"].shape == arrays["output"].shape == (header["grid"],) * 2
    headers = []
    # Playing until the map is complete (about 20 frames here; more when a loaded machine's
    # measured costs move the grid between levels, since a new grid starts its map again).
    for k in range(400):
        if k >= 10 and "knn" in arrays:
            break
        header, arrays = decode(run.play_frame())
        headers.append(header)
        grid = header["grid"]
        assert grid in grid_levels(200) and MIN_GRID <= grid < 200
        assert "grid" in header["reduced"]
        assert arrays["output"].shape == (grid, grid)
        assert ("knn" in arrays) == ("knn" not in header["reduced"])
    assert "knn" in arrays, "the k-NN map never completed"
    # Bands joined are the map computed in one go.
    np.testing.assert_array_equal(arrays["knn"], knn_grid(run.trainer.data, 50, grid))
    # Drawn as asked, one such frame took 1.3-3.4 s here (501 ms on an idle machine); the
    # budget is 50 ms, bounded here generously for a loaded 2-core machine.
    costs = sorted(h["draw_ms"] for h in headers)
    assert costs[len(costs) // 2] < 150 and costs[-1] < 500, costs


def test_without_a_budget_the_frame_is_drawn_as_asked():
    header, arrays = decode(LiveRun(Experiment({**HEAVY, "numSamples": 500})).frame())
    assert (header["grid"], header["reduced"]) == (200, [])
    assert arrays["knn"].shape == (200, 200)


def test_a_light_frame_is_not_reduced():
    run = LiveRun(Experiment({"knn": 5}), draw_budget_s=0.05)
    for _ in range(3):
        header, arrays = decode(run.frame())
        assert (header["grid"], header["reduced"]) == (100, [])
        assert arrays["knn"].shape == (100, 100)


@pytest.mark.parametrize("config", [{"dataset": "spiral"}, {"problem": "regression"}])
def test_knn_in_bands_equals_the_map_in_one_go(config):
    split = Trainer(Experiment({**config, "numSamples": 1000})).data
    bands = KnnBands()
    result, calls = None, 0
    while result is None:
        result = bands.get(split, 7, 60, 0.0)  # no time left: the smallest band each frame
        calls += 1
    assert calls > 1
    np.testing.assert_array_equal(result, knn_grid(split, 7, 60))
    assert bands.get(split, 7, 60, 0.0) is result  # kept: no more work for later frames


def test_grid_levels_halve_down_to_the_neuron_maps_side():
    assert grid_levels(200) == [200, 100, 50, 25, 20]
    assert grid_levels(30) == [30, 20]
    assert grid_levels(20) == [20]


def test_a_light_frame_trains_in_one_engine_call_once_an_update_has_been_timed(monkeypatch):
    run = LiveRun(Experiment())
    calls: list[int] = []
    train = run.trainer.train_steps

    def counted(n: int, stop_at_epoch_end: bool = False) -> int:
        calls.append(n)
        return train(n, stop_at_epoch_end)

    monkeypatch.setattr(run.trainer, "train_steps", counted)
    run.train_frame(0.05)  # nothing timed yet: a small first call of 8, then the rest
    assert calls[0] == 8 and sum(calls) == 25
    calls.clear()
    run.train_frame(0.05)  # 25 updates of the default net fit its budget: one call
    assert calls == [25]
    run.update(run.experiment.replace(networkShape=(8, 8)))  # another net: timed afresh
    calls.clear()
    run.train_frame(0.05)
    assert calls[0] == 8 and sum(calls) == 25
