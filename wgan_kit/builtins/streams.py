"""What every built-in data source shares: repeatable random streams, epoch-shuffled batches of a
fixed set, a held-out split, and the copy to the run's device.

Batch i of a stream depends only on (seed, batch_size, i): the order of epoch e is a permutation
drawn from (seed, e), so a resumed run continues with `skip=i` and gets the very same batches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch

from wgan_kit import SampleSpec, WganKitError

HELD_OUT_SEED = (1 << 62) + 7
# Independent streams drawn from the same (seed, index): the order of an epoch, and per-batch
# augmentation (flips, dequantization noise).
ORDER_STREAM, AUGMENT_STREAM = 0, 1


def batch_generator(seed: int, index: int, stream: int = ORDER_STREAM) -> torch.Generator:
    """The generator of batch `index` of `stream` under `seed`. Torch's CPU generator keeps only
    the low 32 bits of its seed, so (seed, stream, index) goes through SplitMix64's finaliser and
    is folded to 32 bits: two different triples meet with chance 2⁻³². (Taken directly, the low
    bits of a linear mix made the held-out points of a toy set training batch 0 of seed 7.)"""
    mixed = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + index) % (1 << 64)
    mixed = ((mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9) % (1 << 64)
    mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) % (1 << 64)
    mixed ^= mixed >> 31
    return torch.Generator().manual_seed((mixed ^ (mixed >> 32)) & 0xFFFFFFFF)


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


class SampleSet:
    """A fixed set of samples held in memory, with optional integer labels, split once into
    training and held-out parts. Samples are stored compactly (e.g. uint8 pixels, symbol indices)
    and become the model's float form on the device, in `to_model`; subclasses choose both forms
    and may augment training batches in `training_batch`."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor | None,
                 held_out: torch.Tensor, spec: SampleSpec) -> None:
        keep = torch.ones(len(samples), dtype=torch.bool)
        keep[held_out] = False
        self.train_samples, self.held_out_samples = samples[keep], samples[held_out]
        self.train_labels = labels[keep] if labels is not None else None
        self.held_out_labels = labels[held_out] if labels is not None else None
        self.spec = spec

    @property
    def train_size(self) -> int:
        return len(self.train_samples)

    @property
    def held_out_size(self) -> int:
        return len(self.held_out_samples)

    def to_model(self, stored: torch.Tensor) -> torch.Tensor:
        """Stored samples, already on the device, in the form the nets take."""
        return stored.float()

    def training_batch(self, stored: torch.Tensor, generator: torch.Generator,
                       device: torch.device) -> torch.Tensor:
        """A training batch on `device`; `generator` is this batch's own augmentation stream."""
        return self.to_model(to_device(stored, device))

    def labelled_batches(self, batch_size: int, *, seed: int, device: torch.device,
                         skip: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Training batches with their labels (None for an unlabelled set)."""
        indices = batch_indices(self.train_size, batch_size, seed=seed, skip=skip)
        for i, chosen in enumerate(indices, start=skip):
            batch = self.training_batch(self.train_samples[chosen],
                                        batch_generator(seed, i, AUGMENT_STREAM), device)
            labels = self.train_labels
            yield batch, (to_device(labels[chosen], device) if labels is not None else None)

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for batch, _ in self.labelled_batches(batch_size, seed=seed, device=device, skip=skip):
            yield batch

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return self.to_model(to_device(self.held_out_samples[:n], device))

    def class_counts(self) -> list[int] | None:
        """Training samples per class, or None for an unlabelled set."""
        if self.train_labels is None or self.spec.num_classes is None:
            return None
        return torch.bincount(self.train_labels, minlength=self.spec.num_classes).tolist()
