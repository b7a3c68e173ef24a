"""`set_weight` and `set_bias` over the socket (docs/protocol.md): one parameter set by hand,
shown in the next frame, bad ones refused by name, on both training paths (the fast kernel
and the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models import fastpath


@pytest.fixture(params=["fast", "reference"])
def path(request, monkeypatch) -> str:
    if request.param == "reference":
        monkeypatch.setattr(fastpath, "supports", lambda exp: False)
    elif not fastpath.supports(fastpath.Experiment()):
        pytest.skip("the fast kernel cannot be built here")
    return request.param


@pytest.fixture
def client(make_client, path):
    return make_client()


def test_set_weight_while_paused_replies_a_frame_with_that_value(open_session, path):
    s = open_session()
    first = s.start()  # x1, x2 → 4 → 2 → 2 classes
    assert first["path"] == path
    s.send(type="set_weight", layer=1, to=1, **{"from": 3}, value=-0.314)
    frame = s.next()
    assert frame["type"] == "frame" and frame["epoch"] == 0
    weights = frame["_arrays"]["weights"]
    index = 2 * 4 + 1 * 4 + 3  # after W₀ [4, 2]: row 1, column 3 of W₁ [2, 4]
    assert weights[index] == np.float32(-0.314)
    expected = first["_arrays"]["weights"].copy()
    expected[index] = np.float32(-0.314)
    np.testing.assert_array_equal(weights, expected)  # nothing else moved
    np.testing.assert_array_equal(frame["_arrays"]["biases"], first["_arrays"]["biases"])


def test_set_bias_while_paused_replies_a_frame_with_that_value(open_session, path):
    s = open_session()
    first = s.start()
    s.send(type="set_bias", layer=2, to=0, value=12)
    biases = s.next()["_arrays"]["biases"]
    expected = first["_arrays"]["biases"].copy()
    expected[4 + 2 + 0] = 12.0
    np.testing.assert_array_equal(biases, expected)


def test_an_edit_keeps_training_from_the_edited_value(open_session, path):
    s = open_session()
    s.start()
    s.send(type="step", n=2)
    trained = s.next()
    s.send(type="set_weight", layer=0, to=0, **{"from": 0}, value=5.0)
    edited = s.next()
    assert (edited["epoch"], edited["steps"]) == (trained["epoch"], trained["steps"]) == (2, 50)
    assert edited["_arrays"]["weights"][0] == 5.0
    s.send(type="step", n=1)
    stepped = s.next()["_arrays"]["weights"][0]
    assert stepped != 5.0 and abs(stepped - 5.0) < 0.5  # one epoch of small updates from 5


def test_an_edit_while_playing_shows_in_a_later_frame(open_session, path):
    s = open_session()
    s.start(learningRate=0.0001)
    s.send(type="play")
    assert s.next()["state"] == "playing"
    s.until("frame")
    s.send(type="set_bias", layer=0, to=3, value=-7.5)
    for _ in range(50):
        frame = s.until("frame")
        if abs(frame["_arrays"]["biases"][3] + 7.5) < 0.01:
            break
    else:
        raise AssertionError("no frame showed the edited bias")
    assert frame["state"] == "playing"
    s.send(type="pause")
    assert s.until("state")["state"] == "paused"


@pytest.mark.parametrize(
    ("message", "code", "field", "words"),
    [
        ({"type": "set_weight", "layer": 3, "to": 0, "from": 0, "value": 1}, "bad_value", "layer",
         "0..2"),
        ({"type": "set_weight", "layer": -1, "to": 0, "from": 0, "value": 1}, "bad_value", "layer",
         "got -1"),
        ({"type": "set_weight", "layer": 0, "to": 4, "from": 0, "value": 1}, "bad_value", "to",
         "4 neurons"),
        ({"type": "set_weight", "layer": 0, "to": 0, "from": 2, "value": 1}, "bad_value", "from",
         "2 values"),
        ({"type": "set_bias", "layer": 2, "to": 2, "value": 1}, "bad_value", "to", "0..1"),
        ({"type": "set_weight", "layer": 0, "to": 0, "from": 0, "value": 1001}, "bad_value",
         "value", "between -1000 and 1000"),
        ({"type": "set_bias", "layer": 0, "to": 0, "value": -1e300}, "bad_value", "value",
         "between -1000 and 1000"),
        ({"type": "set_weight", "layer": 0, "to": 0, "from": 0, "value": "0.5"}, "bad_message",
         "value", "number"),
        ({"type": "set_weight", "layer": 0, "to": 0, "value": 0.5}, "bad_message", "from",
         "required"),
        ({"type": "set_weight", "layer": 0.0, "to": 0, "from": 0, "value": 0.5}, "bad_message",
         "layer", "integer"),
        ({"type": "set_bias", "layer": 0, "to": True, "value": 0.5}, "bad_message", "to",
         "integer"),
        ({"type": "set_bias", "layer": 0, "to": 0, "from": 0, "value": 0.5}, "bad_message",
         "from", "not a field"),
    ],
)
def test_bad_edits_are_refused_by_name_and_change_nothing(open_session, path, message, code,
                                                          field, words):
    s = open_session()
    first = s.start()
    s.send(**message)
    err = s.next()
    assert (err["type"], err["code"], err["field"]) == ("error", code, field)
    assert words in err["message"]
    s.send(type="snapshot")
    frame = s.next()  # the session goes on, the parameters as they were
    np.testing.assert_array_equal(frame["_arrays"]["weights"], first["_arrays"]["weights"])
    np.testing.assert_array_equal(frame["_arrays"]["biases"], first["_arrays"]["biases"])


def test_a_number_too_large_for_a_float_is_not_finite(open_session, path):
    s = open_session()
    s.start()
    s.ws.send_text('{"type": "set_bias", "layer": 0, "to": 0, "value": 1e999}')  # JSON, yet inf
    err = s.next()
    assert (err["code"], err["field"]) == ("bad_value", "value") and "finite" in err["message"]


def test_edits_before_start_are_not_started(open_session):
    s = open_session()
    s.send(type="set_bias", layer=0, to=0, value=1.0)
    assert s.next()["code"] == "not_started"


def test_reset_undoes_an_edit(open_session):
    s = open_session()
    first = s.start()
    s.send(type="set_weight", layer=0, to=2, **{"from": 1}, value=3.0)
    s.next()
    s.send(type="reset")
    frame = s.next()
    np.testing.assert_array_equal(frame["_arrays"]["weights"], first["_arrays"]["weights"])
