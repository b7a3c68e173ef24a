"""The autoencoder lab: the network (a code of two, the decoder mirroring the encoder), that
training makes reconstructions better than the mean digit and sorts the digits on the code
plane, determinism, limits and links; and over its socket (TestClient): a start from a link,
steps, selecting a digit, decoding a point, bad input named, the page and its settings API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from loopback import lab_started, lab_until, router_client

from playground_models.aelab.config import TABLE, AEConfig, AEConfigError
from playground_models.aelab.limits import AELimits, update_macs
from playground_models.aelab.model import Autoencoder, parameter_count, sizes
from server.aelab import ae_limits, router
from server.settings import Settings


@pytest.fixture(scope="module")
def client():
    with router_client(router) as c:
        yield c


@pytest.fixture(scope="module")
def trained() -> Autoencoder:
    torch.set_num_threads(1)
    model = Autoencoder(AEConfig())
    model.train(1500)
    return model


def test_the_network_narrows_to_a_code_of_two_and_mirrors_back():
    c = AEConfig(layers="50,20")
    assert sizes(c, 64) == [64, 50, 20, 2, 20, 50, 64]
    assert parameter_count(c, 64) == 65 * 50 + 51 * 20 + 21 * 2 + 3 * 20 + 21 * 50 + 51 * 64
    model = Autoencoder(c)
    outs = model.layers(model.train_x[:3])
    assert [o.shape[1] for o in outs] == [50, 20, 2, 20, 50, 64] and model.code_layer == 2
    assert model.decode((0.5, -0.5)).shape == (8, 8)
    assert sizes(AEConfig(layers=""), 784) == [784, 2, 784]  # no hidden layer: PCA's shape


def test_training_reconstructs_better_than_the_mean_digit_and_sorts_the_plane(trained):
    # The default link: 1,500 updates of 50 digits (about 4 s here).
    assert trained.test_error() < 0.6 * trained.mean_image_error()
    codes = trained.codes(trained.test_x)
    labels = trained.data.test.labels
    # Digits of a class sit together: a test digit's nearest other digit on the plane is of
    # its class far more often than chance (10 %).
    dist = ((codes[:, None, :] - codes[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    agree = np.mean(labels[dist.argmin(axis=1)] == labels)
    assert agree > 0.6, agree


def test_the_decoder_draws_a_digit_where_digits_are(trained):
    shown = trained.train_x[trained.shown]
    code = trained.codes(shown[:1])[0]
    drawn = trained.decode((float(code[0]), float(code[1]))).reshape(-1)
    truth = shown[0].numpy()
    far = trained.decode((1e3, 1e3)).reshape(-1)
    assert np.mean((drawn - truth) ** 2) < np.mean((far - truth) ** 2)
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0


def test_the_same_link_trains_the_same_way():
    runs = []
    for _ in range(2):
        model = Autoencoder(AEConfig(layers="16", seed="7"))
        model.train(40)
        runs.append(model.codes(model.train_x[:20]))
    assert np.array_equal(runs[0], runs[1])


def test_a_loss_that_explodes_is_diverged():
    model = Autoencoder(AEConfig(layers="64,64", optimizer="adam", learningRate=1.0,
                                 activation="relu"))
    model.train(300)
    assert model.diverged and model.updates == 2  # past 1e4, still finite


def test_a_link_to_data_this_server_lacks_opens_at_the_default_saying_why(monkeypatch):
    import playground_models.aelab.limits as limits_module

    monkeypatch.setattr(limits_module, "available",
                        lambda: {"digits": True, "synth": True, "mnist": False})
    config, warnings = TABLE.parse_link("data=mnist&layers=16", AEConfig())
    config = TABLE.within(config, AELimits().check, warnings, AEConfig())
    assert (config.data, config.layers) == ("digits", "16")
    assert warnings[-1].startswith("data: mnist is not installed on this server")


def test_limits_and_links():
    limits = AELimits()
    limits.check(AEConfig())
    big = AEConfig(data="synth", layers="256,256,256,256")
    limits.check(big)  # the biggest network, at the default batch
    assert update_macs(big) < limits.max_update_macs
    with pytest.raises(AEConfigError) as err:
        limits.check(TABLE.with_changes(big, {"batchSize": 100}))
    assert err.value.key == "batchSize"
    with pytest.raises(AEConfigError, match="allows 1,000") as err:
        AELimits(max_parameters=1000).check(AEConfig())
    assert err.value.key == "layers"
    config, warnings = TABLE.parse_link("data=synth&layers=9,x&batchSize=20", AEConfig())
    assert (config.data, config.layers, config.batchSize) == ("synth", "50,50", 20)
    assert warnings[0].startswith("layers: must be up to 4 layer widths")


def _started(ws, url: str, lang: str = "en") -> tuple[dict, dict]:
    return lab_started(ws, url, "netplay-ae", lang)


def test_a_link_opens_with_the_digits_their_codes_and_a_first_frame(client):
    with client.websocket_connect("/ws/ae") as ws:
        config, frame = _started(ws, "layers=16&seed=3&zoom=2")
        assert config["config"]["layers"] == "16" and config["query"].startswith("data=digits&")
        assert "unknown key 'zoom' ignored" in config["warnings"]
        digits = config["digits"]
        assert (digits["side"], digits["count"], digits["columns"]) == (8, 300, 20)
        assert len(digits["labels"]) == 300 and set(digits["labels"]) == set(range(10))
        assert digits["sprite"].startswith("data:image/png;base64,")
        assert 0.06 < digits["mean_error"] < 0.09
        assert frame["updates"] == 0 and len(frame["codes"]) == 300
        assert len(frame["reconstruction"]) == 64 and frame["selected"] == 0
        assert [len(layer) for layer in frame["layers"]] == [16, 2, 16]


def test_steps_select_and_decode(client):
    with client.websocket_connect("/ws/ae") as ws:
        config, first = _started(ws, "layers=32&seed=2")
        ws.send_json({"type": "step", "n": 400})
        frame = lab_until(ws, "frame")
        assert frame["updates"] == 400 and frame["loss"] is not None
        assert frame["test_error"] < first["test_error"]
        assert frame["test_error"] < config["digits"]["mean_error"]
        ws.send_json({"type": "select", "index": 299})
        assert lab_until(ws, "frame")["selected"] == 299
        x, y = frame["codes"][5]
        ws.send_json({"type": "decode", "x": x, "y": y})
        decoded = lab_until(ws, "decoded")
        assert (decoded["x"], decoded["y"]) == (x, y) and len(decoded["image"]) == 64
        assert min(decoded["image"]) >= 0 and max(decoded["image"]) <= 255
        # The decoder goes on learning: each frame redraws the point decoded.
        ws.send_json({"type": "step", "n": 200})
        later = lab_until(ws, "frame")["probe"]
        assert (later["x"], later["y"]) == (x, y) and later["image"] != decoded["image"]


@pytest.mark.parametrize(("message", "field"), [
    ({"type": "select", "index": 300}, "index"),
    ({"type": "select", "index": -1}, "index"),
    ({"type": "decode", "x": 1e9, "y": 0}, "x"),
    ({"type": "update", "changes": {"layers": "0"}}, "layers"),
    ({"type": "update", "changes": {"learningRate": 5}}, "learningRate"),
])
def test_bad_messages_are_named_and_the_session_goes_on(client, message, field):
    with client.websocket_connect("/ws/ae") as ws:
        _started(ws, "layers=8")
        ws.send_json(message)
        assert lab_until(ws, "error")["field"] == field
        ws.send_json({"type": "step", "n": 1})
        assert lab_until(ws, "frame")["updates"] == 1


def test_a_live_change_keeps_the_weights_and_another_rebuilds(client):
    with client.websocket_connect("/ws/ae") as ws:
        _started(ws, "layers=8&seed=4")
        ws.send_json({"type": "step", "n": 10})
        lab_until(ws, "frame")
        ws.send_json({"type": "update", "changes": {"learningRate": 0.01}})
        assert lab_until(ws, "config")["changed"] == ["learningRate"]
        ws.send_json({"type": "update", "changes": {"activation": "relu"}})
        assert lab_until(ws, "config")["rebuilt"] is True
        assert lab_until(ws, "frame")["updates"] == 0


def test_the_page_and_its_settings_api(client):
    assert "/static/ae/main.js" in client.get("/ae").text
    body = client.get("/api/ae/params").json()
    assert [p["name"] for p in body["params"]][:3] == ["data", "layers", "activation"]
    assert body["limits"] == ae_limits(Settings()).to_json()
    assert body["data"]["digits"] is True and body["data"]["synth"] is True
