"""What a lab net will cost, from its layer table alone: memory per example, multiply-adds.

Every figure comes from `analyze`'s shapes, before a tensor is allocated, so a server can refuse a
net that would not fit (docs/lab-protocol.md, "Limits"). Values are float32 (4 bytes).

Memory of a training step is what autograd keeps from the forward pass for the backward pass
(each layer's output, plus max-pool indices, dropout masks, the tensors inside a residual block)
and backward's own arrays: live tensors, checked against the peak memory of real steps in
tests/test_imagelab_limits.py. The resident set of a process holds more (`ALLOCATOR_SLACK`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layers import Layer, LayerInfo, NetSpec, total_params

BYTES = 4  # float32
# Live memory per value of a layer's output during a training step, by kind, fitted to real CPU
# steps (tests/test_imagelab_limits.py checks the fit): a convolution keeps its output and,
# during backward, its gradient; an activation, a norm or a dense layer its output; dropout its
# mask and the product; a residual block the five tensors inside it; flatten is a view. Pooling
# is counted on its input: backward makes a gradient of the input's size, and a max pool keeps
# int64 indices.
SAVED_PER_OUTPUT = {"conv": 2, "bn": 1, "act": 1, "drop": 2, "fc": 1, "flatten": 0, "res": 5}
SAVED_PER_INPUT = {"maxpool": 2, "avgpool": 1}
# Backward's own work arrays, in multiples of the largest layer output (measured).
BACKWARD_LARGEST = 1
# The allocator holds more than the live tensors: with glibc's default thresholds the resident
# set of a step peaked at 1.6 to 4 times the live activations measured above.
ALLOCATOR_SLACK = 2
# Optimizer state slots per parameter beyond the weight itself: its gradient, up to two moments
# (Adam, Adadelta) and the copy of the initial weights that `reset` returns to.
PARAM_COPIES = 5
# Peak extra memory of generating one `synth` digit (float64 work arrays), measured: 20,000
# digits raised the resident set by about 330 MB.
SYNTH_BYTES_PER_SAMPLE = 20_000
DATA_EXAMPLES = {"digits": 1797, "mnist": 5000}  # fixed sets; the others take `samples`


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _macs(info: LayerInfo, layer: Layer) -> int:
    """Forward multiply-adds of one layer for one example."""
    out = _size(info.output_shape)
    if info.kind == "conv":
        return out * layer.kernel * layer.kernel * info.input_shape[0]
    if info.kind == "fc":
        return out * _size(info.input_shape)
    if info.kind == "res":
        c, f, hw = info.input_shape[0], info.output_shape[0], _size(info.output_shape[1:])
        return hw * (9 * c * f + 9 * f * f + (0 if c == f else c * f))
    return out  # pooling, norms, activations: about one operation per value


@dataclass(frozen=True)
class NetCost:
    """A net's size per example. `values` are float32 counts; `macs` forward multiply-adds."""

    params: int
    input_values: int  # H·W·C of one example at the net's input
    train_values: int  # kept for backward plus backward's work arrays
    eval_values: int  # largest input + output of one layer, the peak of a no-grad pass
    macs: int  # forward, one example
    macs_through: tuple[int, ...]  # forward multiply-adds up to and including layer i (0: input)

    def activation_bytes(self, batch: int) -> int:
        """Live memory of one training step's activations for a batch of `batch` examples."""
        return self.train_values * BYTES * batch

    def param_bytes(self) -> int:
        return self.params * BYTES * PARAM_COPIES

    def dream_macs(self, layer: int, steps: int) -> int:
        """Activation maximization up to `layer`: `steps` forward and backward passes (3×)."""
        return 3 * steps * self.macs_through[layer]


def net_cost(spec: NetSpec, infos: list[LayerInfo]) -> NetCost:
    """The cost of `spec` whose `analyze` rows (`infos`) all fit."""
    params = total_params(infos)
    if params is None:
        raise ValueError("a net with a layer that does not fit has no cost")
    layers = infos[1:]
    input_values = _size(infos[0].output_shape)
    outputs = [_size(i.output_shape) for i in layers]
    saved = sum(
        SAVED_PER_INPUT[i.kind] * _size(i.input_shape)
        if i.kind in SAVED_PER_INPUT
        else SAVED_PER_OUTPUT.get(i.kind, 1) * n
        for i, n in zip(layers, outputs, strict=True)
    )
    largest = max([input_values, *outputs])
    through = [0]
    for info, layer in zip(layers, spec.layers, strict=True):
        through.append(through[-1] + _macs(info, layer))
    eval_peak = max(
        [input_values] + [_size(i.input_shape) + n for i, n in zip(layers, outputs, strict=True)]
    )
    return NetCost(
        params=params,
        input_values=input_values,
        train_values=input_values + saved + BACKWARD_LARGEST * largest,
        eval_values=eval_peak,
        macs=through[-1],
        macs_through=tuple(through),
    )


def data_examples(data: str, samples: int) -> int:
    """How many images a data choice loads."""
    return DATA_EXAMPLES.get(data, samples)


def data_bytes(data: str, samples: int, native_pixels: int, input_values: int) -> int:
    """Memory of a session's data: the native images, the standardised input tensors of every
    split (built through one temporary), and the shuffled copy of the training split."""
    n = data_examples(data, samples)
    generated = n * SYNTH_BYTES_PER_SAMPLE if data == "synth" else 0
    if data == "cifar10":  # the whole set stays cached as bytes once read
        generated = 60_000 * 3072
    return n * BYTES * (native_pixels + input_values * 2 + int(0.7 * input_values)) + generated
