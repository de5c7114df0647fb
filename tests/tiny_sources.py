"""Tiny in-test data sources of the kinds the built-ins lack: lines of text (of lowercase letters,
or of any character a generator can emit) and labelled images."""

from __future__ import annotations

import itertools

import numpy as np
import torch

import wgan_kit

ALPHABET = " abcdefghijklmnopqrstuvwxyz"
SENTENCES = ["the cat sat on the mat", "a dog ran in the park", "we like to read books",
             "rain falls on the roof", "birds sing in the tree"]


class TinyText:
    """Fixed-length lines of lowercase text, one-hot over `ALPHABET`."""

    spec = wgan_kit.SampleSpec(shape=(12, len(ALPHABET)), kind="sequence")

    def __init__(self) -> None:
        length = self.spec.shape[0]
        self.lines = [s[i:i + length] for s in SENTENCES for i in range(len(s) - length + 1)]

    def encode(self, lines: list[str]) -> torch.Tensor:
        indices = torch.tensor([[ALPHABET.index(c) for c in line] for line in lines])
        return torch.nn.functional.one_hot(indices, len(ALPHABET)).float()

    def batches(self, batch_size, *, seed, device, skip=0):
        for i in itertools.count(skip):
            chosen = torch.randint(len(self.lines), (batch_size,),
                                   generator=torch.Generator().manual_seed(seed * 1000 + i))
            yield self.encode([self.lines[j] for j in chosen]).to(device)

    def held_out(self, n, *, device):
        return self.encode([self.lines[i % len(self.lines)] for i in range(n)]).to(device)

    def decode(self, batch):
        return ["".join(ALPHABET[i] for i in row) for row in batch.argmax(-1).tolist()]


# What mathtext, LaTeX, fonts and line-based files stumble on: `$…$` formulas, TeX's specials,
# control characters, line breaks and a lone surrogate (which UTF-8 cannot encode).
ANY_CHARACTERS = "$\\_^{}%#&~\x00\x07\x1b\t\n\r\x7f\u2028\ud800"


class AnyCharacters:
    """Long lines (200 symbols, longer than a picture shows) over `ANY_CHARACTERS`, one-hot."""

    spec = wgan_kit.SampleSpec(shape=(200, len(ANY_CHARACTERS)), kind="sequence")

    def lines(self, n: int, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        indices = torch.randint(len(ANY_CHARACTERS), (n, self.spec.shape[0]), generator=generator)
        return torch.nn.functional.one_hot(indices, len(ANY_CHARACTERS)).float()

    def batches(self, batch_size, *, seed, device, skip=0):
        for i in itertools.count(skip):
            yield self.lines(batch_size, seed * 1000 + i).to(device)

    def held_out(self, n, *, device):
        return self.lines(n, 12345).to(device)

    def decode(self, batch):
        return ["".join(ANY_CHARACTERS[i] for i in row) for row in batch.argmax(-1).tolist()]


def stripes(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """8×8 grey images in [−1, 1]: class 0 bright on top, class 1 bright below, plus noise."""
    images = torch.full((len(labels), 1, 8, 8), -0.8)
    images[labels == 0, :, :4] = 0.8
    images[labels == 1, :, 4:] = 0.8
    return (images + 0.2 * torch.randn(images.shape, generator=generator)).clamp(-1, 1)


class LabelledStripes:
    """Labelled 8×8 images of two classes, with the `labelled_batches` of a labelled source."""

    spec = wgan_kit.SampleSpec(shape=(1, 8, 8), kind="image", value_range=(-1.0, 1.0),
                               num_classes=2)

    def labelled_batches(self, batch_size, *, seed, device, skip=0):
        for i in itertools.count(skip):
            generator = torch.Generator().manual_seed(seed * 1000 + i)
            labels = torch.randint(2, (batch_size,), generator=generator)
            yield stripes(labels, generator).to(device), labels.to(device)

    def batches(self, batch_size, *, seed, device, skip=0):
        for images, _ in self.labelled_batches(batch_size, seed=seed, device=device, skip=skip):
            yield images

    def held_out(self, n, *, device):
        generator = torch.Generator().manual_seed(12345)
        return stripes(torch.arange(n) % 2, generator).to(device)

    def decode(self, batch):
        pixels = ((batch.detach().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return pixels.permute(0, 2, 3, 1).cpu().numpy()


def decoded_stripes(n: int, seed: int = 0) -> np.ndarray:
    source = LabelledStripes()
    return source.decode(stripes(torch.arange(n) % 2, torch.Generator().manual_seed(seed)))
