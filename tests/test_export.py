"""`netplay export`, `GET /api/export` and the page's *PyTorch script*: one self-contained
script per experiment that, run with plain Python, prints the numbers the reference path gives
for the same link (`playground_models/export.py`). The scripts here are run for real."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from playground_models import history
from playground_models.export import export_script
from playground_models.headless import run_epochs
from playground_models.trainer import Trainer
from playground_models.urlcodec import parse, serialize
from server.cli import main


def history_link(base: str, changes: list) -> str:
    """The link the page writes for a run of `base` with these live changes: its settings now,
    and in `h` the changes and what they moved was at the start (`urlcodec.run_query`)."""
    start = parse(base, strict=True).experiment
    now = start
    for change in changes:
        if change[0] == "set":
            now = now.replace(**change[2])
    return f"{serialize(now)}&h={history.encode(changes, history.start_values(changes, start))}"


EPOCHS = 200  # for the link run as its own process; the others train SHORT epochs
SHORT = 60
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
    # Runs with live changes (`h`), each made at its update (5 updates an epoch here, 7 or 8 once
    # the batch is 7): λ, the learning rate, a weight and a bias set by hand, optimizer switches.
    "history-lambda-lr-weight-optimizer": history_link("numSamples=100&networkShape=5,3", [
        ["set", 20, {"learningRate": 0.3}],
        ["w", 45, 0, 1, 0, 0.5],
        ["set", 75, {"regularization": "L2", "regularizationRate": 0.01}],
        ["set", 110, {"optimizer": "adam", "learningRate": 0.01}],
        ["b", 112, 1, 0, -0.2],
        ["set", 150, {"regularizationRate": 0.001}],
        ["set", 200, {"optimizer": "nesterov", "momentum": 0.5}],
        ["set", 250, {"momentum": 0.8}],
        ["set", 260, {"showTestData": True}],  # the view alone: left out
    ]),
    # The batch size, dropout, the loss, points added and removed mid-epoch, the schedule, and a
    # change at the very end of an epoch (step 80: after epoch 16's frame).
    "history-batch-dropout-loss-points-schedule": history_link(
        "numSamples=100&dataset=xor&networkShape=6,4&activation=relu&optimizer=momentum"
        "&regularization=L1&regularizationRate=0.001", [
            ["set", 0, {"dropout": 0.1}],
            ["set", 43, {"batchSize": 7, "dropout": 0.3}],
            ["set", 80, {"loss": "hinge"}],
            ["set", 123, {"points": [[1.5, 2, 1], [-3, 1, 0]], "removed": [3, 7]}],
            ["set", 200, {"schedule": "step", "lrStepEpochs": 10, "lrStepGamma": 0.7}],
            ["set", 260, {"dropout": 0, "regularization": "L2", "loss": "softmax"}],
            ["set", 330, {"removed": [3]}],
        ]),
    # Regression, standardized, a point added (the statistics follow), L1 on, then the loss.
    "history-regression-standardized-points-L1": history_link(
        "numSamples=100&problem=regression&regDataset=reg-gauss&networkShape=4&preprocess=standardize"
        "&optimizer=adam&learningRate=0.01&batchNorm=true", [
            ["set", 77, {"points": [[0.5, -1, 0.8]]}],
            ["set", 200, {"regularization": "L1", "regularizationRate": 0.003, "batchSize": 1}],
            ["set", 400, {"loss": "mae", "batchSize": 10}],
            ["set", 10**9, {"learningRate": 3}],  # after the last epoch: never made
        ]),
}
# The link run as its own process (the proof that a script needs nothing of netplay); the others
# run in one process, one after another (runpy), which saves importing torch for each.
ALONE = "sgd-tanh-default"
DRIVER = """import contextlib, io, json, runpy, sys
out = {}
for path in sys.argv[1:]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(path, run_name="__main__")
    out[path] = printed.getvalue()
print(json.dumps(out))
"""


def epochs_of(name: str) -> int:
    return EPOCHS if name == ALONE else SHORT


def _records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, list[dict]]:
    """Each link's script written out and run: one by itself, the rest in a second process."""
    folder = tmp_path_factory.mktemp("scripts")
    paths = {}
    for name, link in LINKS.items():
        state = parse(link, strict=True)
        paths[name] = folder / f"{name}.py"
        paths[name].write_text(export_script(state.run_start(), epochs_of(name), state.history))
    pipe = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    alone = subprocess.Popen([sys.executable, str(paths[ALONE])], **pipe)
    rest = [str(p) for name, p in paths.items() if name != ALONE]
    together = subprocess.Popen([sys.executable, "-c", DRIVER, *rest], **pipe)
    out = {}
    stdout, stderr = alone.communicate(timeout=300)
    assert alone.returncode == 0, stderr
    out[ALONE] = _records(stdout)
    stdout, stderr = together.communicate(timeout=600)
    assert together.returncode == 0, stderr
    runs = json.loads(stdout)
    for name, path in paths.items():
        if name != ALONE:
            out[name] = _records(runs[str(path)])
    return out


