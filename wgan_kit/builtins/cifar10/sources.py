"""Reading the official CIFAR-10 files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from wgan_kit import WganKitError

from ..image_sets import ImageSet
from ..safe_pickle import NumpyArraysOnly

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
RECORD = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue planes
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
WHERE = ("get the binary version, cifar-10-binary.tar.gz, from "
         "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it, and set "
         "data.path to its cifar-10-batches-bin folder")


def read_binary(file: Path) -> tuple[np.ndarray, np.ndarray]:
    records = np.fromfile(file, dtype=np.uint8)
    if records.size == 0 or records.size % RECORD:
        raise WganKitError(f"data.path: {file} is not a CIFAR-10 binary batch (its size is not "
                           f"a multiple of {RECORD} bytes); {WHERE}")
    records = records.reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def read_python(file: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with file.open("rb") as batch:
            table = NumpyArraysOnly(batch, encoding="bytes").load()
        pixels, labels = table[b"data"], table[b"labels"]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError) as exc:
        raise WganKitError(f"data.path: {file} is not a CIFAR-10 Python batch ({exc}); "
                           f"{WHERE}") from None
    return np.asarray(pixels, dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, np.int64)


def load_cifar10(path: str | None, *, dequantize: bool, hflip: bool) -> ImageSet:
    if path is None:
        raise WganKitError(f"data.path: give the folder of the CIFAR-10 files; {WHERE}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise WganKitError(f"data.path: {path}: no such folder; {WHERE}")
    names = [*TRAIN_BATCHES, TEST_BATCH]
    if all((folder / f"{name}.bin").is_file() for name in names):
        parts = [read_binary(folder / f"{name}.bin") for name in names]
    elif all((folder / name).is_file() for name in names):
        parts = [read_python(folder / name) for name in names]
    else:
        missing = [f"{n}.bin" for n in names if not (folder / f"{n}.bin").is_file()]
        raise WganKitError(f"data.path: {path} lacks {', '.join(missing)}; {WHERE}")
    pixels = torch.from_numpy(np.concatenate([p for p, _ in parts]))
    labels = torch.from_numpy(np.concatenate([y for _, y in parts]))
    if labels.max() >= len(CLASSES) or labels.min() < 0:
        raise WganKitError(f"data.path: {path} holds labels outside 0…9; {WHERE}")
    held_out = torch.arange(len(pixels) - len(parts[-1][1]), len(pixels))
    return ImageSet(pixels, labels, held_out, num_classes=len(CLASSES), hflip=hflip,
                    noise=1 / 128 if dequantize else 0.0)
