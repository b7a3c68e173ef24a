"""A 2-D lab network kept as a file and loaded again: the same weights in a new session, which
trains on from them; reset and going back return to them; a file that does not fit is named and
changes nothing."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from playground_models import netfile


def _saved(s) -> tuple[str, bytes]:
    s.send(type="save")
    network = s.until("network")
    return network["name"], base64.b64decode(network["data"])


def _weights(frame) -> np.ndarray:
    return np.concatenate([frame["_arrays"]["weights"], frame["_arrays"]["biases"]])


def test_a_saved_network_loads_with_its_weights_and_trains_on_from_them(open_session):
    s = open_session()
    s.start(dataset="xor", networkShape=[5, 3], seed="kept", learningRate=0.1)
    s.send(type="step", n=40)
    trained = s.until("frame")
    while trained["steps"] < 40:
        trained = s.until("frame")
    name, data = _saved(s)
    assert name.startswith("netplay-kept-") and name.endswith(".netplay")
    header, tensors = netfile.read(data, 10**6)
    assert header["lab"] == "2d" and "h=" not in header["query"]
    assert sorted(tensors) == ["b1", "b2", "b3", "w1", "w2", "w3"]
    assert tensors["w1"].shape == (5, 2) and tensors["w3"].shape == (2, 3)

    other = open_session()
    other.start(seed="else")  # another experiment, replaced by the file's
    other.send(type="load", name="mine.netplay", data=base64.b64encode(data).decode())
    config = other.until("config")
    assert config["config"]["dataset"] == "xor" and config["config"]["seed"] == "kept"
    assert config["config"]["networkShape"] == [5, 3]
    assert "mine.netplay" in config["notice"] and config["errors"] == []
    frame = other.until("frame")
    np.testing.assert_array_equal(_weights(frame), _weights(trained))
    assert frame["epoch"] == 0  # the loaded network is the new run's start
    assert frame["metrics"] == trained["metrics"]  # the same net on the same data
    other.send(type="step", n=30)
    moved = other.until("frame")
    while moved["steps"] < 30:
        moved = other.until("frame")
    assert not np.array_equal(_weights(moved), _weights(trained))  # it trains on
    other.send(type="rewind", epoch=0)
    np.testing.assert_array_equal(_weights(other.until("frame")), _weights(trained))
    other.send(type="reset")
    back = other.until("frame")
    np.testing.assert_array_equal(_weights(back), _weights(trained))  # reset: the loaded net
    other.send(type="reseed", seed="fresh")  # a new seed: the seed's own weights again
    assert not np.array_equal(_weights(other.until("frame")), _weights(trained))


@pytest.mark.parametrize(("data", "says"), [
    (b"hello", "not a netplay network file"),
    (netfile.write("image", {}, "", {}, {}), "saved in the image lab"),
    (netfile.write("2d", {}, "dataset=xor&networkShape=5,3", {}, {"w1": np.zeros((5, 2))}),
     "b1 is missing or extra"),
    (netfile.write("2d", {}, "networkShape=2", {}, {
        "w1": np.zeros((2, 2)), "b1": np.zeros(2), "w2": np.zeros((2, 3)), "b2": np.zeros(2)}),
     "w2 is [2, 3], the network needs [2, 2]"),
    (netfile.write("2d", {}, "learningRate=banana", {}, {}), "learningRate: "),
    (netfile.write("2d", {}, "compat=tf", {}, {}), "TensorFlow Playground mode"),
    (netfile.write("2d", {}, "batchNorm=true", {}, {}), "batch normalization cannot be kept"),
])
def test_a_file_that_does_not_fit_is_named_and_nothing_changes(open_session, data, says):
    s = open_session()
    before = s.start(seed="stay")
    s.send(type="load", name="x.netplay", data=base64.b64encode(data).decode())
    error = s.until("error")
    assert error["field"] == "file" and says in error["message"], error
    s.send(type="snapshot")
    after = s.until("frame")
    np.testing.assert_array_equal(_weights(after), _weights(before))
    assert after["version"] == before["version"]


@pytest.mark.parametrize(("config", "says"), [
    ({"compat": "tf"}, "TensorFlow Playground mode"),
    ({"batchNorm": True}, "batch normalization cannot be kept"),
])
def test_what_a_file_cannot_hold_is_not_saved(open_session, config, says):
    s = open_session()
    s.start(**config)
    s.send(type="save")
    assert says in s.until("error")["message"]


@pytest.mark.parametrize("trained", [[1], {"epoch": "x"}, {"epoch": -3}, None])
def test_a_file_with_an_odd_history_or_count_loads_its_weights_without_replaying(
        open_session, trained):
    """A hand-made file whose link asks to open far along its history (`at`) and whose
    `trained` is not a count: its weights load, nothing is replayed or reported about the
    link's history, and the notice says epoch 0. A bad history is refused by its key."""
    s = open_session()
    s.start(networkShape=[3], seed="odd")
    _, data = _saved(s)
    header, tensors = netfile.read(data, 10**6)
    bad = netfile.write("2d", header["config"], header["query"] + "&h=garbage", {}, tensors)
    s.send(type="load", name="bad.netplay", data=base64.b64encode(bad).decode())
    err = s.until("error")  # a history the page did not write: refused, its key named once
    assert err["field"] == "file" and err["message"].startswith("h: must start with")
    s.send(type="reset")
    s.until("frame")  # the session goes on
    query = header["query"] + "&at=100000"
    odd = netfile.write("2d", header["config"], query, trained, tensors)
    s.send(type="load", name="odd.netplay", data=base64.b64encode(odd).decode())
    config = s.until("config")
    assert config["errors"] == [] and "odd.netplay" in config["notice"]
    assert "h=" not in config["query"] and "at=" not in config["query"]
    frame = s.until("frame")
    assert frame["epoch"] == 0
    np.testing.assert_array_equal(frame["_arrays"]["weights"],
                                  np.concatenate([tensors["w1"].ravel(), tensors["w2"].ravel()]))
