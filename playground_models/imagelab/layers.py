"""The image lab's layer spec: a compact layer string, shape inference and parameter counts.

A network is written as tokens joined by `-`, e.g. ConvNetJS's MNIST net:

    in24x24x1-conv8k5p2-relu-maxpool2-conv16k5p2-relu-maxpool3-fc10

Tokens (square kernels, as in the course):
    in{H}x{W}x{C}           input (optional; without it the net takes the data's own shape)
    conv{F}k{K}[s{S}][p{P}|same]   F filters of K×K, stride S (1), zero padding P (0) or 'same'
    maxpool{K}[s{S}] / avgpool{K}[s{S}]   pooling window K×K, stride S (default K)
    bn                      batch normalization over channels (or features after an fc)
    relu tanh sigmoid leakyrelu elu gelu   activations
    drop{p}                 dropout with probability p, e.g. drop0.25
    fc{N}                   fully connected; flattens its input first, as ConvNetJS's fc does
    flatten
    res{F}                  residual block: 3×3 conv-bn-relu-conv-bn plus a shortcut, then relu

`analyze` never raises on a layer that does not fit: it marks that layer with a reason a learner
understands. What follows it has no known input, so its shapes and weight counts are left
unknown (`UNKNOWN`, `None`) rather than made up, until an fc layer, whose output does not depend
on its input, makes the shape known again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .. import rules
from ..messages import message, quoted, said

Shape = tuple[int, ...]  # (C, H, W) for images, (N,) for flat vectors
UNKNOWN: Shape = ()  # the shape after a layer that does not fit
# Layers whose weight count depends on their input; the others have none, whatever it is.
WEIGHTED = ("conv", "bn", "fc", "res")

# The 2-D lab's activations, in its order, less the two a conv net has no use for.
ACTIVATIONS = tuple(a for a in rules.ACTIVATIONS if a not in ("linear", "sine"))
MAX_LAYERS = 40
MAX_WIDTH = 1024  # filters or neurons in one layer
MAX_INPUT_SIDE = 64


class SpecError(ValueError):
    """A layer string that cannot be read at all (as opposed to a layer that does not fit)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Layer:
    """One layer as written. `kind` is conv, maxpool, avgpool, bn, act, drop, fc, flatten, res."""

    kind: str
    filters: int = 0  # conv/res filters, fc neurons
    kernel: int = 0
    stride: int = 1
    padding: int | str = 0  # int, or "same"
    activation: str = ""
    rate: float = 0.0  # dropout probability

    @property
    def token(self) -> str:
        k = self.kind
        if k == "conv":
            pad = "same" if self.padding == "same" else (f"p{self.padding}" if self.padding else "")
            stride = f"s{self.stride}" if self.stride != 1 else ""
            return f"conv{self.filters}k{self.kernel}{stride}{pad}"
        if k in ("maxpool", "avgpool"):
            stride = f"s{self.stride}" if self.stride != self.kernel else ""
            return f"{k}{self.kernel}{stride}"
        if k == "act":
            return self.activation
        if k == "drop":
            return f"drop{self.rate:g}"
        if k == "fc":
            return f"fc{self.filters}"
        if k == "res":
            return f"res{self.filters}"
        return k  # bn, flatten


@dataclass(frozen=True)
class NetSpec:
    """A network: its input shape (C, H, W) or None for "the data's shape", and its layers."""

    layers: tuple[Layer, ...]
    input_shape: Shape | None = None

    @property
    def text(self) -> str:
        tokens = [t.token for t in self.layers]
        if self.input_shape is not None:
            c, h, w = self.input_shape
            tokens.insert(0, f"in{h}x{w}x{c}")
        return "-".join(tokens)


_CONV = re.compile(r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+)|(same))?")
_POOL = re.compile(r"(maxpool|avgpool)(\d+)(?:s(\d+))?")
_INPUT = re.compile(r"in(\d+)x(\d+)x(\d+)")
_ONE_NUMBER = re.compile(r"(fc|res|drop)(\d+(?:\.\d+)?)")


def _int_in(value: str, token: str, what: str, low: int, high: int) -> int:
    # Checked by length first: past 4,300 digits `int` itself refuses the string.
    if len(value.lstrip("0")) > len(str(high)) or not low <= int(value) <= high:
        shown = value if len(value) <= 20 else said("lab.err.digits", n=len(value))
        raise SpecError("net", said("lab.err.layerBetween", token=quoted(token), what=said(what),
                                    low=low, high=high, got=shown))
    return int(value)


