"""Rewind and undo (`rewind`, `undo` over the socket): the run goes back to an earlier moment
of its own, shown exactly (the frame is the one it showed then), and training from there forks
— a new future that is the run's own, as replayable by its link as any."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.experiment import Experiment
from playground_models.history import Replay
from playground_models.trainer import Trainer


def frame_at(s, epoch: int) -> dict:
    frame = s.until("frame")
    while frame["epoch"] < epoch:
        frame = s.until("frame")
    return frame


def same_picture(a: dict, b: dict) -> None:
    for key in ("weights", "biases", "output"):
        np.testing.assert_array_equal(a["_arrays"][key], b["_arrays"][key])
    assert a["metrics"] == b["metrics"]


def test_rewind_shows_the_earlier_frame_exactly_and_a_fork_diverges_from_the_old_future(open_session):
    s = open_session()
    s.start(dataset="spiral", networkShape=[6, 4], numSamples=200)
    s.send(type="step", n=4)
    at4 = frame_at(s, 4)
    s.send(type="update", changes={"learningRate": 0.3})
    s.until("config")
    s.send(type="step", n=4)
    old_future = frame_at(s, 8)

    s.send(type="rewind", epoch=4)
    rewound = s.until("rewound")
    assert (rewound["epoch"], rewound["from"]) == (4, 8)
    config = s.until("config")
    assert config["config"]["learningRate"] == 0.03  # the change came after epoch 4's frame
    assert config["history"]["changes"] == 0 and "h=" not in config["query"]
    back = s.until("frame")
    assert back["epoch"] == 4
    same_picture(back, at4)
    assert s.until("state")["state"] == "paused"

    # The fork: the same four epochs at another rate end elsewhere than the old future.
    s.send(type="update", changes={"learningRate": 0.01})
    s.until("config")
    s.send(type="step", n=4)
    fork = frame_at(s, 8)
    assert fork["metrics"]["train_loss"] != old_future["metrics"]["train_loss"]
    assert not np.array_equal(fork["_arrays"]["weights"], old_future["_arrays"]["weights"])

    # Going back into the fork's future and forward again gives the old future once more
    # when the same change is made: the rewind changed nothing else.
    s.send(type="rewind", epoch=4)
    s.until("rewound")
    s.send(type="update", changes={"learningRate": 0.3})
    s.until("config")
    s.send(type="step", n=4)
    same_picture(frame_at(s, 8), old_future)


def test_undo_goes_back_to_the_moment_before_the_last_change(open_session):
    s = open_session()
    s.start(dataset="xor", networkShape=[5])
    s.send(type="step", n=2)
    frame_at(s, 2)
    s.send(type="update", changes={"regularization": "L2", "regularizationRate": 0.01})
    s.until("config")
    s.send(type="step", n=3)
    frame_at(s, 5)
    s.send(type="snapshot")
    before = s.until("frame")
    s.send(type="set_weight", layer=1, to=0, **{"from": 2}, value=1.5)
    edited = s.until("frame")
    assert edited["_arrays"]["weights"][10 + 2] == np.float32(1.5)  # after layer 0's 5 × 2

    s.send(type="undo")
    assert s.until("rewound")["epoch"] == 5
    config = s.until("config")
    assert config["history"]["changes"] == 1  # the λ change stays; the edit is gone
    same_picture(s.until("frame"), before)

    s.send(type="undo")  # and the λ change: back to epoch 2 without regularization
    assert s.until("rewound")["epoch"] == 2
    config = s.until("config")
    assert config["config"]["regularization"] == "none" and config["history"]["changes"] == 0
    assert s.until("frame")["epoch"] == 2

    s.send(type="undo")
    error = s.until("error")
    assert (error["code"], error["field"]) == ("cannot_rewind", "type")
    assert "no live change to undo" in error["message"]


def test_a_rewind_past_now_or_in_tf_mode_or_too_long_is_refused_by_name(make_client, open_session):
    s = open_session(make_client(max_replay_updates=50))
    s.start(networkShape=[3])
    s.send(type="rewind", epoch=1)
    error = s.until("error")
    assert (error["code"], error["field"]) == ("bad_value", "epoch")
    assert "at most 0" in error["message"]
    s.send(type="step", n=20)
    frame_at(s, 20)
    # Epoch 3 comes before the first checkpoint (epoch 4): 3 × 25 updates from the start,
    # more than this server replays. Epoch 17 is one epoch past the checkpoint at 16.
    s.send(type="rewind", epoch=3)
    error = s.until("error")
    assert (error["code"], error["field"]) == ("cannot_rewind", "epoch")
    assert "replays 75 updates" in error["message"] and "at most 50" in error["message"]
    s.send(type="rewind", epoch=17)
    assert s.until("rewound")["epoch"] == 17
    s.send(type="rewind", epoch=-1)
    assert s.until("error")["field"] == "epoch"

    s.send(type="start", url="compat=tf")
    s.until("frame")
    s.send(type="rewind", epoch=0)
    error = s.until("error")
    assert error["code"] == "cannot_rewind" and "TensorFlow Playground mode" in error["message"]


# --- in the engine: checkpoints ---------------------------------------------------------------

def a_run(trainer: Trainer) -> None:
    """Live changes of every kind across 30 epochs (7 checkpoints: every 4 epochs)."""
    n = len(trainer.y_train)
    trainer.train_steps(6 * n // 10 + 3)
    trainer.update(trainer.experiment.replace(learningRate=0.1, regularization="L2",
                                              regularizationRate=0.003))
    trainer.train_epochs(5)
    trainer.set_weight(1, 0, 2, 0.75)
    trainer.update(trainer.experiment.replace(optimizer="adam", learningRate=0.01,
                                              points=((1.0, 2.0, 1.0),), removed=(3,)))
    trainer.train_epochs(9)
    trainer.update(trainer.experiment.replace(batchSize=7, momentum=0.5))
    trainer.train_epochs(10)


def weights(t: Trainer) -> list[np.ndarray]:
    return [p.numpy().copy() for p in t.parameters()]


def trainers():
    exp = Experiment(dataset="spiral", networkShape=(5, 4), numSamples=120, seed="cp")
    return {"fast": lambda: Trainer(exp), "reference": lambda: Trainer(exp, backend="reference")}


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_going_back_from_a_checkpoint_gives_a_replay_from_the_starts_numbers(path):
    make = trainers()[path]
    run = make()
    assert run.path == path
    a_run(run)
    history = list(run.history)
    assert len(history) == 4 and run.epoch >= 25
    assert [c.epoch for c in run.checkpoints.items] == list(range(4, run.epoch + 1, 4))
    # Undo: to the very update of the last change, before it; a checkpoint is nearer.
    last = history[-1]
    assert run.checkpoints.before(None, last[1], 3).steps > 0
    run.go_back(history[:-1], at_step=last[1]).advance()
    fresh = make()
    Replay(fresh, history[:-1], at_step=last[1]).advance()
    assert run.steps == fresh.steps == last[1] and run.history == history[:-1] == fresh.history
    for a, b in zip(weights(run), weights(fresh), strict=True):
        np.testing.assert_array_equal(a, b)
    run.update(run.experiment.replace(batchSize=7, momentum=0.5))  # made again, at that step
    run.train_epochs(10)
    history = list(run.history)
    for epoch in (26, 13, 5, 9, 2, 0):
        run.go_back(history, at_epoch=epoch).advance()
        fresh = make()
        Replay(fresh, history, epoch).advance()
        assert (run.epoch, run.steps, run.history) == (fresh.epoch, fresh.steps, fresh.history)
        assert run.experiment == fresh.experiment
        for a, b in zip(weights(run), weights(fresh), strict=True):
            np.testing.assert_array_equal(a, b)
        # and on from there, the same future: optimizer state and shuffles came back too
        run.train_epochs(3)
        fresh.train_epochs(3)
        for a, b in zip(weights(run), weights(fresh), strict=True):
            np.testing.assert_array_equal(a, b)
        history = list(run.history)  # the future is gone; going back again reads what is left


def test_checkpoints_stay_within_their_count_and_bytes_spread_over_the_run():
    from playground_models.checkpoints import CAP, MAX_BYTES, Checkpoints

    assert Checkpoints(28).cap == CAP  # the default net: 32 of 336 bytes
    assert Checkpoints(100_000).cap == 6 and MAX_BYTES >= 6 * 100_000 * 12  # the largest net
    run = Trainer(Experiment(networkShape=(8,) * 6, numSamples=50, batchSize=25))
    run.checkpoints.cap = 5  # as a larger net would have it
    run.train_epochs(300)
    epochs = [c.epoch for c in run.checkpoints.items]
    assert 3 <= len(epochs) <= 5 and epochs == sorted(epochs)
    # spread over the whole run: none further apart than twice the run over the count
    assert epochs[0] <= 2 * 300 // 5 and epochs[-1] > 300 // 2
