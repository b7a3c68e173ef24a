"""`POST /api/sweep`: the page's sweep, the same points as `netplay sweep`, bounded and checked."""

from __future__ import annotations

import json
import time
from concurrent.futures import wait

import pytest

from playground_models.lessons import lesson
from playground_models.sweep import plan_sweep, sweep

LAMBDAS = ["0", "0.01", "0.3"]
EPOCHS_WANTED = "give how many epochs to train each value: a whole number from 1 to 2000"


@pytest.fixture(scope="module")
def overfitting_url() -> str:
    """The regularization lesson's run: 20 relu neurons on 100 noisy XOR points, with L2."""
    return lesson("regularization").run_urls()[0]


def post_sweep(client, **body):
    return client.post("/api/sweep", json=body)


def lines(response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_sweep_streams_one_line_per_value_equal_to_netplay_sweep(client, overfitting_url):
    got = lines(
        post_sweep(
            client, url=overfitting_url, param="regularizationRate", values=LAMBDAS, epochs=40
        )
    )
    expected = sweep(overfitting_url, "regularizationRate", [0.0, 0.01, 0.3], 40, workers=1)
    assert got == expected
    assert [r["value"] for r in got] == [0.0, 0.01, 0.3]
    train = [r["train_loss"] for r in got]
    assert train[0] < train[1] < train[2]  # a larger λ fits the training data less


def test_a_shape_sweep_takes_one_link_written_shape_per_value(client, overfitting_url):
    got = lines(
        post_sweep(client, url=overfitting_url, param="networkShape", values=["2,2", "8"], epochs=3)
    )
    assert [r["value"] for r in got] == [[2, 2], [8]]
    assert got == sweep(overfitting_url, "networkShape", [(2, 2), (8,)], 3, workers=1)


@pytest.mark.parametrize(
    ("settings", "body", "field", "code", "says"),
    [
        ({}, {"param": "foo"}, "param", "bad_value", "'foo' is not a parameter"),
        ({}, {"param": "showTestData", "values": ["true"]}, "param", "bad_value", "view"),
        ({}, {"values": ["0", "99"]}, "regularizationRate", "bad_value", "between 0 and 10"),
        ({}, {"values": [0.1]}, "values.0", "bad_message", "string"),
        ({"max_sweep_epochs": 50}, {"epochs": 51}, "epochs", "bad_value", "at most 50 epochs"),
        ({"max_sweep_values": 2}, {}, "values", "bad_value", "at most 2 values"),
        ({}, {"url": "learningRate=abc"}, "learningRate", "bad_value", "must be a number"),
        ({}, {"extra": 1}, "extra", "bad_message", "Extra inputs"),
        (
            {"max_parameters": 100},
            {"param": "networkShape", "values": ["2", "30"]},
            "networkShape",
            "bad_value",
            "with networkShape=[30]",
        ),
        (
            {"max_samples": 300},
            {"param": "numSamples", "values": ["200", "400"]},
            "numSamples",
            "bad_value",
            "400 data points (with numSamples=400)",
        ),
    ],
)
def test_bad_sweeps_are_refused_naming_the_field(make_client, settings, body, field, code, says):
    client = make_client(**settings)
    request = {"url": "dataset=xor", "param": "regularizationRate", "values": LAMBDAS, "epochs": 5}
    r = post_sweep(client, **{**request, **body})
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert says in error["message"]


def test_a_missing_field_is_named(client):
    r = post_sweep(client, url="dataset=xor", param="dropout", epochs=5)
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "bad_message",
        "field": "values",
        "message": "Field required",
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"values": []}, "values", "give at least one value to try"),
        ({"values": [""]}, "values", "value 1 is empty: give each value to try"),
        ({"values": ["0.1", " "]}, "values", "value 2 is empty: give each value to try"),
        ({"epochs": 0}, "epochs", f"{EPOCHS_WANTED}, got 0"),
        ({"epochs": -3}, "epochs", f"{EPOCHS_WANTED}, got -3"),
    ],
)
def test_an_empty_field_is_refused_in_plain_words(client, body, field, message):
    request = {"url": "dataset=xor", "param": "dropout", "values": ["0"], "epochs": 5}
    r = post_sweep(client, **{**request, **body})
    assert r.status_code == 422
    assert r.json()["error"] == {"code": "bad_value", "field": field, "message": message}


def test_an_empty_shape_is_a_value_a_depth_sweep_takes(client):
    got = lines(
        post_sweep(client, url="dataset=xor", param="networkShape", values=["", "3"], epochs=2)
    )
    assert [r["value"] for r in got] == [[], [3]]


def test_a_server_training_max_sweeps_refuses_another_until_one_ends(make_client):
    client = make_client(max_sweeps=1, sweep_workers=1)
    sweeps = client.app.state.sweeps
    long_run = plan_sweep("dataset=spiral&networkShape=16,16", "dropout", [0.0], 2000)
    held = sweeps.submit(long_run)
    r = post_sweep(client, url="dataset=xor", param="dropout", values=["0"], epochs=2)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_sweeps"
    wait(held.futures, timeout=120)
    deadline = time.monotonic() + 10  # the slot is given back by the future's done callback
    while sweeps.running and time.monotonic() < deadline:
        time.sleep(0.01)
    again = post_sweep(client, url="dataset=xor", param="dropout", values=["0"], epochs=2)
    assert [r["value"] for r in lines(again)] == [0.0]
