"""`netplay export`, `GET /api/export` and the page's *PyTorch script*: one self-contained
script per experiment that, run with plain Python, prints the numbers the reference path gives
for the same link (`playground_models/export.py`). The scripts here are run for real."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from playground_models.export import export_script
from playground_models.trainer import Trainer
from playground_models.urlcodec import parse
from server.cli import main

EPOCHS = 200
# Small data (50 or 100 training points), so that 200 epochs take a second or two each way.
LINKS = {
    "sgd-tanh-default": "numSamples=100",
    "adam-L1-dropout-features": "numSamples=100&dataset=spiral&networkShape=6,4&optimizer=adam"
    "&learningRate=0.01&regularization=L1&regularizationRate=0.003&dropout=0.2&xSquared=true"
    "&sinX=true&preprocess=standardize",
    "rmsprop-regression-huber-warmup": "numSamples=100&problem=regression&regDataset=reg-sine"
    "&networkShape=6&activation=relu&init=he&optimizer=rmsprop&learningRate=0.01&loss=huber"
    "&schedule=warmup-cosine&lrWarmupEpochs=5&lrCycleEpochs=30",
    "nesterov-L2-hinge-4-classes-step": "numSamples=200&dataset=blobs&numClasses=4"
    "&networkShape=5,5&activation=gelu&init=xavier&optimizer=nesterov&momentum=0.5"
    "&regularization=L2&regularizationRate=0.01&loss=hinge&batchSize=7&schedule=step"
    "&lrStepEpochs=10",
    "adagrad-batch-norm-batch-of-one": "numSamples=100&dataset=circle&networkShape=6,6"
    "&activation=sigmoid&init=xavier&batchNorm=true&batchSize=7&optimizer=adagrad"
    "&learningRate=0.1&preprocess=center&schedule=cosine&lrCycleEpochs=20",
    "adadelta-square-no-hidden-exponential": "numSamples=100&dataset=xor&loss=square"
    "&optimizer=adadelta&learningRate=1&schedule=exponential&lrDecay=0.95&networkShape="
    "&initZero=true&xTimesY=true",
    "momentum-mse-points-edited": "numSamples=100&problem=regression&optimizer=momentum"
    "&learningRate=0.01&points=1.5,2,0.5;-3,1,-0.25&removed=3,7&networkShape=3",
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, list[dict]]:
    """Each link's script written out and run (all at once: they are separate processes)."""
    folder = tmp_path_factory.mktemp("scripts")
    runs = {}
    for name, link in LINKS.items():
        path = folder / f"{name}.py"
        path.write_text(export_script(parse(link, strict=True).experiment, EPOCHS))
        runs[name] = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
    out = {}
    for name, proc in runs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        out[name] = [json.loads(line) for line in stdout.splitlines()]
    return out


@pytest.fixture
def one_thread():
    """The scripts train on one torch thread, as the server's workers do."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", LINKS)
def test_an_exported_script_prints_the_reference_paths_numbers(name, printed, one_thread):
    records = printed[name]
    assert [r["epoch"] for r in records] == list(range(1, EPOCHS + 1))
    trainer = Trainer(parse(LINKS[name], strict=True).experiment, backend="reference")
    for record in records:
        trainer.train_epochs(1)
        want = trainer.metrics()
        for key, value in record.items():
            assert value == pytest.approx(want[key], rel=1e-5, abs=1e-12), (record["epoch"], key)
    assert records[-1]["train_loss"] < records[0]["train_loss"]  # it trained


def test_the_script_reads_as_the_experiment():
    exp = parse(LINKS["adam-L1-dropout-features"], strict=True).experiment
    script = export_script(exp, 50)
    for line in ('OPTIMIZER = "adam"', "LEARNING_RATE = 0.01", "DROPOUT = 0.2", "L1_RATE = 0.003",
                 "LAYER_SIZES = [4, 6, 4, 2]", "EPOCHS = 50", "torch.optim.Adam(",
                 "np.stack([x1, x2, x1 * x1, np.sin(x1)], axis=1)", "class Net(nn.Module):"):
        assert line in script
    # Only what this experiment uses: no batch norm, no other loss, no schedule formula.
    for absent in ("BatchNorm1d", "huber", "math.cos"):
        assert absent not in script


def test_the_api_serves_the_script_as_a_download(client):
    r = client.get("/api/export", params={"url": "dataset=spiral&networkShape=8,6", "epochs": 7})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    assert r.headers["content-disposition"] == 'attachment; filename="netplay_spiral_8x6.py"'
    assert "EPOCHS = 7\n" in r.text and "LAYER_SIZES = [2, 8, 6, 2]" in r.text
    compile(r.text, "netplay_spiral_8x6.py", "exec")


@pytest.mark.parametrize(("params", "field"), [
    ({"url": "learningRate=banana"}, "learningRate"),
    ({"url": "compat=tf"}, "compat"),
    ({"url": "numSamples=100", "epochs": 0}, "epochs"),
    ({"url": "numSamples=100", "epochs": 10**9}, "epochs"),
])
def test_the_api_names_what_cannot_be_exported(client, params, field):
    r = client.get("/api/export", params=params)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == field


def test_the_command_writes_the_script_and_refuses_a_comparison(tmp_path, capsys):
    out = tmp_path / "run.py"
    assert main(["export", "numSamples=100&networkShape=3", "--epochs", "3", "-o", str(out)]) == 0
    assert "EPOCHS = 3\n" in out.read_text()
    assert main(["export", "runs=2&r1.networkShape=3"]) == 2
    assert "netplay export: runs:" in capsys.readouterr().err


def test_a_link_with_live_changes_exports_its_start_and_says_what_is_missing(client):
    from playground_models import history
    h = history.encode([["set", 40, {"learningRate": 0.3}], ["w", 90, 0, 1, 0, 0.5]])
    r = client.get("/api/export", params={"url": f"numSamples=100&h={h}", "epochs": 5})
    assert r.status_code == 200 and r.headers["x-netplay-live-changes"] == "2"
    assert "Not in it: the 2 live changes made while the run trained" in r.text
    assert "LEARNING_RATE = 0.03\n" in r.text
    plain = client.get("/api/export", params={"url": "numSamples=100", "epochs": 5})
    assert "Not in it" not in plain.text and plain.headers["x-netplay-live-changes"] == "0"