def parse_layer(token: str) -> Layer:
    """One token to a `Layer`; raises `SpecError` naming the token when it cannot be read."""
    t = token.strip().lower()
    if m := _CONV.fullmatch(t):
        padding: int | str = "same" if m[5] else int(m[4] or 0)
        if isinstance(padding, int) and padding > 32:
            raise SpecError("net", said("lab.err.padding", token=quoted(token)))
        return Layer(
            "conv",
            filters=_int_in(m[1], token, "lab.what.filters", 1, MAX_WIDTH),
            kernel=_int_in(m[2], token, "lab.what.kernel", 1, 32),
            stride=_int_in(m[3] or "1", token, "lab.what.stride", 1, 16),
            padding=padding,
        )
    if m := _POOL.fullmatch(t):
        kernel = _int_in(m[2], token, "lab.what.pool", 1, 32)
        stride = _int_in(m[3], token, "lab.what.stride", 1, 32) if m[3] else kernel
        return Layer(m[1], kernel=kernel, stride=stride)
    if m := _ONE_NUMBER.fullmatch(t):
        if m[1] == "drop":
            rate = float(m[2])
            if not 0.0 <= rate < 1.0:
                raise SpecError("net", said("lab.err.dropout", token=quoted(token)))
            return Layer("drop", rate=rate)
        if "." in m[2]:
            raise SpecError("net", said("lab.err.needsWhole", token=quoted(token), layer=m[1]))
        return Layer(m[1], filters=_int_in(m[2], token, "lab.what.width", 1, MAX_WIDTH))
    if t in ACTIVATIONS:
        return Layer("act", activation=t)
    if t in ("bn", "flatten"):
        return Layer(t)
    raise SpecError("net", said("lab.err.unknownLayer", token=quoted(token)))


def parse_net(text: str) -> NetSpec:
    """A layer string (tokens joined by `-`, `,` or spaces) to a `NetSpec`."""
    tokens = [t for t in re.split(r"[-,\s]+", text.strip()) if t]
    if not tokens:
        raise SpecError("net", said("lab.err.noLayers"))
    input_shape = None
    if m := _INPUT.fullmatch(tokens[0].lower()):
        h = _int_in(m[1], tokens[0], "lab.what.inputHeight", 1, MAX_INPUT_SIDE)
        w = _int_in(m[2], tokens[0], "lab.what.inputWidth", 1, MAX_INPUT_SIDE)
        c = _int_in(m[3], tokens[0], "lab.what.inputChannels", 1, 3)
        input_shape = (c, h, w)
        tokens = tokens[1:]
    if len(tokens) > MAX_LAYERS:
        raise SpecError("net", said("lab.err.tooManyLayers", most=MAX_LAYERS, n=len(tokens)))
    return NetSpec(tuple(parse_layer(t) for t in tokens), input_shape)


@dataclass
class LayerInfo:
    """What `analyze` says about one layer. Shapes are (C, H, W), (N,) or `UNKNOWN`."""

    index: int
    token: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    params: int | None = 0  # None: unknown (the layer, or one before it, does not fit)
    formula: str = ""  # the parameter count with the numbers filled in
    shape_formula: str = ""  # how the output size came about
    error: str | None = None  # why the layer does not fit; its output is then unknown
    # Fits, but worth knowing (a stride that skips pixels); or, after a layer that does not fit,
    # which one that is.
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The catalogue key and values of each text above that is a sentence, so that a page can
    # show it in its own language: {"note": {"key": "lab.note.stride", "values": {...}}}.
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def say(self, what: str, key: str, **values: Any) -> None:
        """Set the text `what` (error, note, formula, shape_formula) from the catalogue."""
        setattr(self, what, message(key, "en", **values))
        self.messages[what] = {"key": key, "values": values}

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "layer": self.token,
            "kind": self.kind,
            "input_shape": keras_shape(self.input_shape) if self.input_shape else None,
            "output_shape": keras_shape(self.output_shape) if self.output_shape else None,
            "params": self.params,
            "formula": self.formula,
            "shape_formula": self.shape_formula,
            "error": self.error,
            "note": self.note,
            "messages": self.messages,
        }


def keras_shape(shape: Shape) -> list[int]:
    """(C, H, W) → [H, W, C], the course's W×H×D order (and Keras's); flat shapes unchanged."""
    return [shape[1], shape[2], shape[0]] if len(shape) == 3 else list(shape)


def shape_text(shape: Shape) -> str:
    return "×".join(str(s) for s in keras_shape(shape))


