"""The preflight: each check passes on a sound part and fails (or warns) on the mistake it exists
to catch, shown with tiny parts built here."""

from __future__ import annotations

import itertools
import json
import math
import types
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.autograd.function import once_differentiable
from typer.testing import CliRunner

import wgan_kit
from wgan_kit import Check, Registry, SampleSpec, hookimpl
from wgan_kit.builtins.gradient_penalty import GradientPenalty
from wgan_kit.builtins.weight_clipping import WeightClipping
from wgan_kit.cli import app
from wgan_kit.training.preflight import (
    check_device,
    check_double_backward,
    check_first_steps,
    check_memory,
    check_penalty_norm,
    check_sample_independence,
    check_shapes,
    check_value_range,
    run_preflight,
)

IMAGES = SampleSpec(shape=(1, 3, 4), kind="image", value_range=(0.0, 1.0))


class UnitImages:
    """Tiny images with values in [0, 1]; batch i depends only on (seed, i)."""

    spec = IMAGES

    def batches(self, batch_size, *, seed, device, skip=0):
        for i in itertools.count(skip):
            generator = torch.Generator().manual_seed(seed * 1000 + i)
            yield torch.rand(batch_size, *self.spec.shape, generator=generator).to(device)

    def held_out(self, n, *, device):
        generator = torch.Generator().manual_seed(9)
        return torch.rand(n, *self.spec.shape, generator=generator).to(device)

    def decode(self, batch):
        return batch.cpu()


class ImageGenerator(nn.Module):
    latent_dim = 4

    def __init__(self, output: nn.Module, shape=IMAGES.shape):
        super().__init__()
        self.shape = shape
        self.net = nn.Sequential(nn.Linear(4, math.prod(shape)), output)

    def forward(self, z):
        return self.net(z).view(-1, *self.shape)


class OnceDifferentiableSquare(torch.autograd.Function):
    """x², whose backward cannot itself be differentiated (as some fused kernels)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class Square(nn.Module):
    def forward(self, x):
        return OnceDifferentiableSquare.apply(x)


class MinibatchStddev(nn.Module):
    """Appends the batch's mean standard deviation as a feature (ProGAN): a custom coupling."""

    def forward(self, x):
        spread = x.std(dim=0).mean().expand(len(x), 1)
        return torch.cat([x, spread], dim=1)


def critic(*middle: nn.Module, width: int = 16, extra: int = 0) -> nn.Module:
    d = math.prod(IMAGES.shape)
    return nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("hidden", nn.Linear(d, width)),
                                      *((type(m).__name__.lower(), m) for m in middle),
                                      ("relu", nn.ReLU()), ("score", nn.Linear(width + extra, 1))]))


class OneAxisPenalty(GradientPenalty):
    """A mistaken gradient penalty that takes the norm over the last axis only."""

    def penalty(self, critic, real, fake):
        x = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        norm = gradient.norm(dim=-1)
        return wgan_kit.Penalty(self.weight * (norm - 1).square().mean(), norm.detach())


class WholeBatchPenalty(GradientPenalty):
    """A mistaken gradient penalty that takes one norm over the whole batch."""

    def penalty(self, critic, real, fake):
        x = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        norm = gradient.norm().expand(len(x))
        return wgan_kit.Penalty(self.weight * (norm - 1).square().mean(), norm.detach())


@pytest.fixture
def batch():
    return next(UnitImages().batches(8, seed=0, device=torch.device("cpu")))


# 1. Per-sample independence -------------------------------------------------------------------

def test_a_per_sample_critic_is_independent_even_with_dropout(batch):
    result = check_sample_independence(critic(nn.Dropout(0.5)), GradientPenalty(), batch)
    assert result.status == "pass", result


def test_batch_norm_under_a_gradient_penalty_fails_with_the_papers_reason(batch):
    result = check_sample_independence(critic(nn.BatchNorm1d(16)), GradientPenalty(), batch)
    assert result.status == "fail"
    assert "batch norm at batchnorm1d" in result.measured
    assert "WGAN-GP Section 4" in result.advice and "critic.norm=layer" in result.advice


def test_custom_batch_coupling_fails_too(batch):
    result = check_sample_independence(critic(MinibatchStddev(), extra=1), GradientPenalty(), batch)
    assert result.status == "fail" and "batch norm" not in result.measured


def test_batch_coupling_without_a_gradient_penalty_is_only_a_warning(batch):
    result = check_sample_independence(critic(nn.BatchNorm1d(16)), WeightClipping(), batch)
    assert result.status == "warn" and "WGAN-GP Section 4" in result.advice


# 2. Double backward -----------------------------------------------------------------------------

def test_double_backward_passes_for_ordinary_ops(batch):
    assert check_double_backward(critic(), GradientPenalty(), batch).status == "pass"


def test_an_op_without_second_derivative_fails_under_a_penalty_naming_its_module(batch):
    result = check_double_backward(critic(Square()), GradientPenalty(), batch)
    assert result.status == "fail"
    assert result.measured.startswith("in square: ") and "once_differentiable" in result.measured
    assert result.advice.startswith("critic: square has no second derivative on cpu")


