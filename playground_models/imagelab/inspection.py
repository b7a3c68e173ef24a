"""Seeing inside a trained lab net: filters, feature maps, predictions, confusion, dreams.

Everything returns NumPy arrays (float32 unless said) so the server can encode them compactly;
images are [H, W] or [N, H, W]. Caps keep a frame small whatever the net's width.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from . import data as labdata
from .parts import Parts, drain
from .trainer import LabTrainer

MAX_FILTERS = 32  # per conv layer shown
MAX_FILTER_CHANNELS = 4  # input channels shown per filter of a deeper layer
MAX_MAPS = 16  # feature maps shown per layer
MAX_VECTOR = 128  # values shown of a flat layer
PREDICTION_EXAMPLES = 16


def _conv_weight(module: nn.Module) -> torch.Tensor | None:
    if isinstance(module, nn.Conv2d):
        return module.weight
    return None


def filters(trainer: LabTrainer) -> list[dict[str, Any]]:
    """Each conv layer's kernels: `weights` float32 [F, C, K, K], capped at 32 filters and (for
    layers past the first) 4 input channels."""
    out = []
    for index, module in enumerate(trainer.net, start=1):
        weight = _conv_weight(module)
        if weight is None:
            continue
        w = weight.detach()[:MAX_FILTERS, :MAX_FILTER_CHANNELS].float().cpu().numpy()
        out.append({"layer": index, "shape": list(weight.shape), "weights": w})
    return out


@torch.no_grad()
def feature_maps(trainer: LabTrainer, example: int) -> list[dict[str, Any]]:
    """The output of every layer for test example `example`, in eval mode.

    Spatial outputs: `maps` [min(C, 16), H, W]; flat outputs: `vector` [min(N, 128)].
    The first entry is the input itself (index 0).
    """
    trainer.net.eval()
    x = trainer.x["test"][example : example + 1]
    result = [{"layer": 0, "maps": x[0, :1].float().cpu().numpy()}]
    for index, module in enumerate(trainer.net, start=1):
        x = module(x)
        values = x[0].float().cpu()
        if values.ndim == 3:
            result.append({"layer": index, "maps": values[:MAX_MAPS].contiguous().numpy()})
        else:
            result.append({"layer": index, "vector": values[:MAX_VECTOR].numpy()})
    return result


def example_images(trainer: LabTrainer, count: int = PREDICTION_EXAMPLES) -> np.ndarray:
    """The first `count` test images at the data's native size, [count, H, W] in [0, 1]."""
    return trainer.data.test.images[:count]


@torch.no_grad()
def predictions(trainer: LabTrainer, count: int = PREDICTION_EXAMPLES) -> dict[str, Any]:
    """Top-3 classes and probabilities of the first `count` test examples, and the truth."""
    return predictions_of(trainer.logits(trainer.x["test"][:count]), trainer.y["test"][:count])


@torch.no_grad()
def predictions_of(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """`predictions` from the logits [N, classes] of the first N test examples."""
    top_p, top_c = torch.softmax(logits, 1).topk(3, dim=1)
    return {
        "top_classes": top_c.cpu().numpy().astype(np.uint8),
        "top_probs": top_p.float().cpu().numpy(),
        "labels": labels.cpu().numpy().astype(np.uint8),
    }


@torch.no_grad()
def confusion(trainer: LabTrainer, split: str = "test", classes: int = 10) -> np.ndarray:
    """Counts [true, predicted] over a split, int32 [classes, classes]."""
    return confusion_of(trainer.logits(trainer.x[split]), trainer.y[split], classes)


@torch.no_grad()
def confusion_of(logits: torch.Tensor, truth: torch.Tensor, classes: int = 10) -> np.ndarray:
    """`confusion` from a split's logits [N, classes] and its labels [N]."""
    predicted = logits.argmax(1)
    flat = torch.bincount(truth * classes + predicted, minlength=classes * classes)
    return flat.reshape(classes, classes).cpu().numpy().astype(np.int32)


@torch.no_grad()
def predict_drawing(trainer: LabTrainer, pixels: np.ndarray) -> dict[str, Any]:
    """Class probabilities for a drawn digit, [S, S] in [0, 1] (ink = 1).

    The drawing is cropped to its ink and centred the way the data set was, then resized to the
    net's input like every training image. Returns `probs` [10] and the `seen` image.
    """
    native = trainer.data.shape[1]
    centred = labdata.centre_drawing(pixels, native)
    x = trainer.normalise(labdata.to_input(centred[None], trainer.input_shape))
    probs = torch.softmax(trainer.logits(x), 1)[0].float().cpu().numpy()
    return {"probs": probs, "seen": centred.astype(np.float32)}


def activation_maximization(
    trainer: LabTrainer, layer: int, unit: int, steps: int = 80
) -> dict[str, Any]:
    """The input that most excites one unit, by gradient ascent from seed-0 noise.

    `layer` indexes the network's layers from 1; the last layer's units are the classes. For a
    spatial layer the unit is a channel and its mean activation is maximised. A small L2 pull
    towards zero keeps the picture from running off to extreme pixels. Returns `image` [H, W]
    in standardised units and the final `activation`.
    """
    return drain(dream_in_parts(trainer, layer, unit, steps))


def dream_in_parts(
    trainer: LabTrainer, layer: int, unit: int, steps: int = 80
) -> Parts[dict[str, Any]]:
    """`activation_maximization`, yielding after each gradient step (see `parts`)."""
    net = trainer.net
    if not 1 <= layer <= len(net):
        raise ValueError(f"layer: must be between 1 and {len(net)}, got {layer}")
    start = torch.Generator().manual_seed(0)
    x = (0.1 * torch.randn(1, *trainer.input_shape, generator=start)).to(trainer.device)
    x.requires_grad_(True)
    body = net[:layer]
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        probe = body(x)
        if not 0 <= unit < probe.shape[1]:
            raise ValueError(f"unit: layer {layer} has units 0..{probe.shape[1] - 1}, got {unit}")
        optimizer = torch.optim.Adam([x], lr=0.1)
        activation = 0.0
        for _ in range(steps):
            out = body(x)[0, unit]
            score = out.mean()
            optimizer.zero_grad()
            (-score + 0.01 * (x * x).mean()).backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(-3.0, 3.0)
            activation = float(score.detach())
            yield
    finally:
        for p in net.parameters():
            p.requires_grad_(True)
    image = x.detach()[0].mean(0).float().cpu().numpy()
    return {"image": image, "activation": activation, "layer": layer, "unit": unit}
