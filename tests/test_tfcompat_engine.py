"""TF Playground mode's engine against numbers from TF Playground's own engine.

The fixtures in tests/fixtures/tfplayground/ were made once with TF's nn.ts/dataset.ts/state.ts
under Node (see the README there); nothing is fetched here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from playground_models.tfcompat import fast
from playground_models.tfcompat.arc4 import SeedRandom, mixkey
from playground_models.tfcompat.data import make_data
from playground_models.tfcompat.engine import TfConfig, TfRun

FIXTURES = Path(__file__).parent / "fixtures" / "tfplayground"
CASES = sorted(p.name for p in FIXTURES.glob("*__*.json"))


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _config(case: dict) -> TfConfig:
    h = dict(kv.split("=") for kv in case["hash"].split("&"))
    reg = h.get("problem") == "regression"
    return TfConfig(
        seed=case["seed"], regression=reg,
        dataset=h.get("regDataset", "reg-plane") if reg else h.get("dataset", "circle"),
        noise=float(h.get("noise", 0)), perc_train=float(h.get("percTrainData", 50)),
        inputs=tuple(case["inputs"]), shape=tuple(case["shape"][1:-1]),
        activation=h.get("activation", "tanh"), init_zero=h.get("initZero") == "true",
        learning_rate=float(h.get("learningRate", 0.03)),
        batch_size=int(h.get("batchSize", 10)),
        regularization=h.get("regularization", "none"),
        reg_rate=float(h.get("regularizationRate", 0)),
    )


def test_seedrandom_published_value():
    # seedrandom's README: Math.seedrandom('hello.'); Math.random() -> 0.9282578795792454
    assert SeedRandom("hello.")() == 0.9282578795792454
    assert SeedRandom("hello.")() != SeedRandom("hello")()


def test_seedrandom_streams_equal_node_output():
    streams = _load("seedrandom_streams.json")
    assert set(streams) >= {"", "hello.", "abc\u00e9"}
    for seed, values in streams.items():
        rnd = SeedRandom(seed)
        assert [rnd() for _ in values] == values, seed


def test_mixkey_uses_utf16_code_units():
    assert mixkey("ab") == [97, 98]
    assert mixkey("\u00e9") == [0xE9]
    assert len(mixkey("x" * 300)) == 256  # long seeds fold into 256 key bytes


@pytest.mark.parametrize("name", [c for c in CASES if "train" in _load(c)])
def test_points_and_split_equal_tf(name):
    case = _load(name)
    cfg = _config(case)
    train, test = make_data(SeedRandom(cfg.seed), cfg.dataset, cfg.regression, cfg.noise,
                            cfg.perc_train)
    assert (len(train), len(test)) == (case["n_train"], case["n_test"])
    for ours, ref in ((train, case["train"]), (test, case["test"])):
        for p, q in zip(ours, ref, strict=True):
            assert p[2] == q[2]
            assert abs(p[0] - q[0]) <= 1e-12 and abs(p[1] - q[1]) <= 1e-12


def test_regression_makes_1200_points():
    case = _load("reg_plane__0.12345.json")
    assert case["n_train"] + case["n_test"] == 1200
    train, test = make_data(SeedRandom("0.12345"), "reg-plane", True, 5, 50)
    assert len(train) == len(test) == 600


@pytest.mark.parametrize("path", ["kernel", "numpy"])
@pytest.mark.parametrize("name", CASES)
def test_initial_weights_and_loss_curve_equal_tf(name, path):
    if path == "kernel" and fast.kernel() is None:
        pytest.skip("no C compiler here: the numpy path is what runs")
    case = _load(name)
    run = TfRun(_config(case), use_kernel=path == "kernel")
    assert run.path == path
    weights, biases = run.flat_weights()
    assert weights == case["initial"]["weights"]
    assert biases == case["initial"]["biases"]
    for key, ref in (("train_head", "train"), ("test_head", "test")):
        head = case.get(key) or case[ref][:5]
        pts = run.train_points if ref == "train" else run.test_points
        flat = [v for p in pts[:5] for v in p]
        assert flat == pytest.approx([v for p in head for v in p], abs=1e-12)
    for epoch in range(101):
        if epoch:
            run.train_epoch()
        assert run.loss_train == pytest.approx(case["loss_train"][epoch], rel=1e-6), epoch
        assert run.loss_test == pytest.approx(case["loss_test"][epoch], rel=1e-6), epoch
    assert run.dead_count() == case["final"]["dead_count"]
    final_w, _ = run.flat_weights()
    assert final_w == pytest.approx(case["final"]["weights"], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("use_kernel", [None, False])
def test_l1_kills_links_for_good(use_kernel):
    case = _load("circle_l1__0.98765.json")
    run = TfRun(_config(case), use_kernel=use_kernel)
    for _ in range(100):
        run.train_epoch()
    assert run.dead_count() == case["final"]["dead_count"] == 3
    dead_weights = [w[d] for w, d in zip(run.weights, run.dead, strict=True)]
    assert all((w == 0.0).all() for w in dead_weights)
    run.train_epoch()
    assert all((w[d] == 0.0).all() for w, d in zip(run.weights, run.dead, strict=True))


def test_kernel_and_numpy_agree_bit_for_bit_through_divergence():
    # A learning rate TF lets diverge: both paths show the same losses, then NaN, and the
    # partial last batch (300 % 7) is carried into the next epoch by both.
    cfg = TfConfig(seed="0.5", regression=True, dataset="reg-plane", noise=0, perc_train=50,
                   inputs=("x", "y"), shape=(4, 2), activation="linear", init_zero=False,
                   learning_rate=1.0, batch_size=7, regularization="L2", reg_rate=0.01)
    runs = [TfRun(cfg, use_kernel=None), TfRun(cfg, use_kernel=False)]
    seen = []
    with np.errstate(all="ignore"):
        for _ in range(8):
            for r in runs:
                r.train_epoch()
            assert runs[0].loss_train == runs[1].loss_train or all(
                math.isnan(r.loss_train) for r in runs)
            seen.append(runs[0].loss_train)
    assert seen[1] > 100 * seen[0] and math.isnan(seen[-1])
    assert runs[0].metrics()["train_loss"] is None
