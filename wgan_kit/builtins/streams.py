"""What every built-in data source shares: repeatable random streams, epoch-shuffled batches of a
fixed set, a held-out split, and the copy to the run's device.

Batch i of a stream depends only on (seed, batch_size, i): the order of epoch e is a permutation
drawn from (seed, e), so a resumed run continues with `skip=i` and gets the very same batches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch

from wgan_kit import WganKitError

HELD_OUT_SEED = (1 << 62) + 7
# Independent streams drawn from the same (seed, index): the order of an epoch, and per-batch
# augmentation (flips, dequantization noise).
ORDER_STREAM, AUGMENT_STREAM = 0, 1


def batch_generator(seed: int, index: int, stream: int = ORDER_STREAM) -> torch.Generator:
    mixed = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + index) % (1 << 63)
    return torch.Generator().manual_seed(mixed)


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU batch to `device`; on CUDA through pinned memory, without waiting for it."""
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def batch_indices(n: int, batch_size: int, *, seed: int, skip: int = 0) -> Iterator[torch.Tensor]:
    """Endless batches of indices into a set of `n`, reshuffled each epoch from (seed, epoch);
    the last incomplete batch of an epoch is dropped, as every batch has `batch_size` samples."""
    if batch_size > n:
        raise WganKitError(f"run.batch_size: {batch_size} is larger than the {n} training "
                           f"samples of the data; use at most {n}")
    per_epoch = n // batch_size
    epoch, order = -1, torch.empty(0, dtype=torch.long)
    for i in itertools.count(skip):
        if i // per_epoch != epoch:
            epoch = i // per_epoch
            order = torch.randperm(n, generator=batch_generator(seed, epoch))
        start = (i % per_epoch) * batch_size
        yield order[start:start + batch_size]


def split_indices(n: int, held_out: float, *, dataset_seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed (training, held-out) split of `n` samples; `held_out` is the held-out share."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(dataset_seed))
    n_held_out = max(int(n * held_out), 1)
    return order[n_held_out:], order[:n_held_out]
