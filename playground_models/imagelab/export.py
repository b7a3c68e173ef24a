"""An image-lab experiment as one self-contained PyTorch script (`/api/lab/export`, the lab's
*Export as PyTorch*), as `playground_models/export.py` writes the 2-D lab's: the train and test
images the lab split off (float32, embedded zlib-compressed), the lab's input resizing and
standardisation, the net as an `nn.Sequential` written layer by layer from the layer string,
the seed's initial weights drawn by the same generator calls, the optimizer (`make_optimizer`'s
groups: weight decay on the weights only), the schedule, the seeded dropout and minibatch
order, and a loop printing each epoch's train loss and test loss and accuracy as one JSON line.

It needs only torch and numpy and, run on the CPU, prints the numbers `LabTrainer` reaches on
the CPU (the same operations in the same order; `tests/test_lab_export.py` runs such scripts).
"""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np

from ..export import schedule_code
from ..rng import stream, stream_seed
from ..rules import LEAKY_RELU_SLOPE, OPTIMIZER_RULES
from . import data as labdata
from .config import LabConfig, LabConfigError
from .cost import net_cost
from .layers import Layer, LayerInfo, Shape, analyze, fits, parse_net
from .trainer import eval_chunk

MAX_EPOCHS = 10_000
MAX_SCRIPT_BYTES = 3_000_000  # a script past this is no longer a file to read and mail
B64_LINE = 100  # characters per line of the embedded data

ACTIVATION_CODE = {
    "relu": "nn.ReLU()",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "leakyrelu": f"nn.LeakyReLU({LEAKY_RELU_SLOPE!r})",
    "elu": "nn.ELU()",
    "gelu": "nn.GELU()",
}

SEEDED_DROPOUT = '''class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from a generator of its own (nn.Dropout would use
    torch's global one): each value is kept with probability 1 − p and scaled by 1/(1 − p)."""

    def __init__(self, rate, generator):
        super().__init__()
        self.rate = rate
        self.generator = generator

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.rate, generator=self.generator)
        return x * keep / (1.0 - self.rate)'''

RESIDUAL_BLOCK = '''class ResidualBlock(nn.Module):
    """3×3 conv-bn-relu-conv-bn, plus the input (1×1-projected when the width changes), relu."""

    def __init__(self, channels, filters):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters)
        self.shortcut = nn.Identity() if channels == filters else nn.Conv2d(channels, filters, 1)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))'''


def export_lab_script(config: LabConfig, epochs: int) -> str:
    """The script for `config`, training `epochs` epochs. Raises `LabConfigError` naming the
    setting a script cannot be written for (`data` when its images would make it too big)."""
    if not 1 <= epochs <= MAX_EPOCHS:
        raise LabConfigError("epochs", f"must be between 1 and {MAX_EPOCHS:,}, got {epochs}")
    spec = parse_net(config.net)
    try:
        data = labdata.load(config.data, stream(config.seed, "data"), config.samples)
    except labdata.DataUnavailable as err:
        raise LabConfigError("data", str(err).removeprefix("data: ")) from None
    infos = analyze(spec, data.shape)
    if not fits(infos):
        bad = next(i for i in infos if i.error)
        raise LabConfigError("net", f"layer {bad.index} ({bad.token}): {bad.error}")
    blobs = {
        "TRAIN_IMAGES": _pack(data.train.images, "<f4"),
        "TRAIN_LABELS": _pack(data.train.labels, "<i8"),
        "TEST_IMAGES": _pack(data.test.images, "<f4"),
        "TEST_LABELS": _pack(data.test.labels, "<i8"),
    }
    size = sum(len(b) for b in blobs.values())
    if size > MAX_SCRIPT_BYTES:
        raise LabConfigError("data", f"the {config.data} images ({len(data.train.labels):,} "
                             f"training, {len(data.test.labels):,} test) would make the script "
                             f"{size / 1e6:.1f} MB, over the {MAX_SCRIPT_BYTES / 1e6:g} MB a script "
                             "may be; export with data=digits or fewer samples")
    chunk = eval_chunk(net_cost(spec, infos), config.batchSize)
    parts = [
        _header(config, infos, len(data.train.labels), len(data.test.labels)),
        _settings(config, epochs, chunk),
        _data(data, infos, blobs),
        _model(spec.layers, infos),
        _training(config),
    ]
    return "\n\n".join(parts) + "\n"


