"""`Painter`: an MLP from a pixel's place to its colour, trained on random pixels of a picture.

As ConvNetJS's `image_regression`: x and y are the pixel's column and row, each centred and
divided by the picture's width or height (so both run over [−½, ½)); the targets are r, g, b
in [0, 1]; the loss is the mean squared error; each update takes `batchSize` pixels drawn at
random. With `fourier` = k the inputs also carry sin and cos of 2^i·π·2x and 2^i·π·2y for
i < k (1, 2, 4 … cycles across the picture).

The layers, their start, the update and the divergence rule are `DenseNet`'s
(`densenet.py`); the pixels are drawn from the seed's own stream, so a link paints the same
picture every time.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from ..densenet import DenseNet
from ..rng import stream_seed
from .config import PaintConfig


def coordinates(height: int, width: int, fourier: int) -> torch.Tensor:
    """The network's inputs for every pixel in raster order: [height · width, 2 + 4·fourier]."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    x = ((cols - width / 2) / width).reshape(-1)
    y = ((rows - height / 2) / height).reshape(-1)
    columns = [x, y]
    for i in range(fourier):
        for u in (x, y):
            angle = (2.0 ** i) * math.pi * 2.0 * u
            columns += [np.sin(angle), np.cos(angle)]
    return torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))


def parameter_count(c: PaintConfig) -> int:
    sizes = [c.inputs, *c.widths, 3]
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


class Painter(DenseNet):
    def __init__(self, config: PaintConfig, picture: np.ndarray):
        super().__init__(config, [config.inputs, *config.widths, 3], "paint/init")
        self.picture = picture
        self.height, self.width = picture.shape[:2]
        self.inputs = coordinates(self.height, self.width, config.fourier)
        self.targets = torch.from_numpy(picture.reshape(-1, 3).astype(np.float32) / 255.0)
        self._pixels = torch.Generator().manual_seed(stream_seed(config.seed, "paint/pixels"))
        self.pixels_seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = ACT[self.config.activation]
        last = len(self.weights) - 1
        for i in range(len(self.weights)):
            x = self.dense(i, x)
            if i < last:
                x = act(x)
        return x

    def train(self, n: int = 1) -> None:
        """`n` updates, each on `batchSize` pixels drawn at random."""
        count = self.height * self.width
        batch = self.config.batchSize
        for _ in range(n):
            index = torch.randint(0, count, (batch,), generator=self._pixels)
            loss = torch.mean((self.forward(self.inputs[index]) - self.targets[index]) ** 2)
            self.pixels_seen += batch
            if not self.learn(loss):
                return

    def paint(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows `start` to `stop` of the network's picture, uint8 [rows, width, 3]."""
        stop = self.height if stop is None else stop
        with torch.no_grad():
            out = self.forward(self.inputs[start * self.width:stop * self.width])
        rgb = torch.nan_to_num(out, nan=0.0).clamp_(0.0, 1.0).mul_(255.0).round_()
        return rgb.to(torch.uint8).numpy().reshape(stop - start, self.width, 3)


MAX_PSNR = 99.0  # a perfect match (the squared error is 0) reads as this, not infinity


def psnr(painted: np.ndarray, picture: np.ndarray) -> float:
    """Peak signal-to-noise ratio of `painted` against `picture`, in dB (both uint8)."""
    mse = float(np.mean((painted.astype(np.float32) - picture.astype(np.float32)) ** 2))
    return MAX_PSNR if mse == 0 else min(MAX_PSNR, 10.0 * math.log10(255.0 ** 2 / mse))


def mean_colour_psnr(picture: np.ndarray) -> float:
    """The PSNR of the picture painted in its mean colour: what a network that learnt
    nothing of where things are would reach."""
    flat = np.broadcast_to(picture.reshape(-1, 3).mean(axis=0).round(), picture.shape)
    return psnr(flat.astype(np.uint8), picture)