@pytest.fixture
def one_thread():
    """The scripts train on one torch thread, as the server's workers do."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def reference_records(link: str, epochs: int):
    """What `netplay run` does with a link (`headless.run_epochs`), on the reference path and
    unrounded: each epoch's metrics, each change made when its step comes."""
    state = parse(link, strict=True)
    trainer = Trainer(state.run_start(), backend="reference")
    pending = state.history
    for _ in range(epochs):
        if pending:
            pending = pending[history.replay(trainer, pending, at_epoch=trainer.epoch + 1):]
        else:
            trainer.train_epochs(1)
        yield trainer.metrics()


def relative_difference(got: float, want: float) -> float:
    return abs(got - want) / max(abs(want), 1e-12)


@pytest.mark.parametrize("name", LINKS)
def test_an_exported_script_prints_the_reference_paths_numbers(name, printed, one_thread):
    records = printed[name]
    assert [r["epoch"] for r in records] == list(range(1, epochs_of(name) + 1))
    worst = 0.0
    for record, want in zip(records, reference_records(LINKS[name], epochs_of(name)), strict=True):
        for key, value in record.items():
            assert value == pytest.approx(want[key], rel=1e-5, abs=1e-12), (record["epoch"], key)
            worst = max(worst, relative_difference(value, want[key]))
    print(f"{name}: largest relative difference {worst:.2g}")
    assert min(r["train_loss"] for r in records) < records[0]["train_loss"]  # it trained


@pytest.mark.parametrize("name", [n for n in LINKS if n.startswith("history-")])
def test_a_run_with_live_changes_prints_what_netplay_run_prints(name, printed, one_thread):
    """`netplay run` of the same link, as it runs: on the fast path (the C kernel, whose sums
    round in another order than torch's: `tests/test_fastpath.py`), rounded to 6 decimals."""
    worst = 0.0
    for record, want in zip(printed[name], run_epochs(LINKS[name], SHORT), strict=True):
        assert record["epoch"] == want["epoch"]
        for key in ("train_loss", "test_loss", "reg_loss", "train_acc", "test_acc"):
            if key in want:
                assert record[key] == pytest.approx(want[key], rel=1e-4, abs=1e-6), (want["epoch"], key)
                worst = max(worst, relative_difference(record[key], want[key]) if want[key] else 0.0)
    print(f"{name}: largest relative difference from netplay run {worst:.2g}")


def test_a_script_with_live_changes_reads_as_the_run():
    state = parse(LINKS["history-lambda-lr-weight-optimizer"], strict=True)
    script = export_script(state.run_start(), 50, state.history)
    assert "Live changes: the 8 made while the run trained" in script
    assert "Left out: 1 change of what the page shows alone" in script
    for line in ('CHANGES = [\n    ["set", 20, {"learningRate": 0.3}],\n    ["w", 45, 0, 1, 0, 0.5],',
                 '["set", 250, {"momentum": 0.8}],', "def apply_change(change, epoch):",
                 "def make_optimizer(name):", "LEARNING_RATE = 0.03\n", 'REGULARIZATION = "none"',
                 "model.weights[layer][to, source] = value", "model.biases[layer][to] = value"):
        assert line in script
    # What the run never moves stays as plainly written as in a run without changes.
    for absent in ("load_data", "SCHEDULE", "LOSS =", "DROPOUT"):
        assert absent not in script


@pytest.mark.parametrize(("changes", "message"), [
    ([["w", 10, 0, 9, 0, 0.5]], "change 1 cannot be made: to must be 0..4"),
    ([["set", 5, {"learningRate": 0.1}], ["b", 10, 3, 0, 1.0]], "change 2 cannot be made: layer must be 0..2"),
    ([["w", 10, 0, 0, 0, 5000.0]], "change 1 cannot be made: value must be between -1000 and 1000"),
    ([["set", 10, {"learningRate": 99}]], "change 1 cannot be made: learningRate"),
    ([["set", 10, {"removed": list(range(100))}]], "change 1 cannot be made: removed: leaves no"),
])
def test_a_change_that_cannot_be_made_is_named(changes, message):
    with pytest.raises(Exception) as err:
        export_script(parse("numSamples=100&networkShape=5,3", strict=True).experiment, 5, changes)
    assert err.value.key == "h" and message in str(err.value)


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


def test_the_api_and_the_command_export_a_runs_live_changes(client, tmp_path):
    changes = [["set", 40, {"learningRate": 0.3}], ["w", 90, 0, 1, 0, 0.5]]
    link = history_link("numSamples=100", changes)
    assert "learningRate=0.3" in link  # the link holds the settings now, `h` the start
    r = client.get("/api/export", params={"url": link, "epochs": 5})
    assert r.status_code == 200 and r.headers["x-netplay-live-changes"] == "2"
    assert "LEARNING_RATE = 0.03\n" in r.text and '["set", 40, {"learningRate": 0.3}]' in r.text
    out = tmp_path / "run.py"
    assert main(["export", link, "--epochs", "5", "-o", str(out)]) == 0
    assert out.read_text() == r.text
    plain = client.get("/api/export", params={"url": "numSamples=100", "epochs": 5})
    assert "CHANGES" not in plain.text and plain.headers["x-netplay-live-changes"] == "0"
    bad = client.get("/api/export", params={"url": history_link("numSamples=100", [["w", 9, 7, 0, 0, 1.0]])})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "h"