def _flat(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _sliding(size: int, kernel: int, stride: int, pad: int) -> tuple[int, int]:
    """Output size ⌊(W − F + 2P)/S⌋ + 1 and the pixels the last window leaves out."""
    span = size - kernel + 2 * pad
    return span // stride + 1, span % stride


def _conv(info: LayerInfo, layer: Layer) -> None:
    c, h, w = info.input_shape
    k, s = layer.kernel, layer.stride
    if layer.padding == "same":
        if s != 1:
            info.say("error", "lab.error.samePad")
            return
        pad_text = "'same'"
        out_h, out_w, left = h, w, 0
        info.say("shape_formula", "lab.shape.same", size=f"{h}×{w}")
    else:
        p = layer.padding
        assert isinstance(p, int)
        pad_text = str(p)
        if k > h + 2 * p or k > w + 2 * p:
            info.say("error", "lab.error.kernel", k=f"{k}×{k}", size=f"{h}×{w}", p=p)
            return
        out_h, left = _sliding(h, k, s, p)
        out_w, left_w = _sliding(w, k, s, p)
        left = max(left, left_w)
        info.shape_formula = f"({w} − {k} + 2·{p})/{s} + 1 = {out_w}"
        if left:
            info.say("note", "lab.note.stride", s=s, n=left)
    info.output_shape = (layer.filters, out_h, out_w)
    info.params = rules.dense_parameters(k * k * c, layer.filters)  # one filter: a k×k×c window
    info.formula = f"({k}·{k}·{c} + 1)·{layer.filters} = {info.params:,}"
    info.extra = {"padding": pad_text}


def _pool(info: LayerInfo, layer: Layer) -> None:
    c, h, w = info.input_shape
    k, s = layer.kernel, layer.stride
    if k > h or k > w:
        info.say("error", "lab.error.pool", k=f"{k}×{k}", size=f"{h}×{w}")
        return
    out_h, left_h = _sliding(h, k, s, 0)
    out_w, left_w = _sliding(w, k, s, 0)
    info.output_shape = (c, out_h, out_w)
    info.shape_formula = f"({w} − {k})/{s} + 1 = {out_w}"
    info.say("formula", "lab.formula.pool")
    if max(left_h, left_w):
        info.say("note", "lab.note.window", n=max(left_h, left_w))


def _res(info: LayerInfo, layer: Layer) -> None:
    c, h, w = info.input_shape
    f = layer.filters
    if h < 1 or w < 1:
        info.say("error", "lab.error.res")
        return
    convs = 9 * c * f + 9 * f * f  # two 3×3 convs without biases (batch norm follows each)
    norms = 2 * 2 * f
    # A 1×1 projection when the channel count changes.
    shortcut = 0 if c == f else rules.dense_parameters(c, f)
    info.output_shape = (f, h, w)
    info.params = convs + norms + shortcut
    short = "" if c == f else f" + ({c} + 1)·{f}"
    info.formula = f"3·3·{c}·{f} + 3·3·{f}·{f} + 2·2·{f}{short} = {info.params:,}"
    info.say("shape_formula", "lab.shape.res", size=f"{h}×{w}")


def _layer(info: LayerInfo, layer: Layer) -> None:
    shape = info.input_shape
    k = layer.kind
    spatial = len(shape) == 3
    if k in ("conv", "maxpool", "avgpool", "res") and not spatial:
        info.say("error", "lab.error.flat", k=k, n=shape[0])
        return
    if k == "conv":
        _conv(info, layer)
    elif k in ("maxpool", "avgpool"):
        _pool(info, layer)
    elif k == "res":
        _res(info, layer)
    elif k == "fc":
        n_in = _flat(shape)
        info.output_shape = (layer.filters,)
        info.params = rules.dense_parameters(n_in, layer.filters)
        info.formula = f"({n_in} + 1)·{layer.filters} = {info.params:,}"
        if spatial:
            info.say("shape_formula", "lab.shape.flatten", shape=shape_text(shape), n=n_in)
    elif k == "flatten":
        info.output_shape = (_flat(shape),)
        info.shape_formula = f"{shape_text(shape)} = {_flat(shape)}"
    elif k == "bn":
        channels = shape[0]
        info.params = 2 * channels
        info.say("formula", "lab.formula.bn", count=f"2·{channels} = {info.params:,}")
    else:  # activations and dropout keep their input's shape and have no weights
        info.formula = "0"


def _unknown(info: LayerInfo, layer: Layer, bad: int) -> None:
    """A layer after layer `bad`, which does not fit: its input is unknown, and so is what
    depends on it."""
    info.params = None if layer.kind in WEIGHTED else 0
    info.output_shape = (layer.filters,) if layer.kind == "fc" else UNKNOWN
    info.say("note", "lab.note.unknown", n=bad)


def analyze(spec: NetSpec, data_shape: Shape, num_classes: int = 10) -> list[LayerInfo]:
    """Shape and parameter count of every layer. The input row comes first (index 0).

    A layer that does not fit gets `error`; the layers after it have unknown shapes and counts
    where those depend on it, and a note naming it. The last layer must give `num_classes`
    values (the softmax is implied).
    """
    shape = spec.input_shape or data_shape
    infos = [LayerInfo(0, "in" + "x".join(map(str, keras_shape(shape))), "input", shape, shape)]
    bad = 0  # the latest layer that does not fit
    for i, layer in enumerate(spec.layers, start=1):
        info = LayerInfo(i, layer.token, layer.kind, shape, shape)
        if shape == UNKNOWN:
            _unknown(info, layer, bad)
        else:
            _layer(info, layer)
        if info.error is not None:
            bad = i
            info.output_shape, info.params = UNKNOWN, None
        shape = info.output_shape
        infos.append(info)
    last = infos[-1]
    if shape != UNKNOWN and (len(shape) != 1 or shape[0] != num_classes) and last.error is None:
        last.error = (
            f"the network must end with {num_classes} values (one per class), e.g. "
            f"fc{num_classes}; it ends with {shape_text(shape)}"
        )
    return infos


def total_params(infos: list[LayerInfo]) -> int | None:
    """Weights and biases of every layer; None when a layer's count is unknown."""
    counts = [i.params for i in infos]
    return None if None in counts else sum(c for c in counts if c is not None)


def fits(infos: list[LayerInfo]) -> bool:
    return all(i.error is None for i in infos)
