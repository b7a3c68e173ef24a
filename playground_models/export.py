"""An experiment as one self-contained PyTorch script (`netplay export`, the page's *Export as
PyTorch*): the data as netplay generated it, the features, the net as an `nn.Module` starting
from the seed's weights, the optimizer, loss, schedule, dropout draw and minibatch order, the
run's live changes (a link's history, `history.py`) each made at its update, and a loop
printing each epoch's metrics as one JSON line. It needs only torch and numpy, and prints the
numbers `netplay run` prints for the same link, to float rounding (the reference path's: the
same operations in the same order; `tests/test_export.py` runs exported scripts).

The script is written for a student to read: only what this experiment uses appears in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import history
from .datasets import DataSplit, generate
from .experiment import ConfigError, Experiment
from .features import FEATURE_FUNCTIONS
from .history import Change
from .network import Architecture
from .params import Effect
from .rules import (
    BATCH_NORM_EPS,
    BATCH_NORM_MOMENTUM,
    HUBER_DELTA,
    LEAKY_RELU_SLOPE,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZER_RULES,
    WARMUP_START_FACTOR,
)
from .schedules import Schedule
from .trainer import check_index, edit_value
from .urlcodec import serialize

# How each feature, activation and loss reads in the script (as `features.py`, `network.py`).
FEATURE_CODE = {
    "x": "x1", "y": "x2", "xSquared": "x1 * x1", "ySquared": "x2 * x2", "xTimesY": "x1 * x2",
    "sinX": "np.sin(x1)", "sinY": "np.sin(x2)",
}
ACTIVATION_CODE = {
    "relu": "torch.relu(z)",
    "tanh": "torch.tanh(z)",
    "sigmoid": "torch.sigmoid(z)",
    "linear": "z",
    "leakyrelu": f"F.leaky_relu(z, {LEAKY_RELU_SLOPE!r})",
    "elu": "F.elu(z)",
    "gelu": 'F.gelu(z, approximate="tanh")',
    "sine": "torch.sin(z)",
}
LOSS_CODE = {
    "softmax": ("softmax cross-entropy", "return F.cross_entropy(scores, target)"),
    "hinge": ("multi-class hinge (Weston–Watkins): Σ_{j≠y} max(0, s_j − s_y + 1)",
              ("correct = scores.gather(1, target[:, None])\n"
              "margins = (scores - correct + 1.0).clamp_min(0.0)\n"
              "return (margins.sum(dim=1) - 1.0).mean()  # the j = y term adds exactly 1")),
    "square": ("½(tanh s − t)², t = +1 for the true class and −1 for the others",
               ("signs = 2.0 * F.one_hot(target, scores.shape[1]).to(scores.dtype) - 1.0\n"
               "return 0.5 * ((torch.tanh(scores) - signs) ** 2).mean()")),
    "mse": ("½(o − t)²", "return 0.5 * ((scores[:, 0] - target) ** 2).mean()"),
    "mae": ("|o − t|", "return (scores[:, 0] - target).abs().mean()"),
    "huber": (f"Huber, δ = {HUBER_DELTA!r}",
              f"return F.huber_loss(scores[:, 0], target, delta={HUBER_DELTA!r})"),
}
INIT_CODE = {
    "tf": ('w = rng.uniform(-0.5, 0.5, shape)  # TF Playground\'s: U(−0.5, 0.5), every bias 0.1',
           "0.1"),
    "small": ("w = rng.normal(0.0, 0.01, shape)  # N(0, 0.01²)", "0.0"),
    "xavier": (("limit = math.sqrt(6.0 / (fan_in + fan_out))  # Xavier (Glorot) uniform\n"
               "w = rng.uniform(-limit, limit, shape)"), "0.0"),
    "he": ("w = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)  # He (Kaiming) normal", "0.0"),
}
MAX_EPOCHS = 100_000

# The live settings a run's history may move, as the script names them (CHANGES holds the
# link's names); `points` and `removed` move the data.
SCRIPT_NAMES = {
    "learningRate": "LEARNING_RATE", "batchSize": "BATCH_SIZE", "dropout": "DROPOUT",
    "optimizer": "OPTIMIZER", "momentum": "MOMENTUM", "loss": "LOSS",
    "regularization": "REGULARIZATION", "regularizationRate": "REG_RATE",
    "schedule": "SCHEDULE", "lrStepGamma": "LR_STEP_GAMMA", "lrStepEpochs": "LR_STEP_EPOCHS",
    "lrDecay": "LR_DECAY", "lrCycleEpochs": "LR_CYCLE_EPOCHS", "lrWarmupEpochs": "LR_WARMUP_EPOCHS",
}
SCHEDULE_KEYS = ("schedule", "lrStepGamma", "lrStepEpochs", "lrDecay", "lrCycleEpochs", "lrWarmupEpochs")
DATA_KEYS = ("points", "removed")


@dataclass
class _Run:
    """The run a script trains: its start, and its live changes (`history.py`) as the script
    makes them: a setting change holds only what it changed (a loss by the name it acts as),
    and a change of what the page shows alone is left out."""

    start: Experiment
    changes: list[Change] = field(default_factory=list)
    states: list[Experiment] = field(default_factory=list)  # the settings in force, in turn
    moved: set[str] = field(default_factory=set)  # the settings the changes move
    view_only: int = 0  # changes left out: they changed only what the page shows

    def moves(self, *names: str) -> bool:
        return not self.moved.isdisjoint(names)

    def any_state(self, test: Callable[[Experiment], bool]) -> bool:
        return any(test(s) for s in self.states)


def export_script(exp: Experiment, epochs: int, changes: Sequence[Change] = ()) -> str:
    """The script for `exp`, training `epochs` epochs and making `changes` (a link's history,
    `history.py`, whose start `exp` then is: `SharedState.run_start`) each at its update, as
    `history.Replay` makes them. Raises `ConfigError` for what a script cannot reproduce
    (TensorFlow Playground mode runs TF's own engine), `ConfigError("h")` naming a change that
    cannot be made."""
    if exp["compat"] == "tf":
        raise ConfigError("compat", "TensorFlow Playground mode cannot be exported: it runs TF "
                          "Playground's own engine; remove compat=tf")
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ConfigError("epochs", f"must be between 1 and {MAX_EPOCHS:,}, got {epochs}")
    run = _plan(exp, changes)
    data = generate(exp)
    classify = exp.is_classification
    outputs = exp.num_classes if classify else 1
    sizes = (len(exp.features), *exp.networkShape, outputs)
    parts = [
        _header(run, _short_link(exp), sizes, data.train_x.shape[0], data.test_x.shape[0]),
        _settings(run, epochs, sizes),
        _editable_data(run) if run.moves(*DATA_KEYS) else _data(exp, data),
        _model(exp),
        _training(run),
    ]
    return "\n\n".join(parts) + "\n"


def _plan(start: Experiment, changes: Sequence[Change]) -> _Run:
    """`changes` checked as `history.Replay` makes them, each reduced to what it changes."""
    run = _Run(start, states=[start])
    exp, sizes = start, Architecture.of(start).sizes
    for i, change in enumerate(changes):
        try:
            if change[0] != "set":
                run.changes.append(_edit(change, sizes))
                continue
            new = exp.replace(**change[2])
            effects = new.changes_from(exp)
            rebuilds = [k for k, e in effects.items() if e is Effect.REBUILD]
            if rebuilds:
                raise ConfigError(rebuilds[0], "rebuilds the run: it is no live change")
            if Effect.DATA in effects.values():
                generate(new)  # a removal that leaves a side without points is refused here
            exp = new
            names = [k for k, e in effects.items() if e is not Effect.VIEW]
            run.view_only += bool(effects) and not names
            if names:
                run.changes.append(["set", change[1], {k: _setting(new, k) for k in names}])
                run.states.append(new)
                run.moved.update(names)
        except (ConfigError, ValueError) as err:
            raise ConfigError(history.KEY, f"change {i + 1} cannot be made: {err}") from None
    return run


def _edit(change: Change, sizes: Sequence[int]) -> Change:
    """A weight or bias set by hand, checked as `Trainer.set_weight` checks it."""
    kind, step, layer, to = change[0], change[1], int(change[2]), int(change[3])
    check_index("layer", layer, len(sizes) - 1, f"this net has {len(sizes) - 1} weight layers")
    check_index("to", to, sizes[layer + 1], f"layer {layer} has {sizes[layer + 1]} neurons")
    if kind == "w":
        source = int(change[4])
        check_index("from", source, sizes[layer], f"layer {layer} reads {sizes[layer]} values")
        return ["w", step, layer, to, source, edit_value(float(change[5]))]
    return ["b", step, layer, to, edit_value(float(change[4]))]


def _setting(exp: Experiment, name: str) -> Any:
    """A setting's value as CHANGES holds it: plain JSON, the loss by the name it acts as."""
    if name == "loss":
        return exp.loss_name
    value = exp[name]
    if isinstance(value, tuple):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return value


def _short_link(exp: Experiment) -> str:
    """The experiment's link without the keys at their defaults (the seed is always named)."""
    defaults = set(serialize(Experiment()).split("&"))
    return "&".join(p for p in serialize(exp).split("&") if p not in defaults or p.startswith("seed="))


def _header(run: _Run, link: str, sizes: Sequence[int], n_train: int, n_test: int) -> str:
    exp = run.start
    shape = " → ".join(str(s) for s in sizes)
    kind = f"{exp.num_classes} classes" if exp.is_classification else "regression"
    changes = ""
    if run.changes:
        n = len(run.changes)
        changes = (f"\nLive changes: the {n} made while the run trained (the link's h), each at "
                   "the update it was\nmade at: see CHANGES. The link and settings here are "
                   "those the run started from.\n")
    if run.view_only:
        changes += (f"{'' if changes else chr(10)}Left out: {run.view_only} change"
                    f"{'s' * (run.view_only > 1)} of what the page shows alone (training is the "
                    "same without).\n")
    return f'''"""A netplay experiment as a PyTorch script.

Link:  ?{link}
Net:   {shape} ({kind}), {", ".join(exp.layer_activations) or "no hidden layer"}
Data:  {exp.data_name}, {n_train} training and {n_test} test points
{changes}
Run it with `python` (it needs torch and numpy): it trains as netplay trained the link and prints
one line of JSON per epoch, the numbers `netplay run` prints for the same link.
"""

import hashlib
import json
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# One thread, as netplay's workers train: with several, torch may sum a batch norm's statistics
# in another order, and the numbers drift apart in the last digits.
torch.set_num_threads(1)'''


def _uses_dropout(run: _Run) -> bool:
    return bool(run.start.networkShape) and run.any_state(lambda s: s.dropout > 0)


def _settings(run: _Run, epochs: int, sizes: Sequence[int]) -> str:
    exp = run.start
    lines = [
        "# --- the experiment " + "-" * 70,
        f"SEED = {json.dumps(exp.seed)}",
        f"EPOCHS = {epochs}",
        f"LAYER_SIZES = {list(sizes)}  # inputs, hidden layers, outputs",
        f"ACTIVATIONS = {json.dumps(list(exp.layer_activations))}  # one per hidden layer",
        f'OPTIMIZER = "{exp.optimizer}"',
        f"LEARNING_RATE = {exp.learningRate!r}",
    ]
    if run.moves("momentum") or run.any_state(lambda s: OPTIMIZER_RULES[s.optimizer].momentum):
        lines.append(f"MOMENTUM = {exp.momentum!r}")
    lines.append(f"BATCH_SIZE = {exp.batchSize}")
    if _uses_dropout(run):
        lines.append(f"DROPOUT = {exp.dropout!r}  # the share of each hidden layer dropped per step")
    if run.moves("regularization", "regularizationRate"):
        lines.append(f'REGULARIZATION = "{exp.regularization}"  # none, L1 or L2')
        lines.append(f"REG_RATE = {exp.regularizationRate!r}  # λ")
    elif _penalty(exp) != "none":
        lines.append(f"{exp.regularization}_RATE = {exp.regularizationRate!r}  # λ")
    if run.moves("loss"):
        lines.append(f'LOSS = "{exp.loss_name}"')
    if run.moves(*SCHEDULE_KEYS):
        lines.append(f'SCHEDULE = "{exp.schedule}"  # the learning-rate schedule')
        lines += [f"{SCRIPT_NAMES[k]} = {exp[k]!r}" for k in _schedule_keys(run)]
    return "\n".join(lines)


SCHEDULE_USES = {
    "step": ("lrStepGamma", "lrStepEpochs"), "exponential": ("lrDecay",),
    "cosine": ("lrCycleEpochs",), "warmup-cosine": ("lrWarmupEpochs", "lrCycleEpochs"),
}


def _schedule_keys(run: _Run) -> list[str]:
    """The schedule settings the script names: those its schedules read, and those the run moves."""
    used = {k for s in run.states for k in SCHEDULE_USES.get(s.schedule, ())} | run.moved
    return [k for k in SCHEDULE_KEYS[1:] if k in used]


def _array(values: np.ndarray, dtype: str) -> str:
    """`values` as Python source that reads back exactly (repr round-trips a float64)."""
    if values.ndim == 1:
        return f"np.array([{', '.join(repr(v.item()) for v in values)}], dtype={dtype})"
    rows = ",\n    ".join("[" + ", ".join(repr(v.item()) for v in row) + "]" for row in values)
    return f"np.array([\n    {rows},\n], dtype={dtype})"


def _features(exp: Experiment) -> str:
    feats = ", ".join(FEATURE_CODE[n] for n in exp.features)
    assert set(exp.features) <= set(FEATURE_FUNCTIONS)
    return f'''def features(points):
    """The net's inputs: {", ".join(exp.features)}."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{feats}], axis=1)'''


def _preprocess(exp: Experiment) -> str:
    return {
        "none": "",
        "center": ("\n# Centered with the training set's means (the test set gets the same numbers).\n"
                   "MEAN = train_features.mean(axis=0)\n"
                   "train_features, test_features = train_features - MEAN, test_features - MEAN"),
        "standardize": ("\n# Standardized with the training set's statistics (the test set gets the same).\n"
                        "MEAN = train_features.mean(axis=0)\n"
                        "STD = train_features.std(axis=0)\n"
                        "STD = np.where(STD > 1e-12, STD, 1.0)  # a constant feature stays as it is\n"
                        "train_features = (train_features - MEAN) / STD\n"
                        "test_features = (test_features - MEAN) / STD"),
    }[exp.preprocess]


def _labels(exp: Experiment) -> tuple[str, str, str]:
    """The labels' numpy type, what they are, and their torch type."""
    if exp.is_classification:
        return "np.int64", "class of each point", "torch.int64"
    return "np.float64", "target of each point", "torch.float32"


def _data(exp: Experiment, data: DataSplit) -> str:
    label, what, y_type = _labels(exp)
    return f'''# --- the data, as netplay generated it (x₁, x₂ per point) {"-" * 34}
TRAIN_POINTS = {_array(data.train_x, "np.float64")}
TRAIN_LABELS = {_array(data.train_y, label)}  # the {what}
TEST_POINTS = {_array(data.test_x, "np.float64")}
TEST_LABELS = {_array(data.test_y, label)}


{_features(exp)}


train_features, test_features = features(TRAIN_POINTS), features(TEST_POINTS){_preprocess(exp)}
x_train = torch.from_numpy(train_features.astype(np.float32))
x_test = torch.from_numpy(test_features.astype(np.float32))
y_train = torch.from_numpy(TRAIN_LABELS).to({y_type})
y_test = torch.from_numpy(TEST_LABELS).to({y_type})'''


def _editable_data(run: _Run) -> str:
    """The data of a run that adds or removes points: the generated points with their place
    in generation order (what `removed` names), and `load_data` making the tensors of an edit."""
    exp = run.start
    data = generate(exp.replace(points=(), removed=()))
    assert data.train_index is not None and data.test_index is not None
    label, what, y_type = _labels(exp)
    one_d = "\n    added[:, 1] = 0.0  # a 1-D curve has no x₂" if data.one_d else ""
    return f'''# --- the data, as netplay generated it (x₁, x₂ per point) {"-" * 34}
# The run adds and removes points: *_INDEX is each generated point's place in generation order,
# which `removed` names; points added by hand ([x₁, x₂, label]) join the training set.
TRAIN_POINTS = {_array(data.train_x, "np.float64")}
TRAIN_LABELS = {_array(data.train_y, label)}  # the {what}
TRAIN_INDEX = {_array(data.train_index, "np.int64")}
TEST_POINTS = {_array(data.test_x, "np.float64")}
TEST_LABELS = {_array(data.test_y, label)}
TEST_INDEX = {_array(data.test_index, "np.int64")}
ADDED_POINTS = {json.dumps(_setting(exp, "points"))}  # when the run starts
REMOVED = {json.dumps(_setting(exp, "removed"))}  # when the run starts


{_features(exp)}


def load_data(added, removed):
    """x_train, y_train, x_test and y_test: the generated points less those `removed`, and
    the points `added` by hand in the training set."""
    global x_train, y_train, x_test, y_test
    added = np.array(added, dtype=np.float64).reshape(-1, 3){one_d}
    keep_train, keep_test = ~np.isin(TRAIN_INDEX, removed), ~np.isin(TEST_INDEX, removed)
    train_points = np.concatenate([TRAIN_POINTS[keep_train], added[:, :2]])
    train_labels = np.concatenate([TRAIN_LABELS[keep_train], added[:, 2].astype({label})])
    train_features, test_features = features(train_points), features(TEST_POINTS[keep_test]){_indent(_preprocess(exp), 4)}
    x_train = torch.from_numpy(train_features.astype(np.float32))
    x_test = torch.from_numpy(test_features.astype(np.float32))
    y_train = torch.from_numpy(train_labels).to({y_type})
    y_test = torch.from_numpy(TEST_LABELS[keep_test]).to({y_type})


load_data(ADDED_POINTS, REMOVED)'''


def _model(exp: Experiment) -> str:
    init_code, bias = INIT_CODE[exp.init]
    if exp.initZero:
        init_code, bias = "w = np.zeros(shape)  # every weight starts at 0", "0.0"
    init_body = _indent(init_code, 8)
    acts = "\n".join(f'    "{a}": lambda z: {ACTIVATION_CODE[a]},' for a in dict.fromkeys(exp.layer_activations))
    bn = exp.batchNorm and bool(exp.networkShape)
    norms = ""
    norm_line = ""
    if bn:
        norms = ("\n        # Batch norm before each hidden activation: by the batch in training, by\n"
                 "        # running estimates in eval mode.\n"
                 "        self.norms = nn.ModuleList(\n"
                 f"            nn.BatchNorm1d(n, eps={BATCH_NORM_EPS!r}, momentum={BATCH_NORM_MOMENTUM!r})"
                 " for n in LAYER_SIZES[1:-1])")
        norm_line = "\n            z = self.norms[i](z)"
    return f'''# --- the model {"-" * 76}
def stream(name):
    """One of the seed's random streams ("init", "shuffle", "dropout"): netplay's own draws."""
    digest = hashlib.sha256(f"netplay/{{SEED}}/{{name}}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:8], "little")))


def initial_parameters():
    """[W₁, b₁, W₂, b₂, …]: the seed's starting weights, W as [out, in]."""
    rng = stream("init")
    params = []
    for fan_in, fan_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:]):
        shape = (fan_out, fan_in)
{init_body}
        params += [w.astype(np.float32), np.full(fan_out, {bias}, dtype=np.float32)]
    return params


ACTIVATION = {{
{acts}
}}


class Net(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.weights = nn.ParameterList(nn.Parameter(torch.from_numpy(w)) for w in params[0::2])
        self.biases = nn.ParameterList(nn.Parameter(torch.from_numpy(b)) for b in params[1::2]){norms}

    def forward(self, x, masks=None):
        """Scores [n, outputs]; `masks` (one per hidden layer) apply dropout."""
        h = x
        for i, act in enumerate(ACTIVATIONS):
            z = h @ self.weights[i].T + self.biases[i]{norm_line}
            h = ACTIVATION[act](z)
            if masks is not None:
                h = h * masks[i]
        return h @ self.weights[-1].T + self.biases[-1]'''


def _data_loss(run: _Run) -> str:
    exp = run.start
    if not run.moves("loss"):
        what, body = LOSS_CODE[exp.loss_name]
        return f"def data_loss(scores, target):\n    \"\"\"The mean {what}.\"\"\"\n{_indent(body, 4)}"
    names = list(dict.fromkeys(s.loss_name for s in run.states))
    lines = ["def data_loss(scores, target):", '    """The mean of the loss named LOSS."""']
    for name in names[:-1]:
        what, body = LOSS_CODE[name]
        lines += [f'    if LOSS == "{name}":  # {what}', _indent(body, 8)]
    what, body = LOSS_CODE[names[-1]]
    lines += [f"    # {names[-1]}: {what}", _indent(body, 4)]
    return "\n".join(lines)


def _penalty_code(run: _Run) -> str:
    if run.moves("regularization", "regularizationRate"):
        return ("\n\n\ndef penalty(model):\n"
                "    \"\"\"The penalty in force on the weights (never the biases): L1 = λΣ|w|, "
                "L2 = ½λΣw².\"\"\"\n"
                "    if REGULARIZATION == \"none\" or REG_RATE == 0:\n"
                "        return torch.zeros(())\n"
                "    if REGULARIZATION == \"L1\":\n"
                "        return REG_RATE * sum(w.abs().sum() for w in model.weights)\n"
                "    return 0.5 * REG_RATE * sum((w * w).sum() for w in model.weights)")
    return {
        "none": "",
        "L1": ("\n\n\ndef penalty(model):\n    \"\"\"L1: λΣ|w| over the weights (never the biases).\"\"\"\n"
               "    return L1_RATE * sum(w.abs().sum() for w in model.weights)"),
        "L2": ("\n\n\ndef penalty(model):\n    \"\"\"L2: ½λΣw² over the weights (never the biases).\"\"\"\n"
               "    return 0.5 * L2_RATE * sum((w * w).sum() for w in model.weights)"),
    }[_penalty(run.start)]


def _has_penalty(run: _Run) -> bool:
    return run.moves("regularization", "regularizationRate") or _penalty(run.start) != "none"


def _optimizer_code(run: _Run) -> str:
    """The optimizer: built in place, or by `make_optimizer` when the run switches it."""
    if not run.moves("optimizer"):
        return _new_optimizer(run.start.optimizer, "learning_rate_at(0)", "optimizer")
    lines = ["def make_optimizer(name):",
             '    """A new optimizer of the kind `name`, with no state yet."""']
    for name in dict.fromkeys(s.optimizer for s in run.states):
        lines += [f'    if name == "{name}":', _indent(_new_optimizer(name, "LEARNING_RATE"), 8)]
    lines += ['    raise ValueError(f"unknown optimizer {name}")', "", "",
              "optimizer = make_optimizer(OPTIMIZER)"]
    return "\n".join(lines)


def _new_optimizer(name: str, lr: str, target: str | None = None) -> str:
    """Code building optimizer `name` into `target`, or returning it."""
    rule = OPTIMIZER_RULES[name]
    if not rule.momentum:
        kwargs = "".join(f", {k}={v!r}" for k, v in rule.torch_kwargs().items())
        build = f"torch.optim.{rule.torch_class}(model.parameters(), lr={lr}{kwargs})"
        return f"{target} = {build}" if target else f"return {build}"
    # torch refuses Nesterov at momentum 0 when built, yet steps with it as plain SGD.
    into = target or "opt"
    return (f"{into} = torch.optim.SGD(model.parameters(), lr={lr}, "
            f"momentum=MOMENTUM or 0.9, nesterov={rule.nesterov})\n"
            f"for group in {into}.param_groups:\n"
            "    group[\"momentum\"] = MOMENTUM" + ("" if target else f"\nreturn {into}"))


def _learning_rate_code(run: _Run) -> str:
    exp = run.start
    head = "def learning_rate_at(epoch):\n"
    if not run.moves(*SCHEDULE_KEYS):
        return f"{head}    \"\"\"{_schedule_doc(exp)}\"\"\"\n    return {_schedule_code(exp)}"
    lines = [head + '    """The learning rate of an epoch in the schedule SCHEDULE (torch\'s lr_scheduler)."""']
    for name in dict.fromkeys(s.schedule for s in run.states):
        if name != "constant":
            lines += [f'    if SCHEDULE == "{name}":', f"        return {_schedule_code(exp, name)}"]
    lines.append("    return LEARNING_RATE")
    return "\n".join(lines)


def _changes_code(run: _Run) -> str:
    """CHANGES and `apply_change`, with a line for each kind of change the run makes."""
    rows = ",\n".join(f"    {json.dumps(c, ensure_ascii=False)}" for c in run.changes)
    kinds = {c[0] for c in run.changes}
    settings = [k for k in SCRIPT_NAMES if k in run.moved and (k != "dropout" or _uses_dropout(run))]
    rebinds = [SCRIPT_NAMES[k] for k in settings] + ["optimizer"] * run.moves("optimizer")
    rebinds += ["ADDED_POINTS", "REMOVED"] * run.moves(*DATA_KEYS)
    lines = [
        f"# --- the live changes {'-' * 69}",
        "# Each change made while the run trained, at the update (step) it was made at, as netplay",
        "# recorded it in the link's h: [\"set\", step, {setting: value}] with the link's names,",
        "# [\"w\", step, layer, to, from, value] a weight W[layer][to, from] set by hand and",
        "# [\"b\", step, layer, to, value] a bias b[layer][to]. A change whose step comes after the",
        "# last epoch is not made.",
        f"CHANGES = [\n{rows},\n]",
        "",
        "",
        "def apply_change(change, epoch):",
        '    """Make one change of CHANGES, as netplay makes it: from the next update on. Returns',
        '    whether the data changed (the epoch\'s pass then starts over, on the new data)."""',
    ]
    for i in range(0, len(rebinds), 6):
        lines.append(f"    global {', '.join(rebinds[i:i + 6])}")
    if "w" in kinds:
        lines += ["    if change[0] == \"w\":  # set by hand; the optimizer keeps its state (momentum, …)",
                  "        _, _, layer, to, source, value = change",
                  "        with torch.no_grad():",
                  "            model.weights[layer][to, source] = value",
                  "        return False"]
    if "b" in kinds:
        lines += ["    if change[0] == \"b\":",
                  "        _, _, layer, to, value = change",
                  "        with torch.no_grad():",
                  "            model.biases[layer][to] = value",
                  "        return False"]
    if "set" not in kinds:
        return "\n".join(lines + ["    return False"])
    lines.append("    values = change[2]")
    lines += [f"    {SCRIPT_NAMES[k]} = values.get(\"{k}\", {SCRIPT_NAMES[k]})" for k in settings]
    if run.moves("optimizer"):
        lines += ["    if \"optimizer\" in values:",
                  "        optimizer = make_optimizer(OPTIMIZER)  # a new kind starts with no state"]
    if run.moves("momentum"):
        first = "el" if run.moves("optimizer") else ""
        lines += [f"    {first}if \"momentum\" in values and OPTIMIZER in {json.dumps(MOMENTUM_OPTIMIZERS)}:",
                  "        for group in optimizer.param_groups:",
                  "            group[\"momentum\"] = MOMENTUM"]
    lines += ["    for group in optimizer.param_groups:",
              "        group[\"lr\"] = learning_rate_at(epoch)"]
    if run.moves(*DATA_KEYS):
        lines += ["    if \"points\" in values or \"removed\" in values:",
                  "        ADDED_POINTS = values.get(\"points\", ADDED_POINTS)",
                  "        REMOVED = values.get(\"removed\", REMOVED)",
                  "        load_data(ADDED_POINTS, REMOVED)",
                  "        return True"]
    lines.append("    return False")
    return "\n".join(lines)


def _step_code(run: _Run) -> list[str]:
    """One update on the batch `rows`, at the loop's indent."""
    exp = run.start
    lines = []
    if exp.batchNorm and exp.networkShape:
        lines.append("model.train(len(rows) > 1)  # batch norm cannot normalize one point by itself")
    masks = [
        "# Inverted dropout: a neuron is kept with probability 1 − p and scaled by 1/(1 − p).",
        "masks = [torch.from_numpy(((dropout.random((len(rows), n)) >= DROPOUT)",
        "                           / (1.0 - DROPOUT)).astype(np.float32))",
        "         for n in LAYER_SIZES[1:-1]]",
    ]
    if not _uses_dropout(run):
        lines.append("scores = model(x_train[rows])")
    elif run.moves("dropout"):
        lines += ["masks = None", "if DROPOUT > 0:", *("    " + m for m in masks),
                  "scores = model(x_train[rows], masks)"]
    else:
        lines += [*masks, "scores = model(x_train[rows], masks)"]
    lines += [
        "loss = data_loss(scores, y_train[rows])" + (" + penalty(model)" if _has_penalty(run) else ""),
        "if not torch.isfinite(loss):",
        "    raise SystemExit(f\"diverged in epoch {epoch + 1}: the loss is not finite\")",
        "optimizer.zero_grad(set_to_none=True)",
        "loss.backward()",
    ]
    clamp = [
        "# L1 stops a weight at 0 when a step would carry it across, and keeps it there",
        "# while λ outweighs its gradient.",
        "with torch.no_grad():",
        "    for w, w0 in zip(model.weights, before):",
        "        crossed = ((w0 > 0) & (w < 0)) | ((w0 < 0) & (w > 0))",
        "        w.masked_fill_(crossed | ((w0 == 0) & (w.grad.abs() <= {rate})), 0.0)",
    ]
    if run.moves("regularization", "regularizationRate") and run.any_state(lambda s: _penalty(s) == "L1"):
        lines += ["l1 = REG_RATE if REGULARIZATION == \"L1\" else 0.0  # the λ of an L1 penalty in force",
                  "before = [w.detach().clone() for w in model.weights]",
                  "optimizer.step()",
                  "if l1 > 0:",
                  *("    " + c.format(rate="l1") for c in clamp)]
    elif not run.moves("regularization", "regularizationRate") and _penalty(exp) == "L1":
        lines += ["before = [w.detach().clone() for w in model.weights]", "optimizer.step()",
                  *(c.format(rate="L1_RATE") for c in clamp)]
    else:
        lines.append("optimizer.step()")
    return lines


def _training(run: _Run) -> str:
    exp = run.start
    measured = " (batch norm: its running estimates)" if exp.batchNorm and exp.networkShape else ""
    lines = [
        f"# --- training {'-' * 77}",
        f"{_data_loss(run)}{_penalty_code(run)}",
        "",
        "",
        _learning_rate_code(run),
        "",
        "",
        "def measure(model, epoch):",
        f'    """The epoch\'s metrics on the whole training and test sets{measured}."""',
        "    model.eval()",
        "    out = {\"epoch\": epoch}",
        "    with torch.no_grad():",
        "        for name, x, y in ((\"train\", x_train, y_train), (\"test\", x_test, y_test)):",
        "            scores = model(x)",
        "            out[f\"{name}_loss\"] = float(data_loss(scores, y))",
    ]
    if exp.is_classification:
        lines.append("            out[f\"{name}_acc\"] = float((scores.argmax(dim=1) == y).double().mean())")
    lines.append("        out[\"reg_loss\"] = float(penalty(model))" if _has_penalty(run)
                 else "        out[\"reg_loss\"] = 0.0")
    lines += ["    model.train()", "    return out", "", ""]
    loop = [
        "model = Net(initial_parameters())",
        "# To go on from weights saved by the page (Download: weights), add:",
        "# model.load_state_dict(safetensors.torch.load_file(\"weights.safetensors\"), strict=False)",
        *(["", ""] if run.moves("optimizer") else []),
        _optimizer_code(run),
    ]
    if run.changes:
        loop += ["", "", _changes_code(run), "", ""]
    loop.append("shuffle = stream(\"shuffle\")")
    if _uses_dropout(run):
        loop.append("dropout = stream(\"dropout\")")
    step = _indent("\n".join(_step_code(run)), 8)
    if not run.changes:
        loop += [
            "for epoch in range(EPOCHS):",
            "    for group in optimizer.param_groups:",
            "        group[\"lr\"] = learning_rate_at(epoch)",
            "    order = shuffle.permutation(len(y_train))  # a new order every epoch",
            "    for start in range(0, len(order), BATCH_SIZE):",
            "        rows = torch.from_numpy(order[start:start + BATCH_SIZE])",
            step,
        ]
    else:
        loop += [
            "step = 0  # the updates made so far: a change is made when they reach its step",
            "pending = list(CHANGES)",
            "for epoch in range(EPOCHS):",
            "    for group in optimizer.param_groups:",
            "        group[\"lr\"] = learning_rate_at(epoch)",
            "    order, start = None, 0  # the epoch's order, drawn at its first update",
            "    while order is None or start < len(order):",
            "        while pending and pending[0][1] <= step:",
            "            if apply_change(pending.pop(0), epoch):",
            "                order = None  # new data: the epoch's pass starts over",
            "        if order is None:",
            "            order, start = shuffle.permutation(len(y_train)), 0",
            "        rows = torch.from_numpy(order[start:start + BATCH_SIZE])",
            "        start += BATCH_SIZE",
            step,
            "        step += 1",
        ]
    loop.append("    print(json.dumps(measure(model, epoch + 1)))")
    return "\n".join(lines + loop)


def _penalty(exp: Experiment) -> str:
    """The penalty that acts: none at λ = 0, whatever its kind (as `network.regularization`)."""
    return exp.regularization if exp.regularizationRate > 0 else "none"


def _schedule_doc(exp: Experiment) -> str:
    return {
        "constant": "The learning rate of every epoch: constant.",
        "step": "The learning rate of an epoch: ×γ every few epochs (torch's StepLR).",
        "exponential": "The learning rate of an epoch: ×decay every epoch (torch's ExponentialLR).",
        "cosine": "The learning rate of an epoch: half a cosine down to 0 and back (torch's "
                  "CosineAnnealingLR).",
        "warmup-cosine": "The learning rate of an epoch: a linear warm-up from 10 %, then a cosine "
                         "(torch's LinearLR, then CosineAnnealingLR).",
    }[exp.schedule]


def _schedule_code(exp: Experiment, name: str | None = None) -> str:
    """The rate of `epoch` in the schedule `exp` has (its numbers written in), or, given
    `name`, in that schedule read from the script's settings (it changes as the run trains)."""
    return schedule_code(exp.lr_schedule, name)


def schedule_code(s: Schedule, name: str | None = None) -> str:
    """The rate of `epoch` in schedule `s`, as a Python expression of `epoch` and
    LEARNING_RATE (`Schedule.rate`'s operations in its order); see `_schedule_code`."""
    if name is None:
        name = s.name
        gamma, steps, decay = repr(s.gamma), str(s.step_epochs), repr(s.decay)
        cycle, w = str(s.cycle_epochs), str(s.warmup_epochs)
    else:
        gamma, steps, decay = "LR_STEP_GAMMA", "LR_STEP_EPOCHS", "LR_DECAY"
        cycle, w = "LR_CYCLE_EPOCHS", "LR_WARMUP_EPOCHS"
    cosine = "((1 + math.cos(math.pi * {e} / {c})) / 2)"
    if name == "step":
        return f"LEARNING_RATE * {gamma} ** (epoch // {steps})"
    if name == "exponential":
        return f"LEARNING_RATE * {decay} ** epoch"
    if name == "cosine":
        return "LEARNING_RATE * " + cosine.format(e="epoch", c=cycle)
    if name == "warmup-cosine":
        climb = f"{WARMUP_START_FACTOR!r} + {1 - WARMUP_START_FACTOR!r} * epoch / {w}"
        return (f"LEARNING_RATE * ({climb} if epoch < {w} else "
                + cosine.format(e=f"(epoch - {w})", c=cycle) + ")")
    return "LEARNING_RATE"


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def script_name(exp: Experiment) -> str:
    """A file name for the script: `netplay_<dataset>_<shape>.py`."""
    shape = "x".join(str(n) for n in exp.networkShape) or "linear"
    return f"netplay_{exp.data_name}_{shape}.py"
