"""`netplay run` and the issue's bars: the TF link learns the circle, runs are byte-identical,
regularization closes the overfitting gap, deep sigmoid nets learn slower than relu ones, and
invalid input is refused before anything trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground_models import trainer as trainer_module
from playground_models.experiment import ConfigError
from playground_models.headless import run_epochs
from server.cli import main

ROOT = Path(__file__).resolve().parents[1]
TF_BODY = (
    "activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03"
    "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.59704&showTestData=false"
    "&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false"
    "&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false"
    "&problem=classification&initZero=false&hideText=false"
)


def _netplay_run(url: str, epochs: int, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "run", url, "--epochs", str(epochs), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def test_tf_link_reaches_098_test_accuracy_and_every_form_prints_the_same_bytes():
    # Two separate processes, started together: the #hash link and its ?query form, the
    # second with one thread (the bytes must not depend on the thread count either).
    runs = [_netplay_run("#" + TF_BODY, 300), _netplay_run("?" + TF_BODY, 300, OMP_NUM_THREADS="1")]
    (by_hash, err_hash), (by_query, err_query) = (p.communicate(timeout=120) for p in runs)
    assert [p.returncode for p in runs] == [0, 0], (err_hash, err_query)
    assert err_hash == b"" and err_query == b""  # vestigial keys are not even warned about
    assert by_hash == by_query
    lines = by_hash.decode().splitlines()
    assert len(lines) == 300
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == list(range(1, 301))
    assert set(records[0]) >= {"epoch", "train_loss", "test_loss", "train_acc", "test_acc"}
    assert records[-1]["test_acc"] >= 0.98
    assert records[-1]["train_loss"] < records[0]["train_loss"] / 10
    # A third form, a full URL, run for fewer epochs prints the same first lines.
    short = _netplay_run("https://playground.tensorflow.org/#" + TF_BODY, 5).communicate()[0]
    assert short.decode().splitlines() == lines[:5]


def test_l2_regularization_shrinks_the_overfitting_gap():
    # The bar at full size: 50 training points, 450 test points, 600 epochs (~3 s).
    base = "dataset=gauss&noise=50&percTrainData=10&networkShape=8,8,8&regularization=L2"
    finals = {}
    for lam in (0, 0.01, 0.1):
        *_, last = run_epochs(f"{base}&regularizationRate={lam}", 600)
        finals[lam] = last
    gaps = [finals[lam]["test_loss"] - finals[lam]["train_loss"] for lam in (0, 0.01, 0.1)]
    # measured: 0.521, 0.322, 0.090
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[0] - gaps[2] > 0.25
    assert finals[0]["train_acc"] == 1.0  # memorised the noisy training set
    assert finals[0]["reg_loss"] == 0.0 and finals[0.1]["reg_loss"] > 0


def test_deep_sigmoid_net_learns_slower_than_relu_on_spiral():
    features = "&xSquared=true&ySquared=true&xTimesY=true&sinX=true&sinY=true"
    base = "dataset=spiral&networkShape=8,8,8,8,8,8" + features
    *_, sigmoid = run_epochs(base + "&activation=sigmoid", 100)
    *_, relu = run_epochs(base + "&activation=relu", 100)
    # measured (seed 1): sigmoid 0.694 (chance is ln 2 = 0.693), relu 0.065; over seeds 2, 3
    # and x relu ends between 0.18 and 0.52 while sigmoid stays at chance
    assert sigmoid["train_loss"] > 0.68
    assert relu["train_loss"] < 0.5
    assert relu["test_acc"] > sigmoid["test_acc"] + 0.15


@pytest.mark.parametrize(
    "query, key",
    [
        ("networkShape=4,abc", "networkShape"),
        ("learningRate=-1", "learningRate"),
        ("dataset=nope", "dataset"),
        ("seed=0.5&noise=1e999", "noise"),
    ],
)
def test_invalid_input_exits_non_zero_with_one_line_naming_the_key(query, key, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a trainer was built for an invalid link")

    monkeypatch.setattr(trainer_module.Trainer, "__init__", no_training)
    assert main(["run", query, "--epochs", "3", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"netplay run: {key}: ")


def test_invalid_input_exit_status_of_the_real_command():
    proc = _netplay_run("#networkShape=4,abc", 300)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == b""
    assert err.decode() == "netplay run: networkShape: entries must be whole numbers, got 'abc'\n"


def test_unknown_keys_are_warned_on_stderr_and_the_run_goes_on(capsys):
    assert main(["run", "?colour=blue&epochz=3", "--epochs", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["epoch"] == 1
    assert err.splitlines() == [
        "netplay run: warning: unknown key 'colour', ignored",
        "netplay run: warning: unknown key 'epochz', ignored",
    ]


def test_zero_epochs_is_refused():
    with pytest.raises(ConfigError) as err:
        next(run_epochs("dataset=xor", 0))
    assert err.value.key == "epochs"


def test_regression_run_has_no_accuracy_and_diverged_runs_print_null_losses():
    records = list(
        run_epochs("problem=regression&learningRate=10&activation=relu&networkShape=8,8", 3)
    )
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert all("train_acc" not in r for r in records)
    assert all(r["train_loss"] is None and r["diverged_at"] == 0 for r in records)
    calm = next(run_epochs("problem=regression&regDataset=reg-sine", 1))
    assert set(calm) == {"epoch", "train_loss", "test_loss", "reg_loss"}
    assert 0 < calm["train_loss"] < 1