def _pack(values: np.ndarray, dtype: str) -> str:
    """`values` as little-endian `dtype` bytes, zlib-compressed, in base64 lines."""
    text = base64.b64encode(zlib.compress(values.astype(dtype).tobytes(), 9)).decode()
    return "\n".join(text[i : i + B64_LINE] for i in range(0, len(text), B64_LINE))


def _shape(shape: Shape) -> str:
    return "×".join(str(s) for s in shape)


def _short_query(config: LabConfig) -> str:
    """The lab link's query without the settings at their defaults (the seed is always named)."""
    defaults = set(LabConfig().query.split("&"))
    return "&".join(p for p in config.query.split("&") if p not in defaults or p.startswith("seed="))


def _header(config: LabConfig, infos: list[LayerInfo], n_train: int, n_test: int) -> str:
    return f'''"""A netplay image-lab experiment as a PyTorch script.

Link:  /lab?{_short_query(config)}
Net:   {config.net} ({_shape(infos[0].output_shape)} in, {_shape(infos[-1].output_shape)} out)
Data:  {config.data}, {n_train} training and {n_test} test images (the lab's split; its
       validation images are left out)

Run it with `python` (it needs torch and numpy): it trains on the CPU as the image lab trains the
link there, and prints one line of JSON per epoch: the mean training loss over the epoch's
minibatches, and the test set's loss and accuracy at the epoch's end (in eval mode).
"""

import base64
import json
import math
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# One thread: with several, torch may sum a gradient in another order, and the numbers drift
# apart in the last digits from a run with another thread count.
torch.set_num_threads(1)'''


def _settings(config: LabConfig, epochs: int, chunk: int) -> str:
    lines = [
        "# --- the experiment " + "-" * 74,
        f"SEED = {json.dumps(config.seed)}",
        "# The seed's generators, as the lab derives them from SEED (sha256 of netplay/SEED/name):",
        f"INIT_SEED = {stream_seed(config.seed, 'init') % 2**63}  # the initial weights",
        f"DROPOUT_SEED = {stream_seed(config.seed, 'dropout') % 2**63}  # the dropout masks",
        f"SHUFFLE_SEED = {stream_seed(config.seed, 'shuffle') % 2**63}  # each epoch's order",
        f"EPOCHS = {epochs}",
        f"BATCH_SIZE = {config.batchSize}",
        f'OPTIMIZER = "{config.optimizer}"',
        f"LEARNING_RATE = {config.learningRate!r}",
    ]
    if OPTIMIZER_RULES[config.optimizer].momentum:
        lines.append(f"MOMENTUM = {config.momentum!r}")
    lines += [
        f"WEIGHT_DECAY = {config.weightDecay!r}  # L2, on the weights only",
        f"EVAL_CHUNK = {chunk}  # test images per evaluation pass, as the lab evaluates",
    ]
    return "\n".join(lines)


def _data(data: labdata.LabData, infos: list[LayerInfo], blobs: dict[str, str]) -> str:
    c, h, w = infos[0].output_shape
    _, nh, nw = data.shape
    n = {"TRAIN": len(data.train.labels), "TEST": len(data.test.labels)}
    lines = [
        "# --- the data " + "-" * 80,
        "",
        f"# The images as the lab split them: float32 in [0, 1], ink = 1, {nh}×{nw} each, and",
        "# their classes (0-9), each array as its bytes, zlib-compressed, in base64.",
        "def unpack(text, dtype, shape):",
        "    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype).reshape(shape).copy()",
        "",
        "",
    ]
    for name, blob in blobs.items():
        split, what = name.split("_")
        dtype, shape = ("'<f4'", f"({n[split]}, {nh}, {nw})") if what == "IMAGES" else ("'<i8'", f"({n[split]},)")
        lines += [f'{name} = unpack("""\n{blob}\n""", {dtype}, {shape})']
    resize = ""
    if (h, w) != (nh, nw):
        resize = (f"\n    # Resized to the net's {h}×{w}, bilinear with antialiasing.\n"
                  f"    x = F.interpolate(x, size=({h}, {w}), mode=\"bilinear\", antialias=True, "
                  "align_corners=False)\n    x = x.clamp_(0.0, 1.0)")
    channels = (f"\n    return x.expand(-1, {c}, -1, -1).contiguous()  # the one channel repeated"
                if c != 1 else "\n    return x.contiguous()")
    lines += [
        "",
        "",
        "def to_input(images):",
        f'    """[N, {nh}, {nw}] images → the net\'s input, [N, {c}, {h}, {w}]."""',
        "    x = torch.from_numpy(images)[:, None]" + resize + channels,
        "",
        "",
        "x_train, x_test = to_input(TRAIN_IMAGES), to_input(TEST_IMAGES)",
        "# Standardised with the training images' mean and standard deviation (the test images get",
        "# the same numbers); channels-last, the layout the lab trains in on the CPU.",
        "MEAN = float(x_train.mean())",
        "STD = float(x_train.std()) or 1.0",
        "x_train = ((x_train - MEAN) / STD).contiguous(memory_format=torch.channels_last)",
        "x_test = ((x_test - MEAN) / STD).contiguous(memory_format=torch.channels_last)",
        "y_train, y_test = torch.from_numpy(TRAIN_LABELS), torch.from_numpy(TEST_LABELS)",
    ]
    return "\n".join(lines)


