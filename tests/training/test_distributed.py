"""Data-parallel training: two processes on CPU with gloo (torch.multiprocessing spawn)."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing
from safetensors.torch import load_file
from torch import nn

import wgan_kit
from wgan_kit import WganKitError
from wgan_kit.training import distributed

from stop_requests import StopRequestAt

PER_RANK = 8  # samples per rank and step; the global batch is twice that
TIMINGS = {"gen_steps_per_s", "train_seconds"}  # clocks: they differ between processes


class ShardedPoints:
    """Batches that split over ranks exactly: the batch of k·PER_RANK points from seed s is the
    k batches of PER_RANK points from seeds s, s+1, ... one after another. Rank r draws from seed
    s + r, so one process on the global batch sees what the two ranks see together."""

    spec = wgan_kit.SampleSpec(shape=(2,), kind="points")

    def batches(self, batch_size, *, seed, device, skip=0):
        for i in itertools.count(skip):
            yield torch.cat([torch.randn(PER_RANK, 2, generator=torch.Generator().manual_seed(
                (seed + part) * 100_003 + i)) for part in range(batch_size // PER_RANK)])

    def held_out(self, n, *, device):
        return torch.zeros(n, 2, device=device)

    def decode(self, batch):
        return batch.cpu()


class ConstantInputGenerator(nn.Module):
    """Ignores z, so that the ranks' own latent streams do not change what is computed."""

    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, z):
        return self.net(torch.ones_like(z))


def deep_linear_critic() -> nn.Module:
    """Its gradient in x is the same at every interpolate, so the ranks' own ε do not matter,
    while the penalty depends on the weights through a product of three matrices: its double
    backward still has all the layers to reduce. Hidden biases would get exactly zero gradient
    from one process and rounding noise from two, which Adam would blow up to ±lr."""
    return nn.Sequential(nn.Linear(2, 16, bias=False), nn.Linear(16, 16, bias=False),
                         nn.Linear(16, 1))


def make_trainer(kind: str, batch_size: int):
    torch.manual_seed(0)
    if kind == "builtin":
        return wgan_kit.compose(steps=3, batch_size=batch_size, n_critic=2, seed=0,
                                options={"gen.hidden": 16, "critic.hidden": 16})
    return wgan_kit.compose(gen=ConstantInputGenerator(), critic=deep_linear_critic(),
                            data=ShardedPoints(), steps=3, batch_size=batch_size, n_critic=2,
                            lr=1e-2, seed=0)


def weights(trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for net in (trainer.generator, trainer.critic)
            for p in net.parameters()]


def train_rank(index: int, port: int, folder: str) -> None:
    """One rank: the same calls `wgan-kit run` makes under torchrun."""
    import faulthandler
    import os

    faulthandler.enable(all_threads=True)  # should a rank abort in C++, show where it was

    os.environ.update(distributed.launch_environment(index, 2, port))
    torch.set_num_threads(1)
    rank = distributed.from_environment()
    distributed.join(rank, "cpu")
    finished = False
    try:
        with pytest.raises(WganKitError, match="run.batch_size: 15 does not split evenly over 2 "
                                                "processes; use a multiple of 2"):
            distributed.shard(make_trainer("builtin", 15), rank)
        for kind in ("builtin", "sharded"):
            trainer = make_trainer(kind, 2 * PER_RANK)
            trainer.launch_as(folder=None, parallel=distributed.shard(trainer, rank))
            assert trainer.batch_size == PER_RANK
            metrics = trainer.fit()
            torch.save(weights(trainer), f"{folder}/{kind}-{index}.pt")
            torch.save(metrics, f"{folder}/{kind}-metrics-{index}.pt")
        finished = True
    finally:
        distributed.leave(finished=finished)


def stop_one_rank(index: int, port: int, folder: str) -> None:
    """Rank 1 alone is asked to stop after step 2; both ranks should stop after step 3."""
    import os

    os.environ.update(distributed.launch_environment(index, 2, port))
    torch.set_num_threads(1)
    rank = distributed.from_environment()
    distributed.join(rank, "cpu")
    try:
        trainer = make_trainer("builtin", 2 * PER_RANK)
        trainer.change_run(steps=10)
        trainer.launch_as(folder=None, parallel=distributed.shard(trainer, rank))
        trainer.fit(StopRequestAt(trainer, 2) if index == 1 else None)
        Path(folder, f"stopped-{index}").write_text(f"{trainer.step} {trainer.stop_requested}")
    finally:
        distributed.leave(finished=False)


def test_a_stop_request_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    torch.multiprocessing.start_processes(stop_one_rank, args=(distributed.free_port(),
                                                               str(tmp_path)),
                                          nprocs=2, start_method="spawn")
    assert [(tmp_path / f"stopped-{i}").read_text() for i in range(2)] == [
        f"3 {signal.SIGTERM}"] * 2


