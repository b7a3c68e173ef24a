"""Compare links: syntax, errors that name the culprit, and runs that reproduce `netplay run`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground_models.compare import Comparison, is_compare_url, parse_compare
from playground_models.experiment import ConfigError
from playground_models.headless import run_epochs

NEURONS = "runs=3&dataset=xor&noise=30&r1.networkShape=3&r2.networkShape=6&r3.networkShape=20"


def test_shared_keys_apply_to_every_run_and_overrides_to_one():
    spec = parse_compare(NEURONS)
    exps = spec.experiments
    assert [e.networkShape for e in exps] == [(3,), (6,), (20,)]
    assert all(e.dataset == "xor" and e.noise == 30 and e.seed == "1" for e in exps)
    assert spec.labels() == ["networkShape=3", "networkShape=6", "networkShape=20"]


def test_canonical_link_round_trips():
    spec = parse_compare(NEURONS + "&lesson=neurons&seed=abc&r2.learningRate=0.1&x_hide=true")
    again = parse_compare(spec.to_url())
    assert again == spec
    assert spec.to_url().startswith("runs=3&lesson=neurons&dataset=xor&noise=30&seed=abc&")
    assert again.hidden == frozenset({"x"}) and again.lesson == "neurons"


def test_hash_links_and_inferred_run_count():
    spec = parse_compare("http://host/compare#dataset=gauss&r1.loss=hinge&r2.loss=softmax")
    assert [e.loss for e in spec.experiments] == ["hinge", "softmax"]
    assert is_compare_url("?r1.seed=2&r2.seed=3") and not is_compare_url("?seed=2")


def test_a_run_without_overrides_is_the_shared_experiment():
    spec = parse_compare("runs=2&activation=relu&r2.dropout=0.5")
    assert spec.experiments[0] == spec.shared and spec.labels()[0] == "run 1"


@pytest.mark.parametrize(
    ("link", "key"),
    [
        ("runs=2&r2.learningRate=99", "r2.learningRate"),
        ("runs=2&r1.foo=1", "r1.foo"),
        ("runs=2&learningRate=abc", "learningRate"),
        ("runs=2&r1.loss=mse", "r1.loss"),
        ("r1.seed=2", "runs"),
        ("runs=7", "runs"),
        ("runs=x", "runs"),
        ("runs=3&r4.seed=2", "r4"),
        ("runs=2&r0.seed=2", "r0.seed"),
        ("runs=2&lesson=../etc", "lesson"),
    ],
)
def test_bad_links_raise_an_error_naming_the_key(link, key):
    with pytest.raises(ConfigError) as info:
        parse_compare(link)
    assert info.value.key == key


def test_runs_share_the_data_of_the_shared_seed():
    comparison = Comparison.from_url(NEURONS)
    first = comparison.trainers[0]
    for other in comparison.trainers[1:]:
        assert np.array_equal(other.data.train_x, first.data.train_x)
        assert np.array_equal(other.data.test_y, first.data.test_y)


def test_each_run_reproduces_netplay_run_for_its_first_20_epochs():
    spec = parse_compare(NEURONS + "&r2.optimizer=adam&r3.dropout=0.3")
    comparison = Comparison(spec)
    by_run = [list(run_epochs(url, 20)) for url in spec.run_urls()]
    for epoch in range(20):
        comparison.train_epochs(1)
        for m, expected in zip(comparison.metrics(), (run[epoch] for run in by_run), strict=True):
            assert m["epoch"] == expected["epoch"] == epoch + 1
            for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
                assert round(m[key], 6) == expected[key]


def test_a_diverged_run_stops_while_the_others_go_on():
    comparison = Comparison.from_url(
        "runs=2&networkShape=8,8&r1.learningRate=10"
        "&r1.activation=linear&r1.init=he&r1.optimizer=momentum"
    )
    comparison.train_epochs(30)
    bad, good = comparison.metrics(grad_norms=True)
    assert bad["diverged_at"] is not None and bad["train_loss"] is None
    assert good["epoch"] == 30 and good["train_loss"] is not None
    assert len(good["grad_norms"]) == 3


def test_grad_norms_are_reported_first_layer_first():
    comparison = Comparison.from_url("runs=2&networkShape=4,3,2&r2.activation=sigmoid")
    for m in comparison.metrics(grad_norms=True):
        assert len(m["grad_norms"]) == 4 and all(g > 0 for g in m["grad_norms"])
    # With W_k all zero no gradient flows back past it: every layer before k has a zero norm,
    # layer k itself does not. Only norms listed first layer first put the zeros at [:k].
    for run, trainer in enumerate(comparison.trainers):
        start = [t.detach().clone() for t in trainer.parameters()]
        for k in range(4):
            params = [t.clone() for t in start]
            params[2 * k].zero_()
            trainer.load_parameters(np.concatenate([t.numpy().ravel() for t in params]))
            norms = comparison.metrics(grad_norms=True)[run]["grad_norms"]
            assert norms[:k] == [0.0] * k and norms[k] > 0, (run, k, norms)


def test_netplay_run_on_a_compare_link_prints_every_run_each_epoch(capsys):
    from server.cli import main

    assert (
        main(
            [
                "run",
                "runs=2&networkShape=4,4&r2.activation=sigmoid",
                "--epochs",
                "2",
                "--json",
                "--grad-norms",
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["epoch"], r["run"]) for r in records] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert records[1]["label"] == "activation=sigmoid"
    assert all(len(r["grad_norms"]) == 3 for r in records)
    sigmoid = records[3]["grad_norms"]
    assert sigmoid[0] < sigmoid[-1]  # smaller on the way back through sigmoid layers


def test_netplay_run_keeps_its_default_record_without_the_flag(capsys):
    from server.cli import main

    assert main(["run", "networkShape=3", "--epochs", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record) == {"epoch", "train_loss", "test_loss", "reg_loss", "train_acc", "test_acc"}
