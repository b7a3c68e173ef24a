"""Every client message of docs/protocol.md, and every error path, through FastAPI's TestClient."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground_models.experiment import Experiment
from playground_models.trainer import Trainer
from server.protocol import _ADAPTER, PROTOCOL_VERSION, ProtocolError, parse_message

COMMANDS = ["update", "play", "pause", "step", "reset", "reseed", "snapshot"]


def test_hello_announces_protocol_and_limits(client):
    with client.websocket_connect("/ws") as ws:
        hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert hello["protocol"] == PROTOCOL_VERSION == 1
    assert hello["server"]["name"] == "netplay"
    assert hello["limits"]["max_fps"] == 60
    assert set(hello["limits"]) >= {"max_sessions", "max_parameters", "max_samples",
                                    "max_message_bytes", "max_messages_per_second",
                                    "idle_timeout_s", "max_steps_per_frame"}


def test_start_sends_config_data_frame_state(open_session):
    s = open_session()
    s.send(type="start", config={"dataset": "xor", "networkShape": [3]})
    config = s.next()
    assert config["type"] == "config" and config["version"] == 1
    assert config["config"]["dataset"] == "xor"
    assert "dataset=xor" in config["query"] and "networkShape=3" in config["query"]
    assert config["model"]["layers"] == [2, 3, 2]
    data = s.next()
    assert data["type"] == "data" and data["num_classes"] == 2 and data["one_d"] is False
    split = Trainer(Experiment(dataset="xor", networkShape=(3,))).data
    np.testing.assert_allclose(data["_arrays"]["train"][:, :2], split.train_x, atol=1e-5)
    np.testing.assert_array_equal(data["_arrays"]["test"][:, 2], split.test_y)
    frame = s.next()
    assert frame["type"] == "frame" and frame["epoch"] == 0 and frame["version"] == 1
    arrays = frame["_arrays"]
    assert arrays["output"].dtype == np.int8 and arrays["output"].shape == (100, 100)
    assert arrays["neurons"].shape == (2 + 3, 20, 20)  # two inputs, three hidden neurons
    assert arrays["weights"].shape == (2 * 3 + 3 * 2,) and arrays["biases"].shape == (5,)
    assert s.next()["state"] == "paused"


def test_frame_grid_matches_the_trainer_snapshot(open_session):
    s = open_session()
    frame = s.start(gridSize=40)
    snap = Trainer(Experiment(gridSize=40)).snapshot(grid_size=40)
    expected = np.rint(np.clip(snap.output, -1, 1) * 127).astype(np.int8)
    np.testing.assert_array_equal(frame["_arrays"]["output"], expected)
    assert frame["grid"] == 40


def test_start_from_a_share_link_reports_unknown_keys_and_bad_values(open_session):
    s = open_session()
    s.send(type="start", url="http://x/#learningRate=0.3&noise=999&bogus=1&playButton_hide=true")
    config = s.next()
    assert config["config"]["learningRate"] == 0.3
    assert config["config"]["noise"] == 0  # the bad value falls back to its default
    assert [e["field"] for e in config["errors"]] == ["noise"]
    assert any("bogus" in w for w in config["warnings"])
    assert config["hidden"] == ["playButton"] and "playButton_hide=true" in config["query"]


@pytest.mark.parametrize(
    ("config", "field"),
    [({"learningRate": 99}, "learningRate"), ({"nope": 1}, "nope"),
     ({"networkShape": [4, "x"]}, "networkShape"), ({"x": False, "y": False}, "x")],
)
def test_start_with_a_bad_config_names_the_field_and_session_goes_on(open_session, config, field):
    s = open_session()
    s.send(type="start", config=config)
    err = s.next()
    assert (err["type"], err["code"], err["field"]) == ("error", "bad_value", field)
    assert field in err["message"]
    assert s.start()["epoch"] == 0


@pytest.mark.parametrize("message", [{"type": "start"},
                                     {"type": "start", "config": {}, "url": "a=1"}])
def test_start_needs_exactly_one_of_config_and_url(open_session, message):
    s = open_session()
    s.send(**message)
    assert s.next()["code"] == "bad_message"


@pytest.mark.parametrize("kind", COMMANDS)
def test_commands_before_start_are_not_started(open_session, kind):
    s = open_session()
    extra = {"changes": {}} if kind == "update" else {}
    s.send(type=kind, **extra)
    err = s.next()
    assert err["code"] == "not_started"


def test_live_update_keeps_weights_and_shows_in_the_next_frame(open_session):
    s = open_session()
    s.start()
    s.send(type="step", n=2)
    before = s.until("frame")
    s.send(type="update", changes={"learningRate": 0.1, "regularizationRate": 0.01})
    config = s.next()
    assert config["effects"] == {"learningRate": "live", "regularizationRate": "live"}
    assert config["version"] == 2
    s.send(type="snapshot")
    frame = s.until("frame")
    assert frame["version"] == 2 and frame["learning_rate"] == 0.1
    assert frame["live"]["regularizationRate"] == 0.01
    assert frame["epoch"] == before["epoch"] == 2
    np.testing.assert_array_equal(frame["_arrays"]["weights"], before["_arrays"]["weights"])


def test_structural_update_rebuilds_from_the_seed(open_session):
    s = open_session()
    s.start()
    s.send(type="step", n=1)
    s.until("frame")
    s.send(type="update", changes={"networkShape": [5]})
    config = s.next()
    assert config["effects"] == {"networkShape": "rebuild"}
    assert config["model"]["layers"] == [2, 5, 2]
    assert s.next()["type"] == "data"
    frame = s.next()
    assert frame["epoch"] == 0 and frame["_arrays"]["neurons"].shape[0] == 7


def test_a_data_edit_keeps_the_weights_and_the_epoch_and_says_so(open_session):
    # Adding or removing points changes the data, not the run: the effect is `data` (not
    # `rebuild`, which restarts at epoch 0), new data follows, and training goes on from here.
    s = open_session()
    s.start()
    s.send(type="step", n=2)
    before = s.until("frame")
    s.send(type="update", changes={"points": [[1.5, -2.0, 1]]})
    config = s.next()
    assert config["effects"] == {"points": "data"}
    data = s.next()
    assert data["type"] == "data"
    np.testing.assert_allclose(data["_arrays"]["train"][-1], [1.5, -2.0, 1])
    frame = s.until("frame")
    assert frame["epoch"] == before["epoch"] == 2
    np.testing.assert_array_equal(frame["_arrays"]["weights"], before["_arrays"]["weights"])
    s.send(type="update", changes={"removed": [int(data["_arrays"]["train_index"][0])]})
    assert s.next()["effects"] == {"removed": "data"}
    assert s.until("frame")["epoch"] == 2


@pytest.mark.parametrize(("changes", "field"), [({"learningRate": -1}, "learningRate"),
                                                ({"unknownKey": 1}, "unknownKey"),
                                                ({"batchSize": "ten"}, "batchSize")])
def test_bad_update_changes_nothing(open_session, changes, field):
    s = open_session()
    s.start()
    s.send(type="update", changes=changes)
    err = s.next()
    assert (err["code"], err["field"]) == ("bad_value", field)
    s.send(type="snapshot")
    assert s.next()["version"] == 1


def test_play_streams_frames_and_pause_stops(open_session):
    s = open_session()
    s.start()
    s.send(type="play")
    assert s.next()["state"] == "playing"
    frames = [s.until("frame") for _ in range(3)]
    assert [f["state"] for f in frames] == ["playing"] * 3
    assert frames[0]["steps"] < frames[1]["steps"] < frames[2]["steps"]
    s.send(type="play")  # already playing: says so, changes nothing
    assert s.until("state")["state"] == "playing"
    s.send(type="pause")
    paused = s.until("state")
    assert paused["state"] == "paused"
    s.send(type="snapshot")
    after = s.next()  # nothing else was queued after the paused state
    assert after["type"] == "frame" and after["epoch"] == paused["epoch"]


def test_step_trains_exact_epochs_and_pauses_a_running_session(open_session):
    s = open_session()
    s.start()
    s.send(type="step", n=3)
    frame = s.next()
    assert frame["epoch"] == 3 and frame["steps"] == 75  # 250 points / batch 10 per epoch
    s.send(type="play")
    s.until("frame")
    s.send(type="step")
    assert s.until("state")["state"] == "paused"
    frame = s.until("frame")
    assert frame["state"] == "paused"


@pytest.mark.parametrize(("n", "code"), [(0, "bad_value"), (-5, "bad_value"),
                                         (10**30, "bad_value"), ("3", "bad_message"),
                                         (True, "bad_message"), (1.5, "bad_message")])
def test_step_rejects_bad_n(open_session, n, code):
    s = open_session()
    s.start()
    s.send(type="step", n=n)
    err = s.next()
    assert (err["code"], err["field"]) == (code, "n")


def test_reset_returns_to_the_initial_weights(open_session):
    s = open_session()
    first = s.start()
    s.send(type="step", n=2)
    trained = s.next()
    assert not np.array_equal(trained["_arrays"]["weights"], first["_arrays"]["weights"])
    s.send(type="reset")
    frame = s.next()
    assert frame["epoch"] == 0 and frame["steps"] == 0
    np.testing.assert_array_equal(frame["_arrays"]["weights"], first["_arrays"]["weights"])
    assert s.next()["state"] == "paused"


def test_reseed_with_a_seed_changes_data_and_weights(open_session):
    s = open_session()
    first = s.start()
    s.send(type="reseed", seed="abc")
    config = s.next()
    assert config["config"]["seed"] == "abc" and config["version"] == 2
    data = s.next()
    expected = Trainer(Experiment(seed="abc")).data.train_x
    np.testing.assert_allclose(data["_arrays"]["train"][:, :2], expected, atol=1e-5)
    frame = s.next()
    assert not np.array_equal(frame["_arrays"]["weights"], first["_arrays"]["weights"])


def test_reseed_without_a_seed_draws_one(open_session):
    s = open_session()
    s.start()
    s.send(type="reseed")
    seed = s.next()["config"]["seed"]
    assert seed != "1" and seed.isalnum()


@pytest.mark.parametrize(("seed", "code"), [("a b", "bad_value"), ("", "bad_value"),
                                            ("x" * 40, "bad_value"), (7, "bad_message")])
def test_reseed_rejects_bad_seeds(open_session, seed, code):
    s = open_session()
    s.start()
    s.send(type="reseed", seed=seed)
    err = s.next()
    assert (err["code"], err["field"]) == (code, "seed")


def test_speed_sets_steps_per_frame(open_session):
    s = open_session()
    s.send(type="speed", steps_per_frame=7)  # allowed before start
    assert s.next()["steps_per_frame"] == 7
    frame = s.start()
    assert frame["steps_per_frame"] == 7
    s.send(type="play")
    s.until("frame")
    frame = s.until("frame")
    assert frame["steps_per_frame"] == 7 and frame["steps"] % 7 == 0
    for bad, code in ((0, "bad_value"), (10**9, "bad_value"), ("fast", "bad_message")):
        s.send(type="speed", steps_per_frame=bad)
        err = s.until("error")
        assert (err["code"], err["field"]) == (code, "steps_per_frame")


def test_ping_echoes_its_id(open_session):
    s = open_session()
    s.send(type="ping", id={"n": 3})
    assert s.next() == {"type": "pong", "id": {"n": 3}}


@pytest.mark.parametrize(
    ("text", "code", "field"),
    [("{not json", "bad_json", None), ('{"type": "step", "n": NaN}', "bad_json", None),
     ("[1, 2]", "bad_message", None), ('{"type": "fly"}', "bad_message", "type"),
     ('{"n": 1}', "bad_message", "type"), ('{"type": "play", "speed": 3}', "bad_message", "speed"),
     ('{"type": "update", "changes": [1]}', "bad_message", "changes"),
     ("[" * 30_000 + "]" * 30_000, "bad_json", None)],
)
def test_malformed_messages_get_errors_and_the_session_goes_on(open_session, text, code, field):
    s = open_session()
    s.start()
    s.ws.send_text(text)
    err = s.next()
    assert (err["type"], err["code"], err["field"]) == ("error", code, field)
    s.send(type="step", n=1)
    assert s.next()["epoch"] == 1


def test_binary_client_messages_are_refused(open_session):
    s = open_session()
    s.ws.send_bytes(b"\x00\x01")
    assert s.next()["code"] == "bad_message"


def test_divergence_is_a_state_with_a_message(open_session):
    s = open_session()
    s.start(problem="regression", learningRate=10, networkShape=[8, 8], activation="relu",
            init="he")
    s.send(type="speed", steps_per_frame=200)
    s.next()
    s.send(type="play")
    state = s.until("state")
    assert state["state"] == "playing"
    state = s.until("state")
    assert state["state"] == "diverged"
    assert f"diverged at epoch {state['diverged_at']}" in state["message"]
    s.send(type="play")  # cannot play a diverged net: the state says why
    assert s.until("state")["state"] == "diverged"
    s.send(type="snapshot")
    frame = s.next()
    assert frame["metrics"]["train_loss"] is None and frame["state"] == "diverged"
    s.send(type="reset")
    assert s.next()["epoch"] == 0
    assert s.next()["state"] == "paused"


def test_frames_carry_classes_knn_and_curve_when_they_apply(open_session):
    s = open_session()
    arrays = s.start(dataset="blobs", numClasses=4, knn=3, gridSize=30)["_arrays"]
    assert arrays["classes"].dtype == np.uint8 and int(arrays["classes"].max()) < 4
    assert arrays["confidence"].shape == (30, 30) and "output" not in arrays
    assert arrays["knn"].dtype == np.uint8 and arrays["knn"].shape == (30, 30)
    s.send(type="start", config={"problem": "regression", "regDataset": "reg-sine"})
    s.next(), s.next()
    arrays = s.next()["_arrays"]
    assert arrays["curve"].shape[1] == 2 and arrays["output"].dtype == np.int8


def test_a_server_failure_is_reported_and_the_session_goes_on(open_session, monkeypatch):
    from server.live import LiveRun

    s = open_session()
    s.start()
    real = LiveRun.frame
    monkeypatch.setattr(LiveRun, "frame", lambda self: 1 / 0)
    s.send(type="snapshot")
    err = s.next()
    assert (err["code"], "ZeroDivisionError" in err["message"]) == ("internal", True)
    monkeypatch.setattr(LiveRun, "frame", real)
    s.send(type="snapshot")
    assert s.next()["type"] == "frame"


def test_acking_clients_get_no_more_than_the_window_of_frames_ahead(make_client, open_session):
    import time

    s = open_session(make_client(max_frames_in_flight=2))
    first = s.start()
    s.send(type="ack", seq=first["seq"])
    s.send(type="play")
    assert s.next()["state"] == "playing"
    time.sleep(0.4)  # at 60 frames/s, ~24 frames without a window
    s.send(type="ping", id="p")
    ahead = 0
    while (msg := s.next())["type"] != "pong":
        ahead += msg["type"] == "frame"
    assert ahead == 2
    s.send(type="ack", seq=first["seq"] + 2)  # drawn: the next frame comes
    assert s.until("frame")["seq"] == first["seq"] + 3
    s.send(type="pause")
    s.until("state")
    s.send(type="ack", seq=-1)
    err = s.until("error")
    assert (err["code"], err["field"]) == ("bad_value", "seq")


def test_start_can_ask_for_frames_compressed_as_raw_deflate(open_session):
    import zlib

    from server.frames import decode

    plain, packed = open_session(), open_session()
    plain.start(gridSize=40)
    packed.send(type="start", config={"gridSize": 40}, compression="deflate-raw")
    assert packed.next()["type"] == "config"
    sizes = {}
    for kind in ("data", "frame"):
        raw = packed.ws.receive()["bytes"]
        header, arrays = decode(zlib.decompress(raw, wbits=-15))
        assert header["type"] == kind
        sizes[kind] = (len(raw), len(zlib.decompress(raw, wbits=-15)))
    assert packed.next()["state"] == "paused"
    assert sizes["frame"][0] < sizes["frame"][1] * 0.8  # the grid compresses
    # The same frame as an uncompressed session's, byte for byte once inflated.
    plain.send(type="snapshot")
    packed.send(type="snapshot")
    want = plain.next()
    header, arrays = decode(zlib.decompress(packed.ws.receive()["bytes"], wbits=-15))
    np.testing.assert_array_equal(arrays["output"], want["_arrays"]["output"])
    np.testing.assert_array_equal(arrays["neurons"], want["_arrays"]["neurons"])


@pytest.mark.parametrize("value", ["gzip", True, 1])
def test_an_unknown_compression_is_refused_by_name(open_session, value):
    s = open_session()
    s.send(type="start", config={}, compression=value)
    reply = s.next()
    assert reply["type"] == "error" and reply["field"] == "compression"
    s.start()  # and the session goes on


def test_big_nets_get_smaller_neuron_maps_and_small_nets_keep_twenty(open_session):
    # 512 hidden maps of 20×20 would be 205 kB a frame for nodes drawn 12 px wide.
    s = open_session()
    frame = s.start(networkShape=[64] * 8, activation="relu")
    m = frame["neuron_grid"]
    assert frame["_arrays"]["neurons"].shape == (2 + 512, m, m)
    assert 8 <= m <= 10
    frame = open_session().start(networkShape=[4, 2])
    assert frame["neuron_grid"] == 20 and frame["_arrays"]["neurons"].shape[1:] == (20, 20)


def test_a_1d_curve_has_no_x2_inputs_and_says_which_features_it_can_take(open_session):
    s = open_session()
    s.send(type="start", config={"problem": "regression", "regDataset": "reg-sine"})
    config = s.next()
    assert config["config"]["y"] is True  # the link's switch stays, but x₂ is no input here
    assert config["model"]["features"] == ["x"] and config["model"]["layers"][0] == 1
    assert config["model"]["feature_choices"] == ["x", "xSquared", "sinX"]
    s.send(type="update", changes={"x": False})
    error = s.until("error")
    assert error["field"] == "x" and "no x₂" in error["message"]


@pytest.mark.parametrize("text", [
    '{"type":"ack","seq":0}', '{ "type" : "ack" , "seq" : 9007199254740991 }',
    '{"seq":3,"type":"ack"}',  # the other way round: the whole way, the same answer
])
def test_an_ack_read_the_short_way_is_the_ack_the_validator_makes(text):
    assert parse_message(text) == _ADAPTER.validate_python(json.loads(text))


@pytest.mark.parametrize(("text", "code", "field"), [
    ('{"type":"ack","seq":9007199254740992}', "bad_value", "seq"),  # past 2⁵³ − 1
    ('{"type":"ack","seq":-1}', "bad_value", "seq"),
    ('{"type":"ack","seq":01}', "bad_json", None),
    ('{"type":"ack","seq":3}x', "bad_json", None),
    ('{"type":"ack",\u00a0"seq":3}', "bad_json", None),  # a space JSON does not know
    ('{"type":"ack","seq":3,"seq":4,"x":1}', "bad_message", "x"),
])
def test_an_ack_that_is_not_plain_gets_the_usual_answer(text, code, field):
    with pytest.raises(ProtocolError) as caught:
        parse_message(text)
    assert (caught.value.code, caught.value.field) == (code, field)
