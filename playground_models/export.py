"""An experiment as one self-contained PyTorch script (`netplay export`, the page's *Export as
PyTorch*): the data as netplay generated it, the features, the net as an `nn.Module` starting
from the seed's weights, the optimizer, loss, schedule, dropout draw and minibatch order, and
a loop printing each epoch's metrics as one JSON line. It needs only torch and numpy, and prints
the numbers `netplay run` prints for the same link, to float rounding (the reference path's:
the same operations in the same order; `tests/test_export.py` runs exported scripts).

The script is written for a student to read: only what this experiment uses appears in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from .datasets import generate
from .experiment import ConfigError, Experiment
from .features import FEATURE_FUNCTIONS
from .rules import (
    BATCH_NORM_EPS,
    BATCH_NORM_MOMENTUM,
    HUBER_DELTA,
    LEAKY_RELU_SLOPE,
    OPTIMIZER_RULES,
    WARMUP_START_FACTOR,
)
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


def export_script(exp: Experiment, epochs: int, live_changes: int = 0) -> str:
    """The script for `exp`, training `epochs` epochs. Raises `ConfigError` for what a script
    cannot reproduce (TensorFlow Playground mode runs TF's own engine). `live_changes`: how many
    changes the link's history holds (`history.py`); the script does not make them, and says so
    in its first lines."""
    if exp["compat"] == "tf":
        raise ConfigError("compat", "TensorFlow Playground mode cannot be exported: it runs TF "
                          "Playground's own engine; remove compat=tf")
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ConfigError("epochs", f"must be between 1 and {MAX_EPOCHS:,}, got {epochs}")
    data = generate(exp)
    classify = exp.is_classification
    outputs = exp.num_classes if classify else 1
    sizes = (len(exp.features), *exp.networkShape, outputs)
    link = _short_link(exp)
    parts = [
        _header(exp, link, sizes, data.train_x.shape[0], data.test_x.shape[0], live_changes),
        _settings(exp, epochs, sizes),
        _data(exp, data.train_x, data.train_y, data.test_x, data.test_y, classify),
        _model(exp),
        _training(exp),
    ]
    return "\n\n".join(parts) + "\n"


def _short_link(exp: Experiment) -> str:
    """The experiment's link without the keys at their defaults (the seed is always named)."""
    defaults = set(serialize(Experiment()).split("&"))
    return "&".join(p for p in serialize(exp).split("&") if p not in defaults or p.startswith("seed="))


def _header(exp: Experiment, link: str, sizes: Sequence[int], n_train: int, n_test: int,
            live_changes: int) -> str:
    shape = " → ".join(str(s) for s in sizes)
    kind = f"{exp.num_classes} classes" if exp.is_classification else "regression"
    changes = "" if not live_changes else (
        f"\nNot in it: the {live_changes} live change{'s' * (live_changes > 1)} made while the run "
        "trained (the link's h).\nThe script trains the settings the run started from.\n")
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


def _settings(exp: Experiment, epochs: int, sizes: Sequence[int]) -> str:
    lines = [
        "# --- the experiment " + "-" * 70,
        f"SEED = {json.dumps(exp.seed)}",
        f"EPOCHS = {epochs}",
        f"LAYER_SIZES = {list(sizes)}  # inputs, hidden layers, outputs",
        f"ACTIVATIONS = {json.dumps(list(exp.layer_activations))}  # one per hidden layer",
        f'OPTIMIZER = "{exp.optimizer}"',
        f"LEARNING_RATE = {exp.learningRate!r}",
    ]
    if OPTIMIZER_RULES[exp.optimizer].momentum:
        lines.append(f"MOMENTUM = {exp.momentum!r}")
    lines.append(f"BATCH_SIZE = {exp.batchSize}")
    if exp.dropout > 0 and exp.networkShape:
        lines.append(f"DROPOUT = {exp.dropout!r}  # the share of each hidden layer dropped per step")
    if _penalty(exp) != "none":
        lines.append(f"{exp.regularization}_RATE = {exp.regularizationRate!r}  # λ")
    return "\n".join(lines)


def _array(values: np.ndarray, dtype: str) -> str:
    """`values` as Python source that reads back exactly (repr round-trips a float64)."""
    if values.ndim == 1:
        return f"np.array([{', '.join(repr(v.item()) for v in values)}], dtype={dtype})"
    rows = ",\n    ".join("[" + ", ".join(repr(v.item()) for v in row) + "]" for row in values)
    return f"np.array([\n    {rows},\n], dtype={dtype})"


def _data(exp: Experiment, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
          test_y: np.ndarray, classify: bool) -> str:
    label = "np.int64" if classify else "np.float64"
    what = "class of each point" if classify else "target of each point"
    feats = ", ".join(FEATURE_CODE[n] for n in exp.features)
    names = ", ".join(exp.features)
    assert set(exp.features) <= set(FEATURE_FUNCTIONS)
    pre = {
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
    y_type = "torch.int64" if classify else "torch.float32"
    return f'''# --- the data, as netplay generated it (x₁, x₂ per point) {"-" * 34}
TRAIN_POINTS = {_array(train_x, "np.float64")}
TRAIN_LABELS = {_array(train_y, label)}  # the {what}
TEST_POINTS = {_array(test_x, "np.float64")}
TEST_LABELS = {_array(test_y, label)}


def features(points):
    """The net's inputs: {names}."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{feats}], axis=1)


train_features, test_features = features(TRAIN_POINTS), features(TEST_POINTS){pre}
x_train = torch.from_numpy(train_features.astype(np.float32))
x_test = torch.from_numpy(test_features.astype(np.float32))
y_train = torch.from_numpy(TRAIN_LABELS).to({y_type})
y_test = torch.from_numpy(TEST_LABELS).to({y_type})'''


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


def _training(exp: Experiment) -> str:
    loss_what, loss_body = LOSS_CODE[exp.loss_name]
    rule = OPTIMIZER_RULES[exp.optimizer]
    kwargs = "".join(f", {k}={v!r}" for k, v in rule.torch_kwargs().items())
    if rule.momentum:
        # torch refuses Nesterov at momentum 0 when built, yet steps with it as plain SGD.
        optimizer = (f"optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate_at(0), "
                     f"momentum=MOMENTUM or 0.9, nesterov={rule.nesterov})\n"
                     "for group in optimizer.param_groups:\n"
                     "    group[\"momentum\"] = MOMENTUM")
    else:
        optimizer = (f"optimizer = torch.optim.{rule.torch_class}(model.parameters(), "
                     f"lr=learning_rate_at(0){kwargs})")
    dropout = exp.dropout > 0 and bool(exp.networkShape)
    penalty = {
        "none": "",
        "L1": ("\n\n\ndef penalty(model):\n    \"\"\"L1: λΣ|w| over the weights (never the biases).\"\"\"\n"
               "    return L1_RATE * sum(w.abs().sum() for w in model.weights)"),
        "L2": ("\n\n\ndef penalty(model):\n    \"\"\"L2: ½λΣw² over the weights (never the biases).\"\"\"\n"
               "    return 0.5 * L2_RATE * sum((w * w).sum() for w in model.weights)"),
    }[_penalty(exp)]
    accuracy = exp.is_classification
    measured = " (batch norm: its running estimates)" if exp.batchNorm and exp.networkShape else ""
    lines = [
        f"# --- training {'-' * 77}",
        f"def data_loss(scores, target):\n    \"\"\"The mean {loss_what}.\"\"\"\n{_indent(loss_body, 4)}{penalty}",
        "",
        "",
        f"def learning_rate_at(epoch):\n    \"\"\"{_schedule_doc(exp)}\"\"\"\n    return {_schedule_code(exp)}",
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
    if accuracy:
        lines.append("            out[f\"{name}_acc\"] = float((scores.argmax(dim=1) == y).double().mean())")
    lines.append("        out[\"reg_loss\"] = float(penalty(model))" if _penalty(exp) != "none"
                  else "        out[\"reg_loss\"] = 0.0")
    lines += ["    model.train()", "    return out", "", ""]
    loop = [
        "model = Net(initial_parameters())",
        "# To go on from weights saved by the page (Download: weights), add:",
        "# model.load_state_dict(safetensors.torch.load_file(\"weights.safetensors\"), strict=False)",
        optimizer,
        "shuffle = stream(\"shuffle\")",
    ]
    if dropout:
        loop.append("dropout = stream(\"dropout\")")
    loop += [
        "for epoch in range(EPOCHS):",
        "    for group in optimizer.param_groups:",
        "        group[\"lr\"] = learning_rate_at(epoch)",
        "    order = shuffle.permutation(len(y_train))  # a new order every epoch",
        "    for start in range(0, len(order), BATCH_SIZE):",
        "        rows = torch.from_numpy(order[start:start + BATCH_SIZE])",
    ]
    if exp.batchNorm and exp.networkShape:
        loop.append("        model.train(len(rows) > 1)  # batch norm cannot normalize one point by itself")
    if dropout:
        loop += [
            "        # Inverted dropout: a neuron is kept with probability 1 − p and scaled by 1/(1 − p).",
            "        masks = [torch.from_numpy(((dropout.random((len(rows), n)) >= DROPOUT)",
            "                                   / (1.0 - DROPOUT)).astype(np.float32))",
            "                 for n in LAYER_SIZES[1:-1]]",
            "        scores = model(x_train[rows], masks)",
        ]
    else:
        loop.append("        scores = model(x_train[rows])")
    loss_line = "        loss = data_loss(scores, y_train[rows])"
    if _penalty(exp) != "none":
        loss_line += " + penalty(model)"
    loop += [
        loss_line,
        "        if not torch.isfinite(loss):",
        "            raise SystemExit(f\"diverged in epoch {epoch + 1}: the loss is not finite\")",
        "        optimizer.zero_grad(set_to_none=True)",
        "        loss.backward()",
    ]
    if _penalty(exp) == "L1":
        loop += [
            "        before = [w.detach().clone() for w in model.weights]",
            "        optimizer.step()",
            "        # L1 stops a weight at 0 when a step would carry it across, and keeps it there",
            "        # while λ outweighs its gradient.",
            "        with torch.no_grad():",
            "            for w, w0 in zip(model.weights, before):",
            "                crossed = ((w0 > 0) & (w < 0)) | ((w0 < 0) & (w > 0))",
            "                w.masked_fill_(crossed | ((w0 == 0) & (w.grad.abs() <= L1_RATE)), 0.0)",
        ]
    else:
        loop.append("        optimizer.step()")
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


def _schedule_code(exp: Experiment) -> str:
    s = exp.lr_schedule
    cosine = "((1 + math.cos(math.pi * {e} / {c})) / 2)"
    if s.name == "step":
        return f"LEARNING_RATE * {s.gamma!r} ** (epoch // {s.step_epochs})"
    if s.name == "exponential":
        return f"LEARNING_RATE * {s.decay!r} ** epoch"
    if s.name == "cosine":
        return "LEARNING_RATE * " + cosine.format(e="epoch", c=s.cycle_epochs)
    if s.name == "warmup-cosine":
        w = s.warmup_epochs
        climb = f"{WARMUP_START_FACTOR!r} + {1 - WARMUP_START_FACTOR!r} * epoch / {w}"
        return (f"LEARNING_RATE * ({climb} if epoch < {w} else "
                + cosine.format(e=f"(epoch - {w})", c=s.cycle_epochs) + ")")
    return "LEARNING_RATE"


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def script_name(exp: Experiment) -> str:
    """A file name for the script: `netplay_<dataset>_<shape>.py`."""
    shape = "x".join(str(n) for n in exp.networkShape) or "linear"
    return f"netplay_{exp.data_name}_{shape}.py"

