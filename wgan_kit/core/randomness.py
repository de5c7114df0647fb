"""The random streams of a run: Python, NumPy, torch CPU and CUDA.

A trainer keeps its own copy of their state and installs it only while it trains, so two trainers
in one process do not draw from each other's streams, and a checkpoint can hold the exact state.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

RandomState = tuple[dict[str, torch.Tensor], dict[str, Any]]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)  # seeds every CUDA device too


def capture() -> RandomState:
    """The current state of every generator, as tensors and JSON-ready values."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(keys.astype(np.int64))
    return tensors, {"python": [version, list(internal), gauss],
                     "numpy": [kind, position, has_gauss, cached]}


def restore(state: RandomState) -> None:
    tensors, values = state
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count())
            if f"rng.cuda.{i}" in tensors]
    if cuda:
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = values["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, position, has_gauss, cached = values["numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), position,
                         has_gauss, cached))


@contextmanager
def own_streams() -> Iterator[None]:
    """Whatever the block draws (a hook, a score), the caller's streams stay as they were."""
    streams = capture()
    try:
        yield
    finally:
        restore(streams)


@contextmanager
def installed(state: RandomState) -> Iterator[list[RandomState]]:
    """Draw from `state` inside the block; the block's final state is left in the yielded list,
    and the caller's own state is put back afterwards."""
    outer = capture()
    restore(state)
    final = [state]
    try:
        yield final
    finally:
        final[0] = capture()
        restore(outer)
