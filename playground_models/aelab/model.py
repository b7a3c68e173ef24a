"""`Autoencoder`: digits in, a code of two numbers, digits out — trained on the data's training
split, measured on its test split.

The encoder is the input (the image's pixels, in [0, 1]) through `layers` of `activation`
to a linear code of 2; the decoder mirrors it, from the code through the same widths in
reverse to a linear output of the image's size, as ConvNetJS's. The loss is the mean squared
error over the pixels. The layers, their start, the update and the divergence rule are
`DenseNet`'s (`densenet.py`); the batches are drawn from the seed's own stream, so a link
trains the same way every time.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ..densenet import DenseNet
from ..imagelab.data import LabData, load
from ..rng import stream, stream_seed
from .config import AEConfig

CODE = 2
SHOWN = 300  # training digits drawn on the code plane
ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def sizes(config: AEConfig, pixels: int) -> list[int]:
    widths = config.widths
    return [pixels, *widths, CODE, *reversed(widths), pixels]


def parameter_count(config: AEConfig, pixels: int) -> int:
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes(config, pixels)))


class Autoencoder(DenseNet):
    def __init__(self, config: AEConfig, data: LabData | None = None):
        self.data = data or load(config.data, stream(config.seed, "ae/data"))
        train, test = self.data.train.images, self.data.test.images
        self.side = train.shape[1]
        self.pixels = self.side * train.shape[2]
        self.train_x = torch.from_numpy(train.reshape(len(train), -1))
        self.test_x = torch.from_numpy(test.reshape(len(test), -1))
        self.shown = np.arange(min(SHOWN, len(train)))  # the first training digits (shuffled)
        super().__init__(config, sizes(config, self.pixels), "ae/init")
        self._batches = torch.Generator().manual_seed(stream_seed(config.seed, "ae/batches"))

    @property
    def code_layer(self) -> int:
        """The index, among the layers' outputs, of the code."""
        return len(self.config.widths)

    def layers(self, x: torch.Tensor, start: int = 0) -> list[torch.Tensor]:
        """Every layer's output for `x`, from layer `start` on (the code is linear, and so is
        the output)."""
        act = ACT[self.config.activation]
        last, code = len(self.weights) - 1, self.code_layer
        outs = []
        for i in range(start, len(self.weights)):
            x = self.dense(i, x)
            if i not in (code, last):
                x = act(x)
            outs.append(x)
        return outs

    def train(self, n: int = 1) -> None:
        """`n` updates, each on `batchSize` training digits drawn at random."""
        count, batch = len(self.train_x), self.config.batchSize
        for _ in range(n):
            x = self.train_x[torch.randint(0, count, (batch,), generator=self._batches)]
            if not self.learn(torch.mean((self.layers(x)[-1] - x) ** 2)):
                return

    def codes(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.layers(x)[self.code_layer].numpy()

    def decode(self, code: tuple[float, float]) -> np.ndarray:
        """The decoder's image for a point of the code plane, [side, side] in [0, 1]."""
        with torch.no_grad():
            out = self.layers(torch.tensor([code], dtype=torch.float32), self.code_layer + 1)
        return out[-1][0].clamp(0.0, 1.0).numpy().reshape(self.side, -1)

    def test_error(self) -> float:
        """Mean squared error of the test digits' reconstructions."""
        with torch.no_grad():
            return float(torch.mean((self.layers(self.test_x)[-1] - self.test_x) ** 2))

    def mean_image_error(self) -> float:
        """The test error of drawing every digit as the training digits' mean: what an
        autoencoder that passed nothing through its code would reach."""
        mean = self.train_x.mean(dim=0)
        return float(torch.mean((self.test_x - mean) ** 2))
