"""The image lab's *Export as PyTorch* (`playground_models/imagelab/export.py`,
`GET /api/lab/export`): one self-contained script per lab experiment that, run with plain
Python on the CPU, prints per epoch the numbers `LabTrainer` reaches on the CPU. The scripts
here are run for real, in a process of their own.

Measured: bit-equal. On torch's CPU kernels, with one thread on each side, every printed number
(mean training loss, test loss, test accuracy) equals the trainer's exactly, for the conv net
with batch norm and dropout below, the `mlp` preset with a schedule, and `resnet-mini`; so the
tolerance asserted is 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import torch

from playground_models.imagelab import export as labexport
from playground_models.imagelab.config import parse_query
from playground_models.imagelab.export import export_lab_script
from playground_models.imagelab.trainer import LabTrainer

EPOCHS = 2
LINKS = {
    # A small conv net on the 8×8 digits with batch norm (2-D and 1-D) and dropout, fused Adam,
    # a batch size that leaves a short last batch.
    "conv-bn-dropout": "data=digits&net=in8x8x1-conv8k3p1-bn-relu-maxpool2-drop0.25-fc32-bn-relu"
    "-drop0.2-fc10&seed=5&batchSize=24",
    # The plain MLP preset (the digits resized to 28×28), Nesterov momentum, a step schedule.
    "mlp": "preset=mlp&optimizer=nesterov&learningRate=0.03&schedule=step&lrStepGamma=0.5"
    "&lrStepEpochs=1&seed=k2",
}
TOLERANCE = 0.0  # measured: bit-equal (see the module's docstring)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """The script trains with one thread; the trainer here does too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run_script(script: str, tmp_path) -> list[dict]:
    path = tmp_path / "lab_script.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def _trainer_epochs(link: str, epochs: int) -> list[dict]:
    """The same numbers from `LabTrainer` on the CPU: each epoch's mean training loss (its
    `take_train_metrics`) and the test set's loss and accuracy at the epoch's end."""
    config, _ = parse_query(link)
    trainer = LabTrainer(config, torch.device("cpu"))
    steps = -(-trainer.n_train // config.batchSize)  # one epoch's minibatches
    rows = []
    for epoch in range(epochs):
        trainer.step(steps)
        train, test = trainer.take_train_metrics(), trainer.evaluate("test")
        rows.append({"epoch": epoch + 1, "train_loss": train.loss, "test_loss": test.loss,
                     "test_acc": test.acc})
    return rows


@pytest.mark.parametrize("name", LINKS)
def test_the_script_prints_the_trainers_numbers(name, tmp_path, one_thread):
    link = LINKS[name]
    script = export_lab_script(parse_query(link)[0], EPOCHS)
    printed = _run_script(script, tmp_path)
    expected = _trainer_epochs(link, EPOCHS)
    assert [r["epoch"] for r in printed] == list(range(1, EPOCHS + 1))
    for got, want in zip(printed, expected, strict=True):
        for key in ("train_loss", "test_loss", "test_acc"):
            assert abs(got[key] - want[key]) <= TOLERANCE, (name, got, want)


def test_the_script_writes_only_what_the_experiment_uses():
    mlp = export_lab_script(parse_query(LINKS["mlp"])[0], 3)
    assert "nn.Sequential(" in mlp and "nn.Linear(784, 100)" in mlp and "EPOCHS = 3\n" in mlp
    for absent in ("class SeededDropout", "class ResidualBlock", "BatchNorm", "Adam"):
        assert absent not in mlp
    assert "MOMENTUM = 0.9" in mlp and "F.interpolate" in mlp  # 8×8 digits resized to 28×28
    conv = export_lab_script(parse_query(LINKS["conv-bn-dropout"])[0], 1)
    assert "class SeededDropout" in conv and "nn.BatchNorm2d(8)" in conv
    assert "nn.BatchNorm1d(32)" in conv and "fused=True" in conv
    assert "F.interpolate" not in conv and "MOMENTUM" not in conv
    res = export_lab_script(parse_query("preset=resnet-mini")[0], 1)
    assert "class ResidualBlock" in res and "ResidualBlock(16, 32)," in res
    for script in (mlp, conv, res):
        compile(script, "lab_script.py", "exec")
        assert len(script.encode()) < 200_000  # the default digits: about 80 kB


def test_the_api_serves_the_script_as_a_download(client):
    r = client.get("/api/lab/export", params={"url": "?data=digits&preset=small-digits&seed=4",
                                              "epochs": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    assert (r.headers["content-disposition"]
            == 'attachment; filename="netplay_lab_digits_small-digits.py"')
    assert 'SEED = "4"' in r.text and "EPOCHS = 3\n" in r.text and "nn.Sequential" in r.text


@pytest.mark.parametrize(("params", "field"), [
    ({"url": "optimizer=banana"}, "optimizer"),
    ({"url": "net=conv8k3-bogus7"}, "net"),
    ({"url": "preset=nope"}, "preset"),
    ({"url": "data=digits", "epochs": 0}, "epochs"),
    ({"url": "data=synth&samples=20000"}, "samples"),  # over this server's lab_max_samples
])
def test_the_api_names_the_field_it_cannot_export(client, params, field):
    r = client.get("/api/lab/export", params=params)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == field


def test_data_too_big_for_a_script_is_refused_naming_data(client, monkeypatch):
    # The real case is `synth` with many samples (10,000 would be about 8 MB); the limit is
    # lowered here so that the default digits, about 80 kB, stand in for it quickly.
    monkeypatch.setattr(labexport, "MAX_SCRIPT_BYTES", 10_000)
    r = client.get("/api/lab/export", params={"url": "data=digits"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "data" and "MB" in error["message"]
