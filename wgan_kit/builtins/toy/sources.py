"""The toy data sources. Sampled sets draw batch i from a generator seeded by (seed, i), so a
stream can restart anywhere; `held_out` draws from a stream no training batch uses."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import torch

from wgan_kit import SampleSpec

from ..streams import HELD_OUT_SEED, batch_generator, batch_indices, to_device

POINTS = SampleSpec(shape=(2,), kind="points")


class _SampledPoints:
    """A distribution sampled afresh for every batch."""

    spec = POINTS
    sample: Callable[[int, torch.Generator], torch.Tensor]

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for i in itertools.count(skip):
            yield to_device(self.sample(batch_size, batch_generator(seed, i)), device)

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return to_device(self.sample(n, batch_generator(HELD_OUT_SEED, 0)), device)

    def decode(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.detach().float().cpu()


class EightGaussians(_SampledPoints):
    """`centres` (8, 2) and `std` are those of the points as sampled: the toy code divides every
    point by 1.414, to unit-ish standard deviation."""

    def __init__(self, radius: float = 2.0, std: float = 0.02) -> None:
        angles = torch.arange(8) * (math.pi / 4)
        self.centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1) / 1.414
        self.std = std / 1.414

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        which = torch.randint(8, (n,), generator=generator)
        return self.centres[which] + torch.randn(n, 2, generator=generator) * self.std


class SwissRoll(_SampledPoints):
    def __init__(self, noise: float = 0.25) -> None:
        self.noise = noise

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        # scikit-learn's make_swiss_roll, keeping axes 0 and 2, as the toy code does.
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
        roll = torch.stack([t * t.cos(), t * t.sin()], dim=1)
        return (roll + self.noise * torch.randn(n, 2, generator=generator)) / 7.5


class TwentyFiveGaussians:
    """The toy code's fixed set: 4,000 points around each of 25 centres, shuffled once.
    `centres` (25, 2) and `std` are those of the points as stored (scaled by 1/2.828)."""

    spec = POINTS

    def __init__(self, dataset_seed: int = 0, held_out: float = 0.1) -> None:
        generator = torch.Generator().manual_seed(dataset_seed)
        grid = torch.arange(-2, 3, dtype=torch.float32) * 2
        centres = torch.cartesian_prod(grid, grid)
        points = centres.repeat(4000, 1) + 0.05 * torch.randn(100_000, 2, generator=generator)
        points = points[torch.randperm(100_000, generator=generator)] / 2.828
        self.centres, self.std = centres / 2.828, 0.05 / 2.828
        n_held_out = int(len(points) * held_out)
        self.train_points, self.held_out_points = points[n_held_out:], points[:n_held_out]
        self.train_size, self.held_out_size = len(self.train_points), n_held_out

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for indices in batch_indices(len(self.train_points), batch_size, seed=seed, skip=skip):
            yield to_device(self.train_points[indices], device)

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return to_device(self.held_out_points[:n], device)

    decode = _SampledPoints.decode
