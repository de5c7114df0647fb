"""Data-parallel training over several processes: `wgan-kit run --nproc N` and torchrun.

One process per device (`gloo` on CPU, `nccl` on CUDA). The global batch of `run.batch_size`
samples is split evenly: each rank trains on `batch_size // world_size` samples per step, drawn
from its own real-batch stream (the run's seed plus the rank) and its own z and ε streams, seeded
afresh at each generator step from (seed, rank, step). Rank 0 alone logs, draws pictures and
writes checkpoints; every rank resumes from them, and a resumed run ends with the weights of one
that never stopped. The metrics it logs are the global batch's, averaged over the ranks, and a
signal to any rank (Ctrl-C, SIGTERM) stops every rank after the same step.

Why the nets are not wrapped in `DistributedDataParallel`: each critic step runs the critic three
times (real, fake, and the penalty's interpolates) and differentiates the last pass twice, through
`torch.autograd.grad(..., create_graph=True)`. DDP's reducer all-reduces from hooks that fire
once per parameter per backward of a DDP-wrapped forward; with several forwards per step and a
double backward it raises "Expected to mark a variable ready only once", or silently leaves the
penalty's share of the gradient unreduced. Here each rank instead finishes its backward exactly as
the single-process loop does, then one all-reduce averages each net's gradients (one flattened
buffer per net) before the optimizer step. That is correct for any number of forwards and any
penalty, and moves the same bytes as DDP (without overlapping them with the backward pass). As
every loss is a mean over the batch, the average of the ranks' gradients is the gradient over the
global batch, and identical gradients keep identical weights on every rank.

A rank whose peer is gone (its process or its machine stopped, the connection broke) meets the
loss in its next collective; it raises `PeerLost` there instead of a backend traceback, and the
launch path says in one line where the run can continue from.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from torch import nn

from ..core import randomness
from ..core.engine.metrics import RunningMeans
from ..errors import WganKitError

if TYPE_CHECKING:
    from ..core.engine import Engine


@dataclass(frozen=True)
class Rank:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> Rank | None:
    """This process's place in a multi-process run, from the variables torchrun sets (and
    `--nproc` sets for the processes it starts); None for a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    rank = int(os.environ["RANK"])
    return Rank(rank, world_size, int(os.environ.get("LOCAL_RANK", rank)))


def launch_environment(index: int, world_size: int, port: int) -> dict[str, str]:
    """The variables torchrun would give local process `index` of a one-machine run."""
    return {"RANK": str(index), "LOCAL_RANK": str(index), "WORLD_SIZE": str(world_size),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def join(rank: Rank, device: str | None) -> str | None:
    """Join the process group; returns the device this rank trains on: cuda:LOCAL_RANK where
    CUDA is asked for (or automatic and present), else `device` unchanged."""
    cuda = (device.startswith("cuda") if device and device != "auto"
            else torch.cuda.is_available())
    if cuda:
        if rank.local_rank >= torch.cuda.device_count():
            raise WganKitError(f"--nproc: local rank {rank.local_rank}, but torch sees "
                               f"{torch.cuda.device_count()} CUDA device(s); one process per GPU")
        torch.cuda.set_device(rank.local_rank)
        device = f"cuda:{rank.local_rank}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank.rank,
                                world_size=rank.world_size)
    return device


