"""What only a GPU can show: CUDA's own code paths, each on tiny nets and a few steps.

Every test here is marked `cuda`: it skips where torch sees no GPU (tests/conftest.py), and
`pytest -m cuda` on a GPU machine runs exactly these (benchmarks/gpu_check.py runs them too).
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.distributed as dist
from torch import nn

import wgan_kit
from wgan_kit import WganKitError
from wgan_kit.training import distributed
from wgan_kit.core.engine.acceleration import PenaltyPass
from wgan_kit.builtins.gradient_penalty import GradientPenalty
from wgan_kit.builtins.streams import to_device
from wgan_kit.core.checkpoint import load
from wgan_kit.training.preflight import run_preflight

pytestmark = pytest.mark.cuda

CUDA = "cuda"


def gradients(net: nn.Module) -> torch.Tensor:
    """All of a net's gradients in one vector, zeros where none arrived (an unused bias)."""
    return torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).flatten()
                      for p in net.parameters()])


@pytest.fixture
def exact_fp32():
    """fp32 matmuls and convolutions without TF32 (a CUDA run turns it on for matmuls)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_a_cuda_run_turns_on_cudnn_benchmark_tf32_and_fused_adam(tiny_trainer):
    trainer = tiny_trainer(device=CUDA)
    assert trainer.device.type == "cuda" and next(trainer.critic.parameters()).is_cuda
    assert torch.backends.cudnn.benchmark and torch.backends.cuda.matmul.allow_tf32
    assert trainer.critic_optimizer.defaults.get("fused") is True
    assert trainer.generator_optimizer.defaults.get("fused") is True


def test_a_device_index_torch_does_not_see_is_refused(tiny_trainer):
    with pytest.raises(WganKitError, match="CUDA device"):
        tiny_trainer(device=f"cuda:{torch.cuda.device_count()}")


def test_fp16_with_the_scaler_trains_finite_steps(tiny_trainer):
    trainer = tiny_trainer(device=CUDA, precision="fp16", steps=10, log_every=1)
    assert set(trainer.acceleration.scalers) == {trainer.generator, trainer.critic}
    metrics = trainer.train()  # the loop refuses any non-finite logged value
    assert metrics["step"] == 10
    assert all(p.isfinite().all() for p in trainer.critic.parameters())
    assert all(s.get_scale() > 0 for s in trainer.acceleration.scalers.values())


def test_fp16_with_a_gradient_scaler_trains_close_to_fp32(tiny_trainer, exact_fp32):
    """Once a CPU test: fp16 is refused off CUDA now."""
    plain = {"fuse_critic": False, "lean_double_backward": False, "fused_optimizer": False,
             "channels_last": False, "compile": False, "device": CUDA}
    fp16 = tiny_trainer(**plain, precision="fp16", seed=5)
    assert set(fp16.acceleration.scalers) == {fp16.generator, fp16.critic}
    metrics = fp16.train()
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    fp32 = tiny_trainer(**plain, precision="fp32", seed=5)
    fp32.train()
    for net in ("generator", "critic"):
        for a, b in zip(getattr(fp16, net).parameters(), getattr(fp32, net).parameters(),
                        strict=True):
            torch.testing.assert_close(a, b, atol=2e-2, rtol=5e-2)


def test_an_fp16_run_resumes_exactly_with_its_gradient_scalers(tmp_path, tiny_trainer):
    settings = dict(device=CUDA, precision="fp16", steps=6, checkpoint_every=3, log_every=3)
    unbroken = tiny_trainer(**settings)
    unbroken.train(out=tmp_path / "unbroken")
    broken = tiny_trainer(**{**settings, "steps": 3})
    broken.train(out=tmp_path / "broken")
    saved = load(tmp_path / "broken" / "checkpoints" / "step-00000003.safetensors")[1]
    scalers = {net: broken.acceleration.scalers[getattr(broken, net)].state_dict()
               for net in ("generator", "critic")}
    assert saved["grad_scalers"] == scalers
    resumed = wgan_kit.resume(tmp_path / "broken", steps=6)
    assert {net: resumed.acceleration.scalers[getattr(resumed, net)].state_dict()
            for net in ("generator", "critic")} == scalers  # the scale it reached, not afresh
    resumed.train()
    for a, b in zip(resumed.critic.parameters(), unbroken.critic.parameters()):
        assert torch.equal(a, b)


def test_an_fp16_run_resumes_in_bf16_and_back_in_fp16(tmp_path, tiny_trainer):
    tiny_trainer(device=CUDA, precision="fp16", steps=2).train(out=tmp_path / "run")
    as_bf16 = wgan_kit.resume(tmp_path / "run", steps=4, precision="bf16")
    assert not as_bf16.acceleration.scalers  # the checkpoint's scalers are left aside
    assert as_bf16.train().finished
    assert "grad_scalers" not in load(tmp_path / "run" / "checkpoints" /
                                      "step-00000004.safetensors")[1]
    as_fp16 = wgan_kit.resume(tmp_path / "run", steps=6, precision="fp16")
    assert {s.get_scale() for s in as_fp16.acceleration.scalers.values()} == {2.0**16}  # afresh
    assert as_fp16.train().finished and as_fp16.step == 6


def test_the_scaled_fp16_penalty_pass_gives_the_fp32_penalty_and_gradients(exact_fp32):
    """PyTorch's AMP recipe for penalties, on the GPU: the scale flows through the fp16 passes
    and out again, so the penalty and its weight gradients are fp32's within fp16 rounding."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(3, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)).to(CUDA)
    real, fake = torch.randn(16, 3, device=CUDA), torch.randn(16, 3, device=CUDA)
    scaler = torch.amp.GradScaler(CUDA, init_scale=2.0**16)
    fp16 = lambda: torch.autocast(CUDA, dtype=torch.float16)  # noqa: E731
    results = []
    for scaled in (PenaltyPass(critic, contextlib.nullcontext, None),
                   PenaltyPass(critic, fp16, scaler)):
        torch.manual_seed(1)  # the same ε
        penalty = GradientPenalty().penalty(scaled, real, fake)
        critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append((penalty.value, gradients(critic)))
    (value, fp32_gradients), (fp16_value, fp16_gradients) = results
    torch.testing.assert_close(fp16_value, value, rtol=1e-2, atol=1e-3)
    torch.testing.assert_close(fp16_gradients, fp32_gradients, rtol=2e-2, atol=1e-3)