def _layer_code(layer: Layer, in_shape: Shape) -> list[str]:
    """The modules of one layer (an fc on images is a Flatten and a Linear)."""
    k = layer.kind
    if k == "conv":
        stride = f", stride={layer.stride}" if layer.stride != 1 else ""
        pad = f", padding={layer.padding!r}" if layer.padding else ""
        return [f"nn.Conv2d({in_shape[0]}, {layer.filters}, {layer.kernel}{stride}{pad})"]
    if k in ("maxpool", "avgpool"):
        cls = "MaxPool2d" if k == "maxpool" else "AvgPool2d"
        return [f"nn.{cls}({layer.kernel}, {layer.stride})"]
    if k == "bn":
        return [f"nn.BatchNorm{2 if len(in_shape) == 3 else 1}d({in_shape[0]})"]
    if k == "act":
        return [ACTIVATION_CODE[layer.activation]]
    if k == "drop":
        return [f"SeededDropout({layer.rate!r}, dropout_generator)"]
    if k == "fc":
        n_in = 1
        for s in in_shape:
            n_in *= s
        linear = f"nn.Linear({n_in}, {layer.filters})"
        return ["nn.Flatten()", linear] if len(in_shape) == 3 else [linear]
    if k == "flatten":
        return ["nn.Flatten()"]
    if k == "res":
        return [f"ResidualBlock({in_shape[0]}, {layer.filters})"]
    raise ValueError(f"no module for layer kind {k!r}")


def _model(layers: tuple[Layer, ...], infos: list[LayerInfo]) -> str:
    kinds = {layer.kind for layer in layers}
    lines = ["# --- the network " + "-" * 77]
    if "drop" in kinds:
        lines += [SEEDED_DROPOUT, "", ""]
    if "res" in kinds:
        lines += [RESIDUAL_BLOCK, "", ""]
    norms = not kinds.isdisjoint(("bn", "res"))
    lines += [
        "@torch.no_grad()",
        "def init_weights(net, generator):",
        '    """PyTorch\'s default scale, U(±1/√fan_in) for weights and biases, drawn from',
        "    `generator` module by module, in the lab's order"
        + ("; batch norms start at 1 and 0." if norms else ".") + '"""',
        "    for module in net.modules():",
        "        if isinstance(module, (nn.Conv2d, nn.Linear)):",
        "            fan_in = module.weight[0].numel()",
        "            bound = 1.0 / math.sqrt(fan_in)",
        "            module.weight.uniform_(-bound, bound, generator=generator)",
        "            if module.bias is not None:",
        "                module.bias.uniform_(-bound, bound, generator=generator)",
    ]
    if norms:
        lines += ["        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):",
                  "            module.reset_parameters()"]
    lines += ["", ""]
    if "drop" in kinds:
        lines.append("dropout_generator = torch.Generator().manual_seed(DROPOUT_SEED)")
    lines.append(f"model = nn.Sequential(  # input {_shape(infos[0].output_shape)}")
    for layer, info in zip(layers, infos[1:], strict=True):
        for code in _layer_code(layer, info.input_shape):
            lines.append(f"    {code},")
        lines[-1] += f"  # {layer.token} → {_shape(info.output_shape)}"
    lines += [
        ")",
        "init_weights(model, torch.Generator().manual_seed(INIT_SEED))",
        "model = model.to(memory_format=torch.channels_last)",
    ]
    return "\n".join(lines)


