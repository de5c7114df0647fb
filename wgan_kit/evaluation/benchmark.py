"""Measuring a composition's training speed: `wgan-kit bench` (`bench_composition`) and
`benchmarks/compare.py`.

The trainer runs on `SyntheticData`, one fixed random batch of the real source's shape, so that
the figures are those of the nets and the loop, not of loading data; `measure` times generator
steps after a warm-up (which absorbs one-off costs: allocator growth, cuDNN's kernel search,
torch.compile).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from ..training.composition import Trainer
from ..core.protocols import SampleSpec
from ..training.composition import build

if TYPE_CHECKING:
    from ..core.config import RunConfig


class SyntheticData:
    """A data source of `spec`'s shape that serves one fixed random batch forever."""

    def __init__(self, spec: SampleSpec) -> None:
        self.spec = spec

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        batch = synthetic_batch(self.spec, batch_size, seed=seed, device=device)
        while True:
            yield batch

    def labelled_batches(self, batch_size: int, *, seed: int, device: torch.device,
                         skip: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The same batch with fixed random labels, for conditional runs."""
        generator = torch.Generator().manual_seed(seed)
        labels = torch.randint(self.spec.num_classes or 1, (batch_size,), generator=generator)
        for batch in self.batches(batch_size, seed=seed, device=device):
            yield batch, labels.to(device)

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return synthetic_batch(self.spec, n, seed=1, device=device)

    def decode(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.detach().float().cpu()


def synthetic_batch(spec: SampleSpec, n: int, *, seed: int, device: torch.device) -> torch.Tensor:
    """n random samples of `spec`: one-hot rows for sequences, uniform values otherwise."""
    generator = torch.Generator().manual_seed(seed)
    if spec.kind == "sequence":
        symbols = torch.randint(spec.shape[-1], (n, *spec.shape[:-1]), generator=generator)
        batch = torch.nn.functional.one_hot(symbols, spec.shape[-1]).float()
    else:
        low, high = spec.value_range or (-1.0, 1.0)
        batch = low + (high - low) * torch.rand((n, *spec.shape), generator=generator)
    return batch.to(device)


def measure(trainer: Trainer, *, gen_steps: int, warmup: int) -> dict[str, Any]:
    """Train `warmup` generator steps, then time `gen_steps` more; speed, memory and sizes."""
    run = trainer.run
    trainer.change_run(log_every=10**9)
    if warmup:
        trainer.change_run(steps=trainer.step + warmup)
        trainer.train()
    if trainer.device.type == "cuda":
        torch.cuda.synchronize(trainer.device)
        torch.cuda.reset_peak_memory_stats(trainer.device)
    trainer.change_run(steps=trainer.step + gen_steps)
    start = time.perf_counter()
    trainer.train()  # its last step logs, which waits for the device to finish
    seconds = time.perf_counter() - start
    trainer.change_run(log_every=run.log_every)
    gen_steps_per_s = gen_steps / seconds
    return {
        "gen_steps_per_s": round(gen_steps_per_s, 3),
        "critic_steps_per_s": round(gen_steps_per_s * run.n_critic, 3),
        "peak_mem_mb": round(peak_memory_mb(trainer.device), 1),
        "peak_mem_kind": ("CUDA memory allocated" if trainer.device.type == "cuda"
                          else "process peak resident set"),
        "params_gen": sum(p.numel() for p in trainer.generator.parameters()),
        "params_critic": sum(p.numel() for p in trainer.critic.parameters()),
        "device": str(trainer.device),
        "precision": trainer.acceleration.precision,
        "threads": torch.get_num_threads(),
        "batch_size": run.batch_size,
        "n_critic": run.n_critic,
        "gen_steps": gen_steps,
        "warmup": warmup,
        "seconds": round(seconds, 3),
        "fuse_critic": trainer.acceleration.fuse_critic,
        "lean_double_backward": run.lean_double_backward,
        "fused_optimizer": bool(trainer.critic_optimizer.defaults.get("fused")),
        "channels_last": trainer.acceleration.channels_last,
        "compile": run.compile,
        "torch": torch.__version__,
        **machine(),
    }


def machine() -> dict[str, Any]:
    """What a speed figure depends on besides the code: the CPU, the instructions torch's kernels
    use on it, torch's threads and their waiting policy, and how busy the machine was."""
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").open()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "thread_policy": {key: os.environ.get(key, "unset")
                              for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")},
            "load_average": round(os.getloadavg()[0], 2)}


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def bench_composition(config: RunConfig, *, gen_steps: int = 20, warmup: int = 3
                      ) -> dict[str, Any]:
    """Time generator steps of the run `config` chooses, built as `run` would build it but on
    `SyntheticData` of its data source's shape (so data loading is not measured); writes nothing.
    The parts' names, then `measure`'s figures. `config` as `resolve_config` gives it, e.g.
    `resolve_config(load_registry(), names={"constraint": "clip"}, run={"batch_size": 64})`."""
    source = config.parts["data"]
    synthetic = SyntheticData(source.component.factory(source.options).spec)
    trainer = build(config, {"data": synthetic})
    return {"gen": config.name_of("gen"), "critic": config.name_of("critic"),
            "constraint": config.name_of("constraint"),
            "data": f"synthetic, shaped as {source.component.name}",
            **measure(trainer, gen_steps=gen_steps, warmup=warmup)}
