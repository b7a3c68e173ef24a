"""Seeing inside a trained lab net: filters, feature maps, predictions, confusion, dreams.

Everything returns NumPy arrays (float32 unless said) so the server can encode them compactly;
images are [H, W] or [N, H, W]. Caps keep a frame small whatever the net's width, and a budget
in values keeps it small whatever its depth: when every layer's share would not fit, each layer
shows fewer filters or maps, and past one each the last layers are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
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


def fit_counts(entries: list[tuple[int, int]], budget: int | None) -> list[int]:
    """How many of each entry's items to show. `entries` are (items, values per item); every
    entry gets the same cap, the largest whose total stays within `budget` values; when even
    one item each would not fit, entries are kept in order while they fit (0: left out)."""
    if budget is None:
        return [n for n, _ in entries]
    for cap in range(max((n for n, _ in entries), default=0), 0, -1):
        counts = [min(n, cap) for n, _ in entries]
        if sum(c * size for c, (_, size) in zip(counts, entries, strict=True)) <= budget:
            return counts
    counts, left = [], budget
    for n, size in entries:
        take = min(n, 1) if size <= left else 0
        counts.append(take)
        left -= take * size
    return counts


def filters(trainer: LabTrainer, budget: int | None = None) -> list[dict[str, Any]]:
    """Each conv layer's kernels: `weights` float32 [F, C, K, K], capped at 32 filters and (for
    layers past the first) 4 input channels, and in all at `budget` values."""
    convs = [(i, w) for i, m in enumerate(trainer.net, start=1) if (w := _conv_weight(m)) is not None]
    shown = [w[:MAX_FILTERS, :MAX_FILTER_CHANNELS] for _, w in convs]
    counts = fit_counts([(len(w), w[0].numel()) for w in shown], budget)
    return [
        {"layer": index, "shape": list(weight.shape), "weights": w[:n].detach().float().cpu().numpy()}
        for (index, weight), w, n in zip(convs, shown, counts, strict=True)
        if n
    ]


def _map_entries(trainer: LabTrainer) -> list[tuple[int, int]]:
    """(items, values per item) of every layer's picture, from the layer table: each of the
    input's channels (red, green and blue of a colour net), up to 16 maps of a spatial output, up to 128 values of a flat one."""
    entries = []
    for info in trainer.infos:
        shape = info.output_shape
        if info.index == 0:
            entries.append((shape[0], shape[1] * shape[2]))
        elif len(shape) == 3:
            entries.append((min(shape[0], MAX_MAPS), shape[1] * shape[2]))
        else:
            entries.append((1, min(shape[0], MAX_VECTOR)))
    return entries


@torch.no_grad()
def feature_maps(
    trainer: LabTrainer, example: int, budget: int | None = None
) -> list[dict[str, Any]]:
    """The output of every layer for test example `example`, in eval mode.

    Spatial outputs: `maps` [min(C, 16), H, W]; flat outputs: `vector` [min(N, 128)]; in all
    at most `budget` values (fewer maps per layer, then the last layers left out).
    The first entry is the input itself (index 0).
    """
    counts = fit_counts(_map_entries(trainer), budget)
    trainer.net.eval()
    x = trainer.x["test"][example : example + 1]
    result = [{"layer": 0, "maps": x[0, : counts[0]].float().cpu().numpy()}] if counts[0] else []
    for index, module in enumerate(trainer.net, start=1):
        if not any(counts[index:]):
            break  # nothing further is shown: no need to run the rest of the net
        x = module(x)
        n = counts[index]
        if n == 0:
            continue
        values = x[0].float().cpu()
        if values.ndim == 3:
            result.append({"layer": index, "maps": values[:n].contiguous().numpy()})
        else:
            result.append({"layer": index, "vector": values[:MAX_VECTOR].numpy()})
    return result


def example_images(trainer: LabTrainer, count: int = PREDICTION_EXAMPLES) -> np.ndarray:
    """The first `count` test images at the data's native size, [count, H, W] in [0, 1]
    ([count, 3, H, W] for colour)."""
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
def predict_picture(trainer: LabTrainer, picture: np.ndarray) -> dict[str, Any]:
    """Class probabilities for a colour picture, RGB uint8 [H, W, 3], squeezed to the data's
    size as the data were photographed: whole, unshifted. Returns `probs` and the `seen`
    picture [3, H, W] in [0, 1]."""
    _, h, w = trainer.data.shape
    rgb = torch.from_numpy(picture.astype(np.float32)).permute(2, 0, 1)[None] / 255.0
    seen = F.interpolate(rgb, size=(h, w), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)
    x = trainer.normalise(labdata.to_input(seen, trainer.input_shape))
    probs = torch.softmax(trainer.logits(x), 1)[0].float().cpu().numpy()
    return {"probs": probs, "seen": seen[0].numpy()}


@torch.no_grad()
def predict_drawing(trainer: LabTrainer, pixels: np.ndarray) -> dict[str, Any]:
    """Class probabilities for a drawn digit, [S, S] in [0, 1] (ink = 1).

    The drawing is cropped to its ink and centred the way the data set was, then resized to the
    net's input like every training image. Returns `probs` [10] and the `seen` image.
    """
    if trainer.data.colour:
        raise ValueError("pixels: a drawing is read as a digit; this data set is colour "
                         "pictures: test a picture from your computer instead")
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
    (a colour net's: [3, H, W]) in standardised units and the final `activation`.
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
    picture = x.detach()[0]
    image = (picture if picture.shape[0] == 3 else picture.mean(0)).float().cpu().numpy()
    return {"image": image, "activation": activation, "layer": layer, "unit": unit}
