"""The seam between the loop and the processes it trains with: what the engine asks at each step
of a data-parallel run. One process needs none of it (`SingleProcess`); several processes get
`wgan_kit.training.distributed.Ranks`."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from torch import nn

    from .metrics import RunningMeans


class DataParallel(Protocol):
    """What the loop calls, in this order within a generator step."""

    rank: int  # this process's index; its data stream's seed is the run's plus this
    world_size: int  # processes training together; each draws run.batch_size / world_size

    def seed_step(self, step: int) -> None:
        """Reseed the random streams for generator step `step`, or leave them running."""

    def average_gradients(self, net: nn.Module) -> None:
        """Make `net`'s gradients, after a backward pass, those of the global batch."""

    def sync_metrics(self, means: RunningMeans) -> None:
        """Make the running means and maxima those of the global batch, before a log line."""

    def agree_on_stop(self, requested: signal.Signals | None) -> signal.Signals | None:
        """The stop request every process acts on, so that all stop after the same step."""


class SingleProcess:
    """One process: its batch is the global batch and its stop request the only one."""

    rank, world_size = 0, 1

    def seed_step(self, step: int) -> None:
        pass

    def average_gradients(self, net: nn.Module) -> None:
        pass

    def sync_metrics(self, means: RunningMeans) -> None:
        pass

    def agree_on_stop(self, requested: signal.Signals | None) -> signal.Signals | None:
        return requested
