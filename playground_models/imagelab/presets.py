"""Named networks for the image lab: the classics of the course, written as layer strings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    net: str
    title: str
    about: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "convnetjs-mnist",
            "in24x24x1-conv8k5p2-relu-maxpool2-conv16k5p2-relu-maxpool3-fc10",
            "ConvNetJS MNIST",
            "Karpathy's browser demo net: two 5×5 conv layers with padding 2, 5,994 parameters.",
        ),
        Preset(
            "convnetjs-cifar10",
            "in32x32x3-conv16k5p2-relu-maxpool2-conv20k5p2-relu-maxpool2-conv20k5p2-relu-maxpool2-fc10",
            "ConvNetJS CIFAR-10",
            "Karpathy's colour demo net: three 5×5 conv layers of 16, 20 and 20 filters on a "
            "32×32×3 picture, 22,466 parameters.",
        ),
        Preset(
            "lenet5",
            "in32x32x1-conv6k5-tanh-avgpool2-conv16k5-tanh-avgpool2-fc120-tanh-fc84-tanh-fc10",
            "LeNet-5",
            "LeCun et al. 1998: 6@5×5, subsampling, 16@5×5, subsampling, 120, 84, 10 — 61,706 "
            "parameters on a 32×32×1 input.",
        ),
        Preset(
            "tiny-vgg",
            "in28x28x1-conv10k3-relu-conv10k3-relu-maxpool2-conv10k3-relu-conv10k3-relu-maxpool2-fc10",
            "Tiny VGG",
            "CNN Explainer's stack of small 3×3 convolutions, two per block, then max pooling.",
        ),
        Preset(
            "small-digits",
            "in8x8x1-conv16k3p1-relu-maxpool2-conv32k3p1-relu-flatten-fc10",
            "Small net for 8×8",
            "A small conv net on the 8×8 digits at their own size; fast on any CPU.",
        ),
        Preset(
            "resnet-mini",
            "in16x16x1-conv16k3p1-bn-relu-res16-maxpool2-res32-avgpool8-fc10",
            "Mini ResNet",
            "Two residual blocks: the shortcut adds the block's input to its output.",
        ),
        Preset(
            "mlp",
            "in28x28x1-flatten-fc100-relu-fc10",
            "Plain MLP",
            "No convolution at all: every pixel is its own input. Compare its parameter count.",
        ),
    )
}

DEFAULT_PRESET = "convnetjs-mnist"


def preset_net(name: str) -> str:
    """The layer string of a preset; raises KeyError with the known names."""
    try:
        return PRESETS[name].net
    except KeyError:
        known = ", ".join(PRESETS)
        raise KeyError(f"unknown preset {name!r}; known presets: {known}") from None
