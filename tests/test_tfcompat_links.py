"""TensorFlow Playground mode as a link: `compat=tf` reads the link as TF does and
`netplay run` prints TF's own loss curve (fixtures made by TF's engine, see their README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playground_models.experiment import ConfigError
from playground_models.headless import run_epochs
from playground_models.urlcodec import parse, serialize

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "tfplayground"
CASES = sorted(p.name for p in FIXTURES.glob("*__*.json"))


def _case(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _assert_curve(records: list[dict], case: dict, epochs: int) -> None:
    assert [r["epoch"] for r in records] == list(range(1, epochs + 1))
    for r in records:
        e = r["epoch"]
        assert r["train_loss"] == pytest.approx(case["loss_train"][e], rel=1e-6), e
        assert r["test_loss"] == pytest.approx(case["loss_test"][e], rel=1e-6), e
        assert r["loss"] == "square"


@pytest.mark.parametrize("name", CASES)
def test_every_fixture_curve_through_the_link(name):
    case = _case(name)
    records = list(run_epochs("#compat=tf&" + case["hash"], 100))
    _assert_curve(records, case, 100)
    assert records[-1]["dead_weights"] == case["final"]["dead_count"]


def test_tf_serialized_link_with_every_tf_key_runs_the_same():
    # TF's own serialize() output: every key of state.ts, cosX/collectStats included.
    case = _case("reg_gauss__0.98765.json")
    warnings: list[str] = []
    records = list(run_epochs(case["tf_serialized"] + "&compat=tf", 20, warnings.append))
    _assert_curve(records, case, 20)
    assert warnings == []  # cosX=false, collectStats=false ask for nothing
    assert "train_acc" not in records[0]  # regression


def test_netplay_run_json_prints_tf_numbers():
    case = _case("xor_l2_batch7__0.12345.json")
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "run", "?compat=tf&" + case["hash"], "--epochs",
         "100", "--json"], cwd=ROOT, capture_output=True, timeout=300, check=True)
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    _assert_curve(records, case, 100)


def test_hide_removes_the_input_and_tf_keys_are_warnings():
    case = _case("circle_hide_x__0.12345.json")
    warnings: list[str] = []
    first = next(run_epochs("#compat=tf&" + case["hash"], 1, warnings.append))
    assert first["train_loss"] == pytest.approx(case["loss_train"][1], rel=1e-6)
    assert case["inputs"] == ["y", "xSquared", "ySquared"]  # TF dropped x
    assert any(w.startswith("tutorial=x ignored") for w in warnings)
    assert any(w.startswith("cosX=true ignored") for w in warnings)
    assert any(w.startswith("collectStats=true ignored") for w in warnings)
    # Outside the mode x_hide only hides the control and x stays an input.
    plain = parse("#" + case["hash"])
    assert plain.experiment["x"] is True and "x" in plain.hidden


def test_tf_boolean_parsing_only_in_the_mode():
    state = parse("#compat=tf&xSquared=yes&y=0&sinX=false&x_hide=1")
    exp = state.experiment
    assert (exp["xSquared"], exp["y"], exp["sinX"]) == (True, True, False)
    assert state.hidden == frozenset()  # TF hides only on exactly `true`
    assert parse("#xSquared=yes").errors[0].key == "xSquared"  # netplay stays strict


def test_mode_survives_sharing_and_netplay_links_do_not_change():
    exp = parse("?compat=tf&dataset=xor&seed=0.5").experiment
    text = serialize(exp)
    assert "compat=tf" in text.split("&")
    assert parse(text).experiment == exp
    assert "compat=" not in serialize(parse("?dataset=xor").experiment)


def test_a_value_tf_cannot_honour_is_named_and_the_run_opens_at_the_default():
    state = parse("#compat=tf&learningRate=abc&dataset=xor&seed=0.5")
    assert [e.key for e in state.errors] == ["learningRate"]
    assert state.experiment["learningRate"] == 0.03 and state.experiment["dataset"] == "xor"
    with pytest.raises(ConfigError, match="dataset"):
        next(run_epochs("#compat=tf&dataset=moons", 1))
    with pytest.raises(ConfigError, match="activation"):
        next(run_epochs("#compat=tf&activation=gelu", 1))


def test_netplay_only_keys_are_reported_in_the_mode():
    warnings: list[str] = []
    next(run_epochs("#compat=tf&optimizer=adam&dropout=0.2&seed=0.5", 1, warnings.append))
    assert "optimizer has no effect in TensorFlow Playground mode" in warnings
    assert "dropout has no effect in TensorFlow Playground mode" in warnings


def test_a_sweep_of_tf_links_gives_tf_numbers():
    from playground_models.sweep import parse_values, sweep

    case = [_case(f"circle_l1__{s}.json") for s in ("0.12345", "0.98765")]
    link = "?compat=tf&" + case[0]["hash"].replace("&seed=0.12345", "")
    points = sweep(link, "seed", parse_values("seed", "0.12345,0.98765"), 100, workers=1)
    for point, ref in zip(points, case, strict=True):
        assert point["loss"] == "square"
        assert point["test_loss"] == pytest.approx(ref["loss_test"][100], rel=1e-6)
        assert point["dead_weights"] == ref["final"]["dead_count"]


def test_a_compare_link_in_tf_mode_runs_every_run_on_tf_engine():
    # Two fixture links that differ in one key, as two runs of one comparison.
    plain, l1 = _case("circle_default__0.12345.json"), _case("circle_l1__0.12345.json")
    own = "&regularization=L1&regularizationRate=0.003&noise=10"
    assert l1["hash"].replace(own, "") == plain["hash"]
    link = "?compat=tf&" + plain["hash"] + "&runs=2" + own.replace("&", "&r2.")
    records = list(run_epochs(link, 40))
    for case, run in ((plain, 1), (l1, 2)):
        _assert_curve([r for r in records if r["run"] == run], case, 40)


def test_a_run_of_a_comparison_tf_cannot_run_is_named():
    from playground_models.compare import parse_compare

    with pytest.raises(ConfigError, match="^r2.dataset: 'moons' is not a TensorFlow Playground"):
        parse_compare("?compat=tf&runs=2&r2.dataset=moons")
    with pytest.raises(ConfigError, match="^activation:"):
        parse_compare("?compat=tf&activation=elu&runs=2&r2.learningRate=0.1")
    spec = parse_compare("?runs=2&r2.compat=tf")  # one run in the mode, one in netplay's
    assert [e["compat"] for e in spec.experiments] == ["netplay", "tf"]


def test_grad_norms_are_refused_in_the_mode():
    with pytest.raises(ConfigError, match="--grad-norms"):
        next(run_epochs("#compat=tf&seed=0.5", 1, grad_norms=True))


def test_a_shared_mode_link_with_every_key_at_its_default_opens_without_warnings():
    # The page's address bar writes every key; netplay's own keys at their defaults ask for
    # nothing TF Playground lacks, so the link a teacher copies opens quietly.
    state = parse("?compat=tf&dataset=circle&regularization=L1&seed=0.5")
    shared = parse(serialize(state.experiment, state.hidden))
    assert shared.experiment == state.experiment
    assert shared.warnings == []
    changed = parse(serialize(state.experiment.replace(optimizer="adam")))
    assert changed.warnings == ["optimizer has no effect in TensorFlow Playground mode"]