def test_double_backward_is_not_needed_without_a_penalty(batch):
    result = check_double_backward(critic(Square()), WeightClipping(), batch)
    assert result.status == "pass" and "not needed" in result.measured


class NoCreateGraph(GradientPenalty):
    """∇D taken without create_graph; the value keeps a graph (to its points), not to the critic."""

    def penalty(self, critic, real, fake):
        points = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(points).sum(), points)
        norm = gradient.flatten(1).norm(dim=1)
        return wgan_kit.Penalty((norm - 1).square().mean() + 0 * points.mean(), norm)


class OnACopy(GradientPenalty):
    """Differentiates a copy of the critic: the value has a graph, but not to these weights."""

    def penalty(self, critic, real, fake):
        import copy

        return super().penalty(copy.deepcopy(critic), real, fake)


@pytest.mark.parametrize("penalty", [NoCreateGraph(), OnACopy()], ids=type)
def test_double_backward_no_longer_passes_a_penalty_that_never_reaches_the_critic(batch, penalty):
    """`check` said "double backward: pass — gradient reaches the critic" beside "penalty norm:
    fail — never reaches the critic's weights": both now say what was measured."""
    double_backward = check_double_backward(critic(), penalty, batch)
    assert double_backward.status == "fail", double_backward
    assert "never reaches the critic's weights" in double_backward.measured
    assert "create_graph=True" in double_backward.advice
    assert "never reaches" in check_penalty_norm(critic(), penalty, batch).measured


# 3. Penalty norm ---------------------------------------------------------------------------------

def test_the_gradient_penalty_norm_is_per_sample_over_all_axes(batch):
    result = check_penalty_norm(critic(), GradientPenalty(), batch)
    assert result.status == "pass", result


@pytest.mark.parametrize("penalty, measured", [
    (OneAxisPenalty(), "grad_norm of shape (8, 1, 3) for 8 samples"),
    (WholeBatchPenalty(), "largest relative difference"),
])
def test_a_norm_over_the_wrong_axes_fails(batch, penalty, measured):
    result = check_penalty_norm(critic(), penalty, batch)
    assert result.status == "fail" and measured in result.measured
    assert "flatten(1).norm(dim=1)" in result.advice


# 4. Shapes and ranges ----------------------------------------------------------------------------

def test_matching_shapes_pass_and_a_mis_sized_generator_fails(batch):
    latent = torch.randn(8, 4)
    assert check_shapes(ImageGenerator(nn.Sigmoid()), critic(), IMAGES, batch, latent).status == \
        "pass"
    wrong = check_shapes(ImageGenerator(nn.Sigmoid(), shape=(3, 4)), critic(), IMAGES, batch,
                         latent)
    assert wrong.status == "fail" and wrong.measured == "generated (8, 3, 4), real (8, 1, 3, 4)"
    assert wrong.advice.startswith("gen: its output does not have the data's shape")


def test_a_critic_with_several_scores_per_sample_fails(batch):
    many = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    result = check_shapes(ImageGenerator(nn.Sigmoid()), many, IMAGES, batch, torch.randn(8, 4))
    assert result.status == "fail" and "one score per sample" in result.advice


def test_tanh_output_for_data_in_0_1_is_a_warning_and_sigmoid_passes(batch):
    latent = torch.randn(8, 4)
    tanh = check_value_range(ImageGenerator(nn.Tanh()), IMAGES, batch, latent)
    assert tanh.status == "warn" and "data [0, 1]" in tanh.measured and "sigmoid" in tanh.advice
    assert check_value_range(ImageGenerator(nn.Sigmoid()), IMAGES, batch, latent).status == "pass"


def test_non_finite_data_fails(batch):
    batch[3, 0, 1, 2] = float("nan")
    result = check_value_range(ImageGenerator(nn.Sigmoid()), IMAGES, batch, torch.randn(8, 4))
    assert result.status == "fail" and result.advice.startswith("data: holds non-finite values")


# 5. First steps ----------------------------------------------------------------------------------

def image_trainer(registry, **run):
    return wgan_kit.compose(gen=ImageGenerator(nn.Sigmoid()), critic=critic(), data=UnitImages(),
                            registry=registry, batch_size=8, **run)


def test_sane_first_steps_pass(registry, batch):
    result = check_first_steps(image_trainer(registry), batch, torch.randn(8, 4))
    assert result.status == "pass" and "in 10 critic steps" in result.measured


def test_an_exploding_critic_loss_fails_with_advice(registry, batch):
    result = check_first_steps(image_trainer(registry, lr=10.0), batch, torch.randn(8, 4))
    assert result.status == "fail"
    assert result.advice.startswith("the critic's loss explodes in its first steps: lower run.lr "
                                    "(now 10)")


def test_non_finite_first_steps_fail(registry, batch):
    class ImagesWithNaN(UnitImages):
        def batches(self, batch_size, *, seed, device, skip=0):
            for real in super().batches(batch_size, seed=seed, device=device, skip=skip):
                yield real.fill_(float("nan"))

    trainer = wgan_kit.compose(gen=ImageGenerator(nn.Sigmoid()), critic=critic(),
                               data=ImagesWithNaN(), registry=registry, batch_size=8)
    result = check_first_steps(trainer, batch, torch.randn(8, 4))
    assert result.status == "fail" and "non-finite" in result.measured
    assert "lower run.lr" in result.advice


