"""Each speed switch computes what the plain loop computes (tiny nets, CPU, a few steps)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import wgan_kit
from wgan_kit.core.engine.acceleration import (PenaltyPass, faulty_channels_last_layers,
                                            native_precision)
from wgan_kit.core.engine.double_backward import LeanDoubleBackward
from wgan_kit.builtins.consistency_term import ConsistencyTerm
from wgan_kit.builtins.gradient_penalty import GradientPenalty

PLAIN = {"fuse_critic": False, "lean_double_backward": False, "fused_optimizer": False,
         "channels_last": False,
         "precision": "fp32", "compile": False}


def weights(trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for net in (trainer.generator, trainer.critic)
            for p in net.parameters()]


def gradients(net: nn.Module) -> list[torch.Tensor]:
    """Each parameter's gradient, zeros where none arrived (torch gives some a zero tensor where
    the lean double backward, or an unused bias, gives none)."""
    return [torch.zeros_like(p) if p.grad is None else p.grad for p in net.parameters()]


def assert_same_training(fast, plain, *, atol: float, rtol: float = 0.0) -> None:
    fast.train(), plain.train()
    for a, b in zip(weights(fast), weights(plain), strict=True):
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol)


def test_one_critic_forward_over_real_and_fake_trains_as_two(tiny_trainer):
    fused = tiny_trainer(**{**PLAIN, "fuse_critic": True}, seed=1)
    assert fused.acceleration.fuse_critic
    assert_same_training(fused, tiny_trainer(**PLAIN, seed=1), atol=1e-5)


def test_a_batch_norm_critic_keeps_separate_real_and_fake_passes(tiny_trainer):
    trainer = tiny_trainer(constraint="clip", options={"critic.norm": "batch"})
    assert not trainer.acceleration.fuse_critic


class Activations(nn.Module):
    """A critic calling ReLU and leaky ReLU in every way a net might."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in [(3, 8), (8, 8), (8, 8), (8, 8),
                                                                  (8, 8), (8, 8), (8, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, *middle, last = self.layers
        activations = [nn.ReLU(), nn.LeakyReLU(0.2), torch.relu, torch.Tensor.relu,
                       lambda h: F.leaky_relu(h, 0.1), nn.ReLU(inplace=True)]
        x = first(x)
        for layer, activation in zip(middle, activations):
            x = layer(activation(x))
        return last(x)


def test_lean_activations_change_no_number_and_stop_the_double_backward_early():
    torch.manual_seed(0)
    critic = Activations()
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    results = []
    for skip in (False, True):
        arrivals = []  # gradients reaching the first layer's output

        def watch(module, inputs, output, arrivals=arrivals):
            output.register_hook(arrivals.append)

        handle = critic.layers[0].register_forward_hook(watch)
        torch.manual_seed(1)  # the same ε
        penalty = GradientPenalty().penalty(
            PenaltyPass(critic, contextlib.nullcontext, None, lean_double_backward=skip),
            real, fake)
        handle.remove()
        arrivals.clear()  # those of the penalty's inner gradient; keep the double backward's
        critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append((penalty.value, penalty.grad_norm, gradients(critic), arrivals))
    (value, norms, grads, plain_arrivals), (skip_value, skip_norms, skip_grads, arrivals) = results
    assert torch.equal(value, skip_value) and torch.equal(norms, skip_norms)
    assert all(map(torch.equal, grads, skip_grads))
    # torch carries an exact zero back through the interpolates' forward; the skip does not.
    assert plain_arrivals and all(not g.any() for g in plain_arrivals) and not arrivals


def test_lean_activations_train_bit_for_bit_as_torchs(tiny_trainer):
    lean = tiny_trainer(**{**PLAIN, "lean_double_backward": True}, seed=8,
                        options={"critic.nonlinearity": "leaky_relu"})
    assert_same_training(lean, tiny_trainer(**PLAIN, seed=8, options={
        "critic.nonlinearity": "leaky_relu"}), atol=0.0)


@pytest.mark.parametrize("dims, geometry", [
    (1, {"stride": 2, "padding": 1}),
    (2, {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
    (3, {"padding": 1}),
])
@pytest.mark.parametrize("bias", [True, False])
def test_lean_convolutions_have_torchs_first_and_second_derivatives(dims, geometry, bias):
    convolve = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    generator = torch.Generator().manual_seed(dims)
    x = torch.randn(2, 4, *[5] * dims, dtype=torch.float64, generator=generator)
    weight = torch.randn(6, 4 // geometry.get("groups", 1), *[3] * dims, dtype=torch.float64,
                         generator=generator)
    inputs = [x, weight, torch.randn(6, dtype=torch.float64, generator=generator)] if bias \
        else [x, weight]
    inputs = [t.requires_grad_() for t in inputs]

    def lean(*tensors):
        with LeanDoubleBackward():
            return convolve(*tensors, **geometry)

    assert torch.autograd.gradcheck(lean, inputs)
    assert torch.autograd.gradgradcheck(lean, inputs)
    torch.testing.assert_close(lean(*inputs), convolve(*inputs, **geometry), rtol=0, atol=0)


def test_the_penalty_inner_gradient_through_a_lean_convolution_skips_the_weights_gradient():
    conv = nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 6, 6, requires_grad=True)

    def backward_calls(*inputs: torch.Tensor) -> int:
        with LeanDoubleBackward():
            y = conv(x)
        with torch.profiler.profile() as profile:
            torch.autograd.grad(y.sum(), inputs, create_graph=True)
        return sum(e.count for e in profile.key_averages()
                   if e.key == "aten::convolution_backward")

    assert backward_calls(x) == 1  # the input's gradient alone
    assert backward_calls(x, conv.weight) == 2


def test_lean_versions_work_under_torch_func_transforms_as_a_penalty_plugin_might_use_them():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.LeakyReLU(0.2),
                           nn.Flatten(), nn.Linear(16, 1)).double()
    x = torch.randn(5, 3, 6, 6, dtype=torch.float64)

    def score(x: torch.Tensor, lean: bool) -> torch.Tensor:
        with LeanDoubleBackward() if lean else contextlib.nullcontext():
            return critic(x).sum()

    results = []
    for lean in (False, True):
        per_sample = torch.func.vmap(torch.func.grad(lambda xi: score(xi[None], lean)))(x)
        gradient = torch.func.grad(lambda x: score(x, lean))(x)
        critic.zero_grad(set_to_none=True)
        ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean().backward()
        results.append([per_sample, gradient, *gradients(critic)])
    for torchs, leans in zip(*results, strict=True):
        torch.testing.assert_close(leans, torchs, rtol=1e-12, atol=1e-12)


def test_lean_convolutions_train_as_torchs(registry):
    lean = image_trainer(registry, **{**PLAIN, "lean_double_backward": True})
    assert_same_training(lean, image_trainer(registry, **PLAIN), atol=1e-6)


def test_lean_convolutions_under_bf16_autocast_give_the_penalty_of_torchs(registry):
    trainer = image_trainer(registry, precision="bf16")
    real, fake = (torch.rand(8, 3, 8, 8, generator=torch.Generator().manual_seed(i))
                  for i in range(2))
    results = []
    for lean in (False, True):
        torch.manual_seed(1)  # the same ε
        penalty = GradientPenalty().penalty(PenaltyPass(
            trainer.critic, trainer.acceleration.autocast, None, lean_double_backward=lean),
            real, fake)
        trainer.critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append([penalty.value, *gradients(trainer.critic)])
    # bf16 keeps 8 significant bits, so neighbouring values are 2^-7 of a value apart at most,
    # and the two paths round in different places (the lean one's input gradient is a
    # convolution of its own). Allowed: two such spacings of each element, plus one rounding
    # (2^-8) of the tensor's largest for elements that cancel to near zero. On AVX2 kernels one
    # weight gradient of 0.036 differed by two spacings (4.9e-4).
    for torchs, leans in zip(*results, strict=True):
        torch.testing.assert_close(leans, torchs, rtol=2 * 2**-7,
                                   atol=2**-8 * torchs.abs().max().item())


def test_fused_adam_trains_as_torchs_default_adam(tiny_trainer):
    fused = tiny_trainer(**{**PLAIN, "fused_optimizer": True}, seed=2)
    assert fused.critic_optimizer.defaults["fused"] and fused.generator_optimizer.defaults["fused"]
    assert_same_training(fused, tiny_trainer(**PLAIN, seed=2), atol=1e-5)


def test_rmsprop_without_fused_kernels_keeps_torchs_default(tiny_trainer):
    trainer = tiny_trainer(constraint="clip", fused_optimizer=True)
    assert isinstance(trainer.critic_optimizer, torch.optim.RMSprop)
    assert not trainer.critic_optimizer.defaults.get("fused")


def test_all_switches_on_and_resumed_from_a_checkpoint_match_one_uninterrupted_run(
        tiny_trainer, tmp_path):
    """Fused Adam keeps its state on the device; a checkpoint must carry it exactly."""
    fast = {"fuse_critic": True, "fused_optimizer": True, "precision": "bf16"}
    whole = tiny_trainer(**fast, steps=4, seed=3)
    whole.train()
    first = tiny_trainer(**fast, steps=2, seed=3)
    first.train(out=tmp_path / "run")
    resumed = wgan_kit.resume(tmp_path / "run", steps=4)
    resumed.train()
    for a, b in zip(weights(whole), weights(resumed), strict=True):
        assert torch.equal(a, b)


def test_bf16_follows_fp32_with_fp32_losses_and_gradient_norms(tiny_trainer):
    bf16 = tiny_trainer(**{**PLAIN, "precision": "bf16"}, seed=4)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    penalty = GradientPenalty().penalty(bf16.acceleration.penalty_critic, real, fake)
    real_scores, fake_scores, _ = bf16.acceleration.critic_scores(real, fake)
    assert penalty.grad_norm.dtype == penalty.value.dtype == real_scores.dtype == torch.float32
    with bf16.acceleration.autocast():
        assert bf16.critic.net[1](real).dtype == torch.bfloat16  # the nets do run in bf16
    # bf16 keeps 8 bits of mantissa: a few steps stay within a few percent of fp32.
    assert_same_training(bf16, tiny_trainer(**PLAIN, seed=4), atol=2e-2, rtol=5e-2)


def test_auto_precision_is_bf16_exactly_where_the_cpu_has_native_bf16(tiny_trainer):
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    auto = tiny_trainer(precision="auto", device="cpu")
    assert auto.run.precision == "auto"  # the setting as given, kept for config.toml
    assert auto.acceleration.precision == ("bf16" if native else "fp32")
    with auto.acceleration.autocast():
        dtype = auto.critic.net[1](torch.randn(2, 2)).dtype
    assert dtype == (torch.bfloat16 if native else torch.float32)
    assert native_precision(torch.device("meta")) == "fp32"  # no bf16 claimed for other devices


def test_a_critic_step_casts_the_critics_weights_to_bf16_once_for_both_passes(tiny_trainer):
    trainer = tiny_trainer(precision="bf16")
    speed, hidden = trainer.acceleration, trainer.critic.net[3].weight  # 32×32, as net[5]
    real, fake = torch.randn(16, 2), torch.randn(16, 2)

    def weight_casts(shared: contextlib.AbstractContextManager) -> int:
        with torch.profiler.profile(record_shapes=True) as profile, shared:
            speed.critic_scores(real, fake)
            GradientPenalty().penalty(speed.penalty_critic, real, fake)
        return sum(event.count for event in profile.key_averages(group_by_input_shape=True)
                   if event.key == "aten::_to_copy" and event.input_shapes[:1] == [
                       list(hidden.shape)])

    # Two hidden layers of this shape: cast once per pass each, or once per step.
    assert weight_casts(contextlib.nullcontext()) == 4
    assert weight_casts(speed.casting_once()) == 2


def test_scaled_penalty_pass_gives_the_true_gradient_and_second_derivatives():
    """PyTorch's recipe for penalties under a gradient scaler: scale the outputs of
    autograd.grad, unscale before the norm. In fp32 it must change nothing at all."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    results = []
    for scaled in (critic, PenaltyPass(critic, contextlib.nullcontext, scaler)):
        torch.manual_seed(1)  # the same ε
        penalty = GradientPenalty().penalty(scaled, real, fake)
        critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append((penalty.grad_norm, gradients(critic)))
    (plain_norm, plain_grads), (scaled_norm, scaled_grads) = results
    torch.testing.assert_close(scaled_norm, plain_norm)
    for a, b in zip(scaled_grads, plain_grads):
        torch.testing.assert_close(a, b)


def test_a_penalty_built_from_scores_is_not_scaled_twice():
    """CT-GAN's consistency term uses scores as values: they come from the pass's plain `scores`,
    so its weight gradient under a scaler is the unscaled one, as for the gradient penalty."""
    torch.manual_seed(0)
    constraint = ConsistencyTerm()
    critic = constraint.prepare(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)))
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    results = []
    for scaled in (critic, PenaltyPass(critic, contextlib.nullcontext, scaler)):
        torch.manual_seed(1)  # the same ε and dropout masks
        penalty = constraint.penalty(scaled, real, fake)
        critic.zero_grad(set_to_none=True)
        penalty.value.backward()
        results.append(gradients(critic))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)


# fp16 training with its gradient scalers is CUDA's alone (refused elsewhere): test_cuda.py.


class TinyImageGenerator(nn.Module):
    latent_dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 3 * 8 * 8), nn.Unflatten(1, (3, 8, 8)),
                                 nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class TinyImages:
    spec = wgan_kit.SampleSpec(shape=(3, 8, 8), kind="image", value_range=(-1.0, 1.0))

    def batches(self, batch_size, *, seed, device, skip=0):
        i = skip
        while True:
            generator = torch.Generator().manual_seed(seed * 1000 + i)
            yield torch.rand(batch_size, 3, 8, 8, generator=generator).to(device) * 2 - 1
            i += 1

    def held_out(self, n, *, device):
        return torch.zeros(n, 3, 8, 8, device=device)

    def decode(self, batch):
        return batch.cpu()


def image_trainer(registry, **run):
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                           nn.Flatten(), nn.Linear(4 * 4 * 4, 1))
    return wgan_kit.compose(gen=TinyImageGenerator(), critic=critic, data=TinyImages(),
                            registry=registry, steps=3, batch_size=8, seed=6, **run)


def test_channels_last_image_batches_train_as_contiguous_ones(registry):
    fast = image_trainer(registry, **{**PLAIN, "channels_last": True})
    conv = fast.critic[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert_same_training(fast, image_trainer(registry, **PLAIN), atol=1e-5)


def test_compile_covers_the_plain_passes_and_leaves_the_penalty_pass_eager(tiny_trainer,
                                                                           monkeypatch):
    """aot_eager stands in for inductor (minutes of C++ compilation on two cores); it traces
    through AOTAutograd like inductor, which refuses a double backward, so a penalty pass routed
    through a compiled critic would fail here."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    torch._dynamo.reset()
    compiled = tiny_trainer(**{**PLAIN, "compile": True}, seed=7, steps=2)
    speed = compiled.acceleration
    assert isinstance(speed.critic, torch._dynamo.eval_frame.OptimizedModule)
    assert isinstance(speed.generator, torch._dynamo.eval_frame.OptimizedModule)
    assert speed.penalty_critic.critic is compiled.critic  # eager
    assert_same_training(compiled, tiny_trainer(**PLAIN, seed=7, steps=2), atol=1e-5)


@pytest.mark.parametrize("channels_in, stride, isa, faulty", [
    (4, 2, "AVX2", True), (2, 2, "AVX2", True), (7, 2, "AVX2", True),
    (1, 2, "AVX2", False), (8, 2, "AVX2", False), (4, 1, "AVX2", False),  # right on AVX2
    (4, 2, "AVX512", False),  # oneDNN's AVX-512 kernels get it right
])
def test_channels_last_is_refused_only_for_the_convolutions_avx2_kernels_get_wrong(
        channels_in, stride, isa, faulty):
    net = nn.Sequential(nn.Conv2d(3, channels_in, 3, padding=1),
                        nn.Conv2d(channels_in, 8, 1, stride=stride))
    assert faulty_channels_last_layers(net, isa) == (["1"] if faulty else [])


def test_a_deep_resnet_with_narrow_shortcuts_trains_on_avx2_kernels_as_the_user_ran_it():
    """On a CPU without AVX-512 the user's check hung for minutes (and the suite crashed in
    oneDNN's kernel); limiting oneDNN and torch to AVX2 reproduces that on any x86 CPU."""
    environment = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    done = subprocess.run(
        [shutil.which("wgan-kit"), "check", "--data", "mnist", "--set", "data.size=32",
         "--gen", "resnet", "--critic", "resnet", "--set", "gen.layout=deep", "--set",
         "critic.layout=deep", "--set", "gen.filters=4", "--set", "critic.filters=4"],
        capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "warning: run.channels_last: off for this run" in done.stderr
    assert "net.down1.shortcut" in done.stderr