def test_two_ranks_hold_identical_weights_equal_to_one_process_on_the_global_batch(tmp_path):
    """Also checks, inside the ranks, that a batch which does not split evenly is refused."""
    torch.multiprocessing.start_processes(train_rank, args=(distributed.free_port(),
                                                            str(tmp_path)),
                                          nprocs=2, start_method="spawn")
    for kind in ("builtin", "sharded"):
        rank0, rank1 = (torch.load(tmp_path / f"{kind}-{i}.pt") for i in range(2))
        assert all(torch.equal(a, b) for a, b in zip(rank0, rank1, strict=True)), kind
    single = make_trainer("sharded", 2 * PER_RANK)
    single_metrics = single.train()
    # Averaging two half-batch means differs from one full-batch mean only in rounding.
    rank0 = torch.load(tmp_path / "sharded-0.pt")
    for a, b in zip(rank0, weights(single), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    # Both ranks log the global batch's metrics: those of one process on it.
    metrics = [{k: v for k, v in torch.load(tmp_path / f"sharded-metrics-{i}.pt").items()
                if k not in TIMINGS} for i in range(2)]
    assert metrics[0] == metrics[1]
    averaged = metrics[0]
    assert averaged.keys() == single_metrics.keys() - TIMINGS
    assert "grad_norm_max" in averaged
    for name, value in averaged.items():
        assert value == pytest.approx(single_metrics[name], rel=1e-5, abs=1e-6), name
    assert not torch.equal(rank0[0], weights(make_trainer("sharded", 2 * PER_RANK))[0])  # trained


def test_run_with_nproc_writes_one_run_folder_and_resumes_exactly(tmp_path):
    out, unbroken = tmp_path / "run", tmp_path / "unbroken"
    tiny = ["--batch-size", "16", "--set", "gen.hidden=16", "--set", "critic.hidden=16",
            "--set", "run.log_every=2", "--quiet"]
    command = [sys.executable, "-m", "wgan_kit", "run", "--nproc", "2"]
    first = subprocess.run([*command, *tiny, "--steps", "2", "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("step 2/2") == 1  # rank 0 alone reports
    resumed = subprocess.run([*command, "--resume", str(out), "--steps", "4", "--quiet"],
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step-00000002.safetensors", "step-00000004.safetensors"]
    whole = subprocess.run([*command, *tiny, "--steps", "4", "--out", str(unbroken)],
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    last = "checkpoints/step-00000004.safetensors"
    resumed_weights, unbroken_weights = (load_file(folder / last) for folder in (out, unbroken))
    assert resumed_weights.keys() == unbroken_weights.keys()
    assert all(torch.equal(resumed_weights[k], unbroken_weights[k]) for k in resumed_weights)


def test_run_with_nproc_scores_while_it_trains_on_the_first_rank_alone(tmp_path):
    # Step 3 is scored but not otherwise logged: every rank logs it (a collective), the first
    # scores it; a rank that skipped it would leave the others waiting.
    out = tmp_path / "run"
    ran = subprocess.run([sys.executable, "-m", "wgan_kit", "run", "--nproc", "2",
                          "--batch-size", "16", "--set", "gen.hidden=16", "--set",
                          "critic.hidden=16", "--set", "run.log_every=2", "--set",
                          "run.eval_every=3", "--set", "run.eval_samples=100", "--steps", "4",
                          "--quiet", "--out", str(out)], capture_output=True, text=True,
                         timeout=600)
    assert ran.returncode == 0, ran.stderr
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(line["step"], "eval_w1" in line) for line in lines] == [
        (2, False), (3, True), (4, True)]
    assert (out / "best.safetensors").is_file()


def test_run_with_nproc_refuses_what_every_rank_would_refuse_once_before_starting_them(tmp_path):
    out = tmp_path / "run"
    refused = subprocess.run([sys.executable, "-m", "wgan_kit", "run", "--nproc", "2",
                              "--batch-size", "15", "--out", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "error: run.batch_size: 15 does not split evenly over 2 processes; use a multiple of 2"]
    assert not out.exists()


def test_torchrun_launches_the_same_run(tmp_path):
    """The README's `torchrun -m wgan_kit run`, through torch's own launcher."""
    out = tmp_path / "run"
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "wgan_kit", "run", "--steps", "2", "--batch-size", "16", "--set", "gen.hidden=16",
         "--set", "critic.hidden=16", "--set", "run.log_every=1", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert launched.returncode == 0, launched.stderr
    assert launched.stderr.count("step 2/2") == 1  # rank 0 alone reports
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    assert (out / "checkpoints" / "step-00000002.safetensors").exists()