def test_bf16_autocast_keeps_scores_and_losses_fp32(tiny_trainer):
    trainer = tiny_trainer(device=CUDA, precision="bf16", steps=3, log_every=1)
    real = torch.randn(8, 2, device=CUDA)
    real_scores, fake_scores, _ = trainer.acceleration.critic_scores(real, real.flip(0))
    assert real_scores.dtype == fake_scores.dtype == torch.float32
    assert trainer.train()["step"] == 3


def test_the_lean_double_backward_on_cudnn_convolutions_equals_torchs(registry, exact_fp32):
    spec = wgan_kit.SampleSpec((3, 32, 32), "image", (-1.0, 1.0))
    critic = registry.get("critic", "dcgan").factory(
        registry.get("critic", "dcgan").options(filters=8), spec).to(CUDA)
    critic.to(memory_format=torch.channels_last)
    x = torch.rand(4, 3, 32, 32, device=CUDA).contiguous(memory_format=torch.channels_last)
    results = []
    for lean in (False, True):
        penalty = GradientPenalty().penalty(
            PenaltyPass(critic, contextlib.nullcontext, None, lean_double_backward=lean), x, x)
        critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append((penalty.value, gradients(critic)))
    (value, torchs_gradients), (lean_value, lean_gradients) = results
    torch.testing.assert_close(lean_value, value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(lean_gradients, torchs_gradients, rtol=1e-4, atol=1e-6)


def test_pinned_non_blocking_copies_arrive_intact():
    x = torch.randn(64, 3, 8, 8)
    moved = to_device(x, torch.device(CUDA))
    assert moved.is_cuda
    torch.testing.assert_close(moved.cpu(), x, rtol=0, atol=0)  # .cpu() waits for the copy


def test_a_data_sources_cuda_batches_are_its_cpu_batches(registry, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "images.safetensors"
    save_file({"x": torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8)}, str(path))
    component = registry.get("data", "tensors")
    data = component.factory(component.options(path=str(path)))
    on_cpu = data.batches(8, seed=3, device=torch.device("cpu"))
    on_cuda = data.batches(8, seed=3, device=torch.device(CUDA))
    for _ in range(6):  # past an epoch's end
        torch.testing.assert_close(next(on_cuda).cpu(), next(on_cpu), rtol=0, atol=0)


def test_a_cuda_checkpoint_saves_the_cuda_streams_resumes_exactly_and_loads_on_cpu(
        tmp_path, tiny_trainer):
    unbroken = tiny_trainer(device=CUDA, steps=6, checkpoint_every=3)
    unbroken.train(out=tmp_path / "unbroken")
    broken = tiny_trainer(device=CUDA, steps=3)
    broken.train(out=tmp_path / "broken")
    tensors, _ = broken.state()
    assert "rng.cuda.0" in tensors
    on_cpu = wgan_kit.resume(tmp_path / "broken", device="cpu")
    assert next(on_cpu.generator.parameters()).device.type == "cpu"
    for a, b in zip(on_cpu.generator.parameters(), broken.generator.parameters()):
        assert torch.equal(a, b.cpu())
    resumed = wgan_kit.resume(tmp_path / "broken", steps=6)
    resumed.train()
    for a, b in zip(resumed.critic.parameters(), unbroken.critic.parameters()):
        assert torch.equal(a, b)


def test_the_preflight_estimates_cuda_memory(tiny_trainer):
    memory = next(c for c in run_preflight(tiny_trainer(device=CUDA)).checks
                  if c.name == "memory")
    assert memory.status == "pass" and "GiB for batch 32" in memory.measured


def test_nccl_is_chosen_on_cuda_and_averages_gradients(monkeypatch):
    """A world of one process: enough to select NCCL, join, all-reduce and leave."""
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(distributed.free_port()))
    device = distributed.join(distributed.Rank(0, 1, 0), "cuda")
    try:
        assert device == "cuda:0" and dist.get_backend() == "nccl"
        net = nn.Linear(4, 2).to(device)
        net(torch.randn(8, 4, device=device)).sum().backward()
        before = [p.grad.clone() for p in net.parameters()]
        distributed.average_gradients(net)
        for a, b in zip(net.parameters(), before):
            assert torch.equal(a.grad, b)
    finally:
        distributed.leave(finished=True)
