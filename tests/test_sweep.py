"""`netplay sweep`: the capacity curve over λ, parallel points equal to serial ones, clear errors."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from playground_models.experiment import ConfigError
from playground_models.headless import run_epochs
from playground_models.lessons import lesson
from playground_models.sweep import parse_values, sweep
from server.cli import main

LAMBDAS = "0,0.001,0.003,0.01,0.03,0.1,0.3"


@pytest.fixture(scope="module")
def overfitting_url() -> str:
    """The regularization lesson's run (the 20-neuron net that overfits noisy XOR)."""
    return lesson("regularization").run_urls()[0]


def test_lambda_sweep_gives_rising_train_loss_and_a_u_shaped_test_loss(overfitting_url, capsys):
    epochs = lesson("regularization").epochs
    code = main(
        [
            "sweep",
            overfitting_url,
            "--param",
            "regularizationRate",
            "--values",
            LAMBDAS,
            "--epochs",
            str(epochs),
            "--json",
        ]
    )
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["value"] for r in records] == [float(v) for v in LAMBDAS.split(",")]
    assert all(r["param"] == "regularizationRate" and r["epochs"] == epochs for r in records)
    train = [r["train_loss"] for r in records]
    test = [r["test_loss"] for r in records]
    assert all(b > a for a, b in pairwise(train))  # more penalty, worse fit
    best = test.index(min(test))
    assert 0 < best < len(test) - 1  # falls, then ...
    assert all(b >= a for a, b in pairwise(test[best:]))  # ... rises
    assert all(b < a for a, b in pairwise(test[: best + 1]))


def test_parallel_points_equal_serial_points_and_netplay_run(overfitting_url):
    values = parse_values("regularizationRate", "0,0.01,0.1")
    parallel = sweep(overfitting_url, "regularizationRate", values, 15, workers=2)
    serial = sweep(overfitting_url, "regularizationRate", values, 15, workers=1)
    assert parallel == serial
    link = overfitting_url + "&regularizationRate=0.1"  # a later key wins
    last = list(run_epochs(link, 15))[-1]
    for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
        assert parallel[2][key] == last[key]


def test_list_parameters_take_semicolons():
    assert parse_values("networkShape", "8,8;16") == [(8, 8), (16,)]
    assert parse_values("networkShape", "3,6,20") == [(3,), (6,), (20,)]
    assert parse_values("activation", "relu,tanh") == ["relu", "tanh"]


@pytest.mark.parametrize(
    ("param", "values", "named"),
    [
        ("foo", "1", "'foo' is not a parameter"),
        ("regularizationRate", "0,99", "regularizationRate: must be between 0 and 10"),
        ("activation", "relu,bogus", "activation: must be one of"),
        ("learningRate", "0.1,,0.3", "--values"),
        ("lang", "en,zh", "only changes the view"),
    ],
)
def test_bad_param_or_value_exits_2_with_one_line_naming_it(param, values, named, capsys):
    code = main(
        ["sweep", "dataset=gauss", "--param", param, "--values", values, "--epochs", "2", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and named in err


def test_bad_link_or_epochs_exit_2(capsys):
    assert main(["sweep", "learningRate=abc", "--param", "seed", "--values", "1,2"]) == 2
    assert "learningRate" in capsys.readouterr().err
    assert main(["sweep", "", "--param", "seed", "--values", "1,2", "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_a_value_that_breaks_the_experiment_names_the_value():
    with pytest.raises(ConfigError) as info:
        sweep("problem=regression", "loss", ["mse", "hinge"], 2)
    assert info.value.key == "loss" and "loss=hinge" in str(info.value)