def threads_per_rank(rank: Rank, device: str | None) -> int | None:
    """On CPU, the machine's cores shared out between the ranks on it (torch would give each
    rank all of them); None (torch's choice) on CUDA."""
    if device and device.startswith("cuda"):
        return None
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", rank.world_size))
    return max(1, (os.cpu_count() or 1) // ranks_here)


@contextmanager
def main_first(rank: Rank) -> Iterator[None]:
    """Rank 0 runs the block before the others (it may rewrite the run folder)."""
    if not rank.is_main:
        dist.barrier()
    yield
    if rank.is_main:
        dist.barrier()


def leave(*, finished: bool) -> None:
    """Leave the process group. After a finished run the ranks first wait for each other, so that
    none tears its connections down while a peer may still use them; after a failure they do not
    wait, as a peer may never arrive."""
    if dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def shard(engine: Engine, rank: Rank) -> Ranks:
    """Rank `rank`'s seam into a data-parallel run, with `engine`'s nets made the same on every
    rank (called on every rank, after building or resuming, before training). The config (and so
    the checkpoint) keeps the global batch; the loop draws this rank's share of it."""
    check_split(engine.run.batch_size, rank.world_size)
    for net in (engine.generator, engine.critic):
        for tensor in (*net.parameters(), *net.buffers()):
            dist.broadcast(tensor.data, src=0)  # one starting point, whatever built the nets
    return Ranks(engine.run.seed, rank)


class Ranks:
    """The loop's data-parallel seam (`wgan_kit.core.engine.parallel.DataParallel`) over the process
    group: per-step seeds, averaged gradients, the global batch's metrics, one stop for all."""

    def __init__(self, seed: int, rank: Rank) -> None:
        self.seed, self.rank, self.world_size = seed, rank.rank, rank.world_size
        # Stop requests travel over CPU (gloo) whatever the backend, so agreeing waits for no
        # device.
        self.stop_group = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")

    def seed_step(self, step: int) -> None:
        """A rank's streams restart at each generator step from a seed of (seed, rank, step), so
        that a resumed run draws what an unbroken one would."""
        randomness.seed_everything(_rank_seed(self.seed, self.rank, step))

    def average_gradients(self, net: nn.Module) -> None:
        with peers_answering():
            average_gradients(net)

    def sync_metrics(self, means: RunningMeans) -> None:
        with peers_answering():
            global_metrics(means)

    def agree_on_stop(self, requested: signal.Signals | None) -> signal.Signals | None:
        with peers_answering():
            return _first_stop_request(requested, self.stop_group)


class PeerLost(WganKitError):
    """Another process of the run stopped answering in the middle of a step."""


@contextmanager
def peers_answering() -> Iterator[None]:
    """Turn a collective's failure (gloo or NCCL: a peer died, its machine went away, the
    connection broke) into `PeerLost`, naming the backend's reason in one line."""
    try:
        yield
    except RuntimeError as exc:  # torch's DistBackendError and gloo's errors are RuntimeErrors
        reason = str(exc).splitlines()[0]
        reason = reason.split("] ", 1)[-1].split(". This is typically")[0]  # gloo's source path
        raise PeerLost(f"another process of this run is gone ({reason})") from None


def check_split(batch_size: int, world_size: int) -> None:
    if batch_size % world_size:
        raise WganKitError(f"run.batch_size: {batch_size} does not split evenly over "
                           f"{world_size} processes; use a multiple of {world_size}")


def average_gradients(net: nn.Module) -> None:
    """Replace each gradient of `net` by its mean over the ranks: one all-reduce."""
    gradients = [p.grad for p in net.parameters() if p.grad is not None]
    if not gradients:
        return
    flat = torch.cat([g.reshape(-1) for g in gradients])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for gradient in gradients:
        gradient.copy_(flat[offset:offset + gradient.numel()].view_as(gradient))
        offset += gradient.numel()


def global_metrics(means: RunningMeans) -> None:
    """Make a rank's running means and maxima those of the global batch, the same on every rank
    (so a non-finite value stops them all): one all-reduce for the means, one for the maxima.
    Every rank logs the same names the same number of times, so averaging the sums suffices."""
    for values, reduce in ((means.sums, dist.ReduceOp.SUM), (means.maxima, dist.ReduceOp.MAX)):
        if not values:
            continue
        names = sorted(values)
        flat = torch.stack([values[name].reshape(()) for name in names])
        dist.all_reduce(flat, op=reduce)
        if reduce == dist.ReduceOp.SUM:
            flat /= dist.get_world_size()
        values.update(zip(names, flat.unbind()))


def _first_stop_request(requested: signal.Signals | None, group: dist.ProcessGroup | None
                        ) -> signal.Signals | None:
    """The stop request of any rank (SIGTERM over SIGINT), the same on every rank: one
    all-reduce of one number per generator step."""
    number = torch.tensor([0 if requested is None else int(requested)])
    dist.all_reduce(number, op=dist.ReduceOp.MAX, group=group)
    agreed = int(number)
    return signal.Signals(agreed) if agreed else None


def _rank_seed(seed: int, rank: int, step: int) -> int:
    """The seed of a rank's z and ε streams at a generator step: independent across ranks and
    steps, and a function of the checkpoint alone, so that resuming changes nothing."""
    digest = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