def test_the_preflight_leaves_the_run_exactly_as_it_was(tiny_trainer):
    checked, unchecked = tiny_trainer(seed=1, steps=2), tiny_trainer(seed=1, steps=2)
    report = run_preflight(checked)
    assert [c.status for c in report.checks] == ["pass"] * 8, report.checks
    assert checked.step == 0 and not checked.generator_optimizer.state
    checked.train(), unchecked.train()
    for a, b in zip(checked.generator.state_dict().values(),
                    unchecked.generator.state_dict().values()):
        assert torch.equal(a, b)


# 6. Device and memory ----------------------------------------------------------------------------

def test_the_cpu_passes_and_a_missing_cuda_device_fails():
    assert check_device(torch.device("cpu")).status == "pass"
    missing = check_device(torch.device("cuda:63"))
    assert missing.status == "fail" and "use --device cpu or auto" in missing.advice


def test_memory_is_estimated_only_on_cuda(batch):
    result = check_memory(critic(), GradientPenalty(), batch, 64)
    assert result.status == "pass" and result.measured == "not estimated on cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_batch_too_large_for_the_gpu_is_a_warning(batch):
    result = check_memory(critic(width=4096).cuda(), GradientPenalty(), batch.cuda(), 1 << 24)
    assert result.status == "warn" and "will likely not fit" in result.advice


# 7. Plugin checks --------------------------------------------------------------------------------

def plugin(name, hook):
    module = types.ModuleType(name)
    module.preflight_checks = hookimpl(hook)
    return module


def test_preflight_checks_of_plugins_are_run_and_a_broken_one_only_warns(tiny_trainer):
    registry = Registry(strict=True)
    registry.load_module(plugin("wgan_kit_widths", lambda trainer: [
        Check("critic width", "fail", f"{trainer.critic.net[1].out_features} units",
              "critic.hidden: use at least 64")]), package="test")
    registry.load_module(plugin("wgan_kit_broken", lambda trainer: 1 / 0), package="broken")
    checks = {c.name: c for c in run_preflight(tiny_trainer(), registry).checks}
    assert checks["critic width"] == Check("critic width", "fail", "32 units",
                                           "critic.hidden: use at least 64")
    broken = checks["plugin broken:wgan_kit_broken"]
    assert broken.status == "warn" and broken.measured == "ZeroDivisionError: division by zero"


# The command line ---------------------------------------------------------------------------------

TINY = ["--batch-size", "16", "--set", "gen.hidden=16", "--set", "critic.hidden=16"]
runner = CliRunner()


def test_check_prints_json_for_scripts():
    result = runner.invoke(app, ["check", *TINY, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [c["name"] for c in report["checks"]] == [
        "device", "shapes", "memory", "value range", "sample independence", "double backward",
        "penalty norm", "first steps"]
    assert {c["status"] for c in report["checks"]} == {"pass"} and report["seconds"] > 0
    failing = runner.invoke(app, ["check", *TINY, "--json", "--set", "run.lr=10"])
    assert failing.exit_code == 1  # a failed check, as opposed to 2 for bad flags
    assert json.loads(failing.output)["checks"][-1]["status"] == "fail"


def test_check_refuses_a_batch_norm_critic_under_the_gradient_penalty_with_the_papers_reason():
    result = runner.invoke(app, ["check", *TINY, "--set", "critic.norm=batch"])
    assert result.exit_code == 1  # the run would be refused, as the README says; bad flags: 2
    assert runner.invoke(app, ["check", "--set", "critic.nope=1"]).exit_code == 2
    assert "WGAN-GP Section 4, 'No critic batch normalization'" in result.output
    assert "critic.norm=layer" in result.output
    table = runner.invoke(app, ["check", *TINY, "--set", "critic.norm=batch", "--constraint",
                                "clip"])
    assert table.exit_code == 0 and "sample independence │ warn" in table.output


def test_run_refuses_a_failing_check_and_writes_nothing(tmp_path):
    result = runner.invoke(app, ["run", *TINY, "--set", "run.lr=10", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert "error: preflight first steps (critic loss + penalty" in result.output
    assert "lower run.lr (now 10)" in result.output
    assert not (tmp_path / "x").exists()


def test_run_records_the_preflight_and_no_preflight_skips_it(tmp_path):
    result = runner.invoke(app, ["run", *TINY, "--steps", "1", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "preflight: 8 checks, 0 failed, 0 warned, in " in result.output
    recorded = json.loads((tmp_path / "a" / "preflight.json").read_text())
    assert len(recorded["checks"]) == 8 and recorded["seconds"] > 0
    skipped = runner.invoke(app, ["run", *TINY, "--steps", "1", "--out", str(tmp_path / "b"),
                                  "--no-preflight"])
    assert skipped.exit_code == 0, skipped.output
    assert "preflight: skipped" in skipped.output
    assert not (tmp_path / "b" / "preflight.json").exists()
