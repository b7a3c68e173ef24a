"""Build a PyTorch module from a checked `NetSpec`, initialised from the session's own generator.

Modules are created with `skip_init` and then filled from a `torch.Generator`, and dropout draws
its masks from a generator too, so no layer ever reads or advances PyTorch's global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import skip_init

from ..rules import LEAKY_RELU_SLOPE
from .layers import Layer, LayerInfo, NetSpec, Shape, fits


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from a session generator (nn.Dropout uses the global one)."""

    def __init__(self, rate: float, generator: torch.Generator):
        super().__init__()
        self.rate = rate
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.rate, generator=self.generator)
        return x * keep / (1.0 - self.rate)


class ResidualBlock(nn.Module):
    """3×3 conv-bn-relu-conv-bn, plus the input (1×1-projected when the width changes), relu."""

    def __init__(self, channels: int, filters: int):
        super().__init__()
        self.conv1 = skip_init(nn.Conv2d, channels, filters, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters)
        self.conv2 = skip_init(nn.Conv2d, filters, filters, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters)
        self.shortcut: nn.Module = (
            nn.Identity() if channels == filters else skip_init(nn.Conv2d, channels, filters, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leakyrelu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def _module(layer: Layer, in_shape: Shape, dropout_gen: torch.Generator) -> nn.Module:
    k = layer.kind
    if k == "conv":
        pad = layer.padding
        return skip_init(
            nn.Conv2d, in_shape[0], layer.filters, layer.kernel, stride=layer.stride, padding=pad
        )
    if k == "maxpool":
        return nn.MaxPool2d(layer.kernel, layer.stride)
    if k == "avgpool":
        return nn.AvgPool2d(layer.kernel, layer.stride)
    if k == "bn":
        return nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])
    if k == "act":
        return _ACTIVATIONS[layer.activation]()
    if k == "drop":
        return SeededDropout(layer.rate, dropout_gen)
    if k == "fc":
        n_in = math.prod(in_shape)
        linear = skip_init(nn.Linear, n_in, layer.filters)
        return nn.Sequential(nn.Flatten(), linear) if len(in_shape) == 3 else linear
    if k == "flatten":
        return nn.Flatten()
    if k == "res":
        return ResidualBlock(in_shape[0], layer.filters)
    raise ValueError(f"no module for layer kind {k!r}")


@torch.no_grad()
def init_weights(net: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default scale, U(±1/√fan_in) for weights and biases, drawn from `generator`."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            module.weight.uniform_(-bound, bound, generator=generator)
            if module.bias is not None:
                module.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.reset_parameters()


def build_network(
    spec: NetSpec,
    infos: list[LayerInfo],
    init_gen: torch.Generator,
    dropout_gen: torch.Generator,
) -> nn.Sequential:
    """The module for a spec whose `analyze` rows all fit; one child per layer, in order.

    Weights are drawn on the CPU from `init_gen` so a GPU server starts from the same numbers.
    """
    if not fits(infos):
        bad = next(i for i in infos if i.error)
        raise ValueError(f"layer {bad.index} ({bad.token}): {bad.error}")
    children = [
        _module(layer, info.input_shape, dropout_gen)
        for layer, info in zip(spec.layers, infos[1:], strict=True)
    ]
    net = nn.Sequential(*children)
    init_weights(net, init_gen)
    return net


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters as PyTorch counts them: the independent check of `analyze`."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
