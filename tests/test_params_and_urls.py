"""The parameter table, `Experiment` validation and the share-URL codec."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground_models.experiment import ConfigError, Experiment
from playground_models.params import (
    ACTIVATIONS,
    BY_NAME,
    CLASSIFY_DATASETS,
    OPTIMIZERS,
    REGRESS_DATASETS,
)
from playground_models.trainer import Trainer
from playground_models.urlcodec import parse, serialize

TF_LINK = (
    "#activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03"
    "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.59704&showTestData=false"
    "&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false"
    "&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false"
    "&problem=classification&initZero=false&hideText=false"
)


# --- the table ----------------------------------------------------------------------------


def test_defaults_are_tf_playgrounds_first_run():
    exp = Experiment()
    assert exp.dataset == "circle"
    assert exp.features == ("x", "y")
    assert exp.networkShape == (4, 2)
    assert exp.activation == "tanh"
    assert exp.learningRate == 0.03
    assert exp.batchSize == 10
    assert exp.noise == 0
    assert exp.percTrainData == 50
    assert exp.problem == "classification"


def test_limits_allow_eight_layers_of_64_and_50_to_5000_samples():
    deep = Experiment(networkShape=[64] * 8, numSamples=5000)
    assert Trainer(deep).arch.sizes == (2, *[64] * 8, 2)
    assert Experiment(numSamples=50).numSamples == 50
    assert Experiment(networkShape=[]).networkShape == ()  # no hidden layer: a linear model
    with pytest.raises(ConfigError) as err:
        Experiment(networkShape=[65])
    assert err.value.key == "networkShape"
    with pytest.raises(ConfigError) as err:
        Experiment(numSamples=49)
    assert err.value.key == "numSamples"


def test_cross_parameter_rules_name_the_key():
    cases = [
        ({"loss": "mse"}, "loss"),
        ({"problem": "regression", "loss": "hinge"}, "loss"),
        ({"x": False, "y": False}, "x"),
        ({"layerActivations": ["relu"]}, "layerActivations"),
        ({"points": [[0.0, 0.0, 2.0]]}, "points"),
        ({"nonsense": 1}, "nonsense"),
    ]
    for values, key in cases:
        with pytest.raises(ConfigError) as err:
            Experiment(values)
        assert err.value.key == key


# --- random valid experiments round-trip ----------------------------------------------------


def _floats(name: str) -> st.SearchStrategy[float]:
    p = BY_NAME[name]
    return st.floats(p.min, p.max, allow_nan=False, allow_infinity=False)


def _ints(name: str) -> st.SearchStrategy[int]:
    p = BY_NAME[name]
    return st.integers(int(p.min), int(p.max))


@st.composite
def experiments(draw) -> Experiment:
    problem = draw(st.sampled_from(["classification", "regression"]))
    shape = draw(st.lists(st.integers(1, 64), max_size=8))
    v = {
        "problem": problem,
        "dataset": draw(st.sampled_from(CLASSIFY_DATASETS)),
        "regDataset": draw(st.sampled_from(REGRESS_DATASETS)),
        "numClasses": draw(_ints("numClasses")),
        "numSamples": draw(_ints("numSamples")),
        "percTrainData": draw(_ints("percTrainData")),
        "noise": draw(_ints("noise")),
        "jitter": draw(_floats("jitter")),
        "labelFlip": draw(_floats("labelFlip")),
        "seed": draw(st.from_regex(r"\A[A-Za-z0-9._-]{1,32}\Z")),
        "removed": draw(st.lists(st.integers(0, 4999), max_size=20)),
        "networkShape": shape,
        "activation": draw(st.sampled_from(ACTIVATIONS)),
        "init": draw(st.sampled_from(["tf", "small", "xavier", "he"])),
        "initZero": draw(st.booleans()),
        "dropout": draw(_floats("dropout")),
        "optimizer": draw(st.sampled_from(OPTIMIZERS)),
        "learningRate": draw(_floats("learningRate")),
        "momentum": draw(_floats("momentum")),
        "batchSize": draw(_ints("batchSize")),
        "regularization": draw(st.sampled_from(["none", "L1", "L2"])),
        "regularizationRate": draw(_floats("regularizationRate")),
        "showTestData": draw(st.booleans()),
        "knn": draw(_ints("knn")),
        "gridSize": draw(_ints("gridSize")),
    }
    for f in ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY"):
        v[f] = draw(st.booleans())
    # At least one feature of x₁: a 1-D curve (reg-sine) has no x₂ features.
    v["x"] = v["x"] or not any(v[f] for f in ("xSquared", "sinX"))
    if draw(st.booleans()):
        v["layerActivations"] = draw(
            st.lists(st.sampled_from(ACTIVATIONS), min_size=len(shape), max_size=len(shape))
        )
    losses = (
        ["auto", "softmax", "hinge"]
        if problem == "classification"
        else ["auto", "mse", "mae", "huber"]
    )
    v["loss"] = draw(st.sampled_from(losses))
    coord = st.floats(-6, 6, allow_nan=False)
    if problem == "classification":
        classes = Experiment(dataset=v["dataset"], numClasses=v["numClasses"]).num_classes
        label = st.integers(0, classes - 1)
    else:
        label = st.floats(allow_nan=False, allow_infinity=False)
    v["points"] = draw(st.lists(st.tuples(coord, coord, label), max_size=5))
    return Experiment(v)


@settings(max_examples=150, deadline=None)
@given(experiments(), st.sets(st.sampled_from(["learningRate", "playButton", "numNodes3"])))
def test_serialize_then_parse_gives_the_same_experiment_and_string(exp, hidden):
    text = serialize(exp, hidden)
    state = parse(text, strict=True)
    assert state.experiment == exp
    assert state.hidden == frozenset(hidden)
    assert state.warnings == [] and state.errors == []
    assert serialize(state.experiment, state.hidden) == text
    assert parse("#" + text).experiment == exp  # the hash form reads the same


def test_huge_regression_label_round_trips_without_a_plus_sign():
    exp = Experiment(problem="regression", points=[[0.5, -1.25, 1e16], [0.0, 0.0, -2.5e-7]])
    text = serialize(exp)
    assert "points=0.5,-1.25,1e16;0,0,-2.5e-07" in text.split("&")
    assert parse("?" + text, strict=True).experiment == exp


def test_canonical_string_starts_with_the_table_order_and_always_holds_the_seed():
    text = serialize(Experiment(networkShape=[]))
    keys = [pair.split("=")[0] for pair in text.split("&")]
    assert keys[:3] == ["problem", "dataset", "regDataset"]
    assert "seed=1" in text.split("&")
    assert "networkShape=" in text.split("&")
    assert parse(text).experiment.networkShape == ()


# --- the real TF Playground link -------------------------------------------------------------


def test_tf_playground_link_loads_as_the_same_experiment():
    state = parse(TF_LINK, strict=True)
    exp = state.experiment
    assert (exp.dataset, exp.networkShape, exp.activation) == ("circle", (4, 2), "tanh")
    assert (exp.learningRate, exp.seed, exp.batchSize) == (0.03, "0.59704", 10)
    assert exp.features == ("x", "y")
    assert exp.initZero is False and exp.regularizationRate == 0.0
    assert state.warnings == [] and state.errors == []  # cosX, collectStats: vestigial


def test_query_and_hash_forms_and_a_full_url_are_equal():
    body = TF_LINK[1:]
    by_hash = parse("#" + body).experiment
    assert parse("?" + body).experiment == by_hash
    assert parse(body).experiment == by_hash
    assert parse("https://playground.tensorflow.org/" + TF_LINK).experiment == by_hash
    assert parse("http://127.0.0.1:8000/?" + body).experiment == by_hash


def test_init_zero_true_starts_every_weight_and_bias_at_zero():
    exp = parse(TF_LINK.replace("initZero=false", "initZero=true")).experiment
    assert exp.initZero is True
    params = Trainer(exp).parameters()
    assert len(params) == 6
    assert all(float(p.abs().max()) == 0.0 for p in params)


def test_hide_keys_are_collected_and_unknown_ones_warned():
    state = parse("#learningRate_hide=true&playButton_hide=true&dropout_hide=false&bogus_hide=true")
    assert state.hidden == {"learningRate", "playButton"}
    assert len(state.warnings) == 1 and "bogus" in state.warnings[0]


def test_unknown_keys_become_warnings_and_are_ignored():
    state = parse("?learningRate=0.1&colour=blue&wat=1")
    assert state.experiment == Experiment(learningRate=0.1)
    assert len(state.warnings) == 2
    assert "'colour'" in state.warnings[0] and "'wat'" in state.warnings[1]


# --- bad values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, key, says",
    [
        ("networkShape=4,abc", "networkShape", "whole numbers"),
        ("networkShape=4,65", "networkShape", "between 1 and 64"),
        ("networkShape=1,1,1,1,1,1,1,1,1", "networkShape", "at most 8"),
        ("learningRate=-1", "learningRate", "between 1e-06 and 10"),
        ("learningRate=NaN", "learningRate", "finite"),
        ("learningRate=inf", "learningRate", "finite"),
        ("learningRate=1e400", "learningRate", "finite"),
        ("learningRate=1e300", "learningRate", "between"),
        ("numSamples=99999999999999999999", "numSamples", "between 50 and 5000, got 1e+20"),
        ("noise=1e308", "noise", "between 0 and 80, got 1e+308"),
        ("numSamples=99999999", "numSamples", "got 99999999"),
        ("batchSize=2.5", "batchSize", "whole number"),
        ("dataset=nope", "dataset", "circle"),
        ("x=maybe", "x", "true or false"),
        ("seed=a/b", "seed", "letters"),
        ("points=1,2", "points", "x,y,label"),
        ("points=0,9,1", "points", "between -6 and 6"),
        ("points=0,0,nan", "points", "finite"),
    ],
)
def test_bad_value_is_an_error_naming_the_key_and_the_allowed_range(query, key, says):
    with pytest.raises(ConfigError) as err:
        parse(query, strict=True)
    assert err.value.key == key
    assert str(err.value).startswith(key + ":")
    assert says in str(err.value)


def test_lenient_parse_keeps_the_rest_of_a_link_with_one_bad_key():
    state = parse("#learningRate=-1&networkShape=6,3&activation=relu&dataset=xor")
    exp = state.experiment
    assert exp.learningRate == 0.03  # left at its default
    assert (exp.networkShape, exp.activation, exp.dataset) == ((6, 3), "relu", "xor")
    assert [e.key for e in state.errors] == ["learningRate"]


def test_lenient_parse_drops_a_value_that_only_fails_together_with_others():
    state = parse("problem=classification&loss=mse&learningRate=0.1")
    assert state.experiment.loss == "auto" and state.experiment.learningRate == 0.1
    assert [e.key for e in state.errors] == ["loss"]