def _optimizer_code(config: LabConfig) -> list[str]:
    rule = OPTIMIZER_RULES[config.optimizer]
    # make_optimizer's speed switches, kept: with them the script makes the lab's very calls.
    option = "fused=True" if config.optimizer == "adam" else "foreach=True"
    groups = ('[{"params": decay, "weight_decay": WEIGHT_DECAY}, '
              '{"params": rest, "weight_decay": 0.0}]')
    switch = ("the one-pass Adam" if config.optimizer == "adam"
              else "one call per group of tensors")
    lines = [
        "# Weight decay on the weights only: shrinking a bias or a batch norm's scale does not",
        f"# make the function any simpler. {option}: the lab's speed switch ({switch}).",
        "decay = [p for p in model.parameters() if p.ndim > 1]",
        "rest = [p for p in model.parameters() if p.ndim <= 1]",
    ]
    if not rule.momentum:
        kwargs = "".join(f", {k}={v!r}" for k, v in rule.torch_kwargs().items())
        lines += [f"optimizer = torch.optim.{rule.torch_class}(", f"    {groups},",
                  f"    lr=learning_rate_at(0){kwargs}, {option})"]
        return lines
    return lines + [
        "# torch refuses Nesterov at momentum 0 when built, yet steps with it as plain SGD.",
        f"optimizer = torch.optim.{rule.torch_class}(", f"    {groups},",
        f"    lr=learning_rate_at(0), momentum=MOMENTUM or 0.9, nesterov={rule.nesterov}, {option})",
        "for group in optimizer.param_groups:",
        '    group["momentum"] = MOMENTUM',
    ]


def _training(config: LabConfig) -> str:
    schedule = config.lr_schedule
    constant = schedule.name == "constant"
    doc = ("The learning rate of every epoch: constant." if constant else
           f"The learning rate of an epoch: the {schedule.name} schedule, stepped once per epoch.")
    lines = [
        "# --- training " + "-" * 80,
        "def learning_rate_at(epoch):",
        f'    """{doc}"""',
        f"    return {schedule_code(schedule)}",
        "",
        "",
        *_optimizer_code(config),
        "",
        "",
        "@torch.no_grad()",
        "def evaluate(x, y):",
        '    """Loss and accuracy on a whole set, in eval mode, EVAL_CHUNK images at a time."""',
        "    model.eval()",
        "    out = torch.cat([model(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)])",
        "    model.train()",
        "    return float(F.cross_entropy(out, y)), float((out.argmax(1) == y).float().mean())",
        "",
        "",
        "shuffle = torch.Generator().manual_seed(SHUFFLE_SEED)",
        "model.train()",
        "for epoch in range(EPOCHS):",
    ]
    if not constant:
        lines += ["    for group in optimizer.param_groups:",
                  '        group["lr"] = learning_rate_at(epoch)']
    lines += [
        "    order = torch.randperm(len(y_train), generator=shuffle)  # a new order every epoch",
        "    xs, ys = x_train.index_select(0, order), y_train.index_select(0, order)",
        "    loss_sum = torch.zeros(())  # the epoch's training loss, summed over its images",
        "    for start in range(0, len(ys), BATCH_SIZE):",
        "        xb, yb = xs[start : start + BATCH_SIZE], ys[start : start + BATCH_SIZE]",
        "        out = model(xb)",
        "        loss = F.cross_entropy(out, yb)",
        "        optimizer.zero_grad(set_to_none=True)",
        "        loss.backward()",
        "        optimizer.step()",
        "        with torch.no_grad():",
        "            loss_sum += loss.detach() * len(yb)",
        "    train_loss = float(loss_sum) / len(ys)",
        "    if not math.isfinite(train_loss):",
        '        raise SystemExit(f"diverged in epoch {epoch + 1}: the loss is not finite")',
        "    test_loss, test_acc = evaluate(x_test, y_test)",
        '    print(json.dumps({"epoch": epoch + 1, "train_loss": train_loss,',
        '                      "test_loss": test_loss, "test_acc": test_acc}))',
    ]
    return "\n".join(lines)


def script_name(config: LabConfig) -> str:
    """A file name for the script: `netplay_lab_<data>_<preset or 'net'>.py`."""
    from .presets import PRESETS

    name = next((p.name for p in PRESETS.values() if p.net == config.net), "net")
    return f"netplay_lab_{config.data}_{name}.py"
