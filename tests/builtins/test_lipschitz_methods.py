"""The Lipschitz methods after WGAN-GP (issue 20): each penalty equals its formula computed by hand,
trains with every objective it makes sense with, and meets the preflight and the conformance kit;
the broken penalties a plugin author might write are caught.

The hand computations use a critic whose input gradient has a closed form,
D(x) = v · (m ⊙ tanh(W x)) with m the dropout mask (all ones without dropout), so
∇ₓD = Wᵀ (v ⊙ m ⊙ (1 − tanh²(W x))): autograd is used only for the first-order gradient of that
explicit formula with respect to W and v, against the constraint's own double backward. Random
points are reproduced by drawing the same numbers in the same order from the same seed.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import wgan_kit
from wgan_kit import Component, NoOptions, Penalty, WganKitError
from wgan_kit.builtins.consistency_term import ConsistencyTerm
from wgan_kit.builtins.dragan import DraganPenalty
from wgan_kit.builtins.gradient_penalty import GradientPenalty
from wgan_kit.builtins.hinge import HingeObjective
from wgan_kit.builtins.max_gradient_penalty import MaxGradientPenalty
from wgan_kit.builtins.r1_r2 import ZeroCentredPenalty
from wgan_kit.builtins.wgan_div import WassersteinDivergence
from wgan_kit.training.preflight import check_double_backward, check_penalty_norm
from wgan_kit.testing import check_constraint

NEW_CONSTRAINTS = ("r1", "r2", "zero-gp", "dragan", "wgan-lp", "wgan-div", "ct", "max-gp")
OBJECTIVES = ("wgan", "gan", "lsgan", "hinge")
# Pairs that make no sense: the Wasserstein divergence is a term of the Wasserstein objective.
NONSENSE = {("wgan-div", "gan"), ("wgan-div", "lsgan"), ("wgan-div", "hinge")}
POINTS, IMAGES = (2,), (1, 3, 3)


class TanhCritic(nn.Module):
    """D(x) = v · tanh(W flatten(x)), no biases: an input gradient with a closed form."""

    def __init__(self, shape: tuple[int, ...], hidden: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden, bias=False),
                                 nn.Tanh(), nn.Linear(hidden, 1, bias=False))
        for weight in self.weights:  # steep enough that some gradient norms exceed 1
            nn.init.normal_(weight, std=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)

    @property
    def weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net[1].weight, self.net[3].weight  # W (h, d) and v (1, h)


def hand_gradient(critic: TanhCritic, x: torch.Tensor, mask: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """∇ₓD (N, d) = Wᵀ (v ⊙ m ⊙ (1 − tanh²(W x))), differentiable in W and v."""
    w, v = critic.weights
    v = v[0]
    hidden = torch.tanh(x.flatten(1) @ w.T)
    scale = v if mask is None else v * mask
    return (scale * (1 - hidden.square())) @ w


def hand_norm(critic: TanhCritic, x: torch.Tensor, mask: torch.Tensor | None = None
              ) -> torch.Tensor:
    return hand_gradient(critic, x, mask).norm(dim=1)


def batch(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(5, *shape, generator=torch.Generator().manual_seed(seed))


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    epsilon = torch.rand(len(real)).reshape(-1, *[1] * (real.dim() - 1))
    return epsilon * real + (1 - epsilon) * fake


def hand_values(name: str, critic: TanhCritic, real: torch.Tensor, fake: torch.Tensor
                ) -> torch.Tensor:
    """Each constraint's value from its paper's formula, drawing its random numbers in order."""
    if name == "gp":
        return 10 * (hand_norm(critic, interpolate(real, fake)) - 1).square().mean()
    if name == "wgan-lp":
        norm = hand_norm(critic, interpolate(real, fake))
        return 10 * (norm - 1).clamp(min=0).square().mean()
    if name == "zero-gp":
        return 10 * hand_norm(critic, interpolate(real, fake)).square().mean()
    if name == "r1":
        return 10 / 2 * hand_norm(critic, real).square().mean()
    if name == "r2":
        return 10 / 2 * hand_norm(critic, fake).square().mean()
    if name == "dragan":
        uniform = torch.rand_like(real)
        alpha = torch.rand(len(real)).reshape(-1, *[1] * (real.dim() - 1))
        points = real + alpha * 0.5 * real.std() * uniform
        return 10 * (hand_norm(critic, points) - 1).square().mean()
    if name == "wgan-div":
        return 2 * hand_norm(critic, interpolate(real, fake)).pow(6).mean()
    if name == "max-gp":
        return hand_norm(critic, interpolate(real, fake)).square().max()
    raise AssertionError(name)


def built(name: str, **options):
    component = wgan_kit.load_registry(strict=True).get("constraint", name)
    return component.factory(component.options(**options))


@pytest.mark.parametrize("shape", [POINTS, IMAGES], ids=["points", "images"])
@pytest.mark.parametrize("name", ["gp", "wgan-lp", "zero-gp", "r1", "r2", "dragan", "wgan-div",
                                  "max-gp"])
def test_the_penalty_and_its_gradient_in_the_weights_equal_the_hand_computation(name, shape):
    torch.manual_seed(0)
    critic = TanhCritic(shape)
    real, fake = batch(shape, 1), batch(shape, 2)
    constraint = built(name)
    torch.manual_seed(7)
    penalty = constraint.penalty(critic, real, fake)
    torch.manual_seed(7)
    expected = hand_values(name, critic, real, fake)
    assert torch.allclose(penalty.value, expected, rtol=1e-5)
    assert tuple(penalty.grad_norm.shape) == (len(real),)
    ours = torch.autograd.grad(penalty.value, critic.weights)
    theirs = torch.autograd.grad(expected, critic.weights)
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)
        assert b.abs().sum() > 0


def test_the_max_gradient_penalty_takes_the_worst_sample_in_either_form():
    torch.manual_seed(0)
    critic = TanhCritic(POINTS)
    real, fake = batch(POINTS, 1), batch(POINTS, 2)
    torch.manual_seed(3)
    value = MaxGradientPenalty(2.0, "centred").penalty(critic, real, fake).value
    torch.manual_seed(3)
    assert torch.allclose(value, 2 * (hand_norm(critic, interpolate(real, fake)) - 1)
                          .square().max())


def test_wgan_lp_can_take_its_penalty_at_perturbed_real_and_generated_samples():
    torch.manual_seed(0)
    critic = TanhCritic(IMAGES)
    real, fake = batch(IMAGES, 1), batch(IMAGES, 2)
    constraint = built("wgan-lp", sampling="perturbed")
    torch.manual_seed(3)
    penalty = constraint.penalty(critic, real, fake)
    torch.manual_seed(3)
    both = torch.cat([real, fake])
    uniform = torch.rand_like(both)
    alpha = torch.rand(len(both)).reshape(-1, 1, 1, 1)
    points = both + alpha * 0.5 * both.std() * uniform
    norm = hand_norm(critic, points)
    assert torch.allclose(penalty.value, 10 * (norm - 1).clamp(min=0).square().mean(), rtol=1e-5)
    assert penalty.grad_norm.shape == (2 * len(real),)  # one norm per point it took
    assert set(preflight_verdicts(constraint).values()) == {"pass"}
    check_constraint("wgan-lp", options={"sampling": "perturbed"})


def test_wgan_div_takes_the_gradient_norm_to_its_power():
    torch.manual_seed(0)
    critic = TanhCritic(POINTS)
    real, fake = batch(POINTS, 1), batch(POINTS, 2)
    torch.manual_seed(3)
    value = WassersteinDivergence(k=0.5, p=3).penalty(critic, real, fake).value
    torch.manual_seed(3)
    assert torch.allclose(value, 0.5 * hand_norm(critic, interpolate(real, fake)).pow(3).mean())


@pytest.mark.parametrize("shape", [POINTS, IMAGES], ids=["points", "images"])
def test_ct_is_the_gradient_penalty_plus_the_consistency_of_two_dropout_passes(shape):
    torch.manual_seed(0)
    constraint = ConsistencyTerm(weight=10.0, consistency_weight=2.0, margin=0.01, dropout=0.5)
    critic = constraint.prepare(TanhCritic(shape))
    real, fake = batch(shape, 1), batch(shape, 2)
    torch.manual_seed(5)
    penalty = constraint.penalty(critic, real, fake)
    # By hand: ε, then the dropout masks of the GP pass and of the two passes over real data.
    torch.manual_seed(5)
    points = interpolate(real, fake)
    masks = [F.dropout(torch.ones(len(real), 3), 0.5, training=True) for _ in range(3)]
    gp = 10 * (hand_norm(critic, points, masks[0]) - 1).square().mean()
    w, v = critic.weights
    hidden = [masks[i] * torch.tanh(real.flatten(1) @ w.T) for i in (1, 2)]
    scores = [h @ v[0] for h in hidden]
    distance = ((scores[0] - scores[1]).square()
                + 0.1 * (hidden[0] - hidden[1]).square().mean(dim=1))
    expected = gp + 2.0 * (distance - 0.01).clamp(min=0).mean()
    assert torch.allclose(penalty.value, expected, rtol=1e-5)
    for a, b in zip(torch.autograd.grad(penalty.value, critic.weights),
                    torch.autograd.grad(expected, critic.weights)):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_ct_dropout_leaves_the_weights_and_eval_mode_alone():
    torch.manual_seed(0)
    plain = TanhCritic(POINTS)
    prepared = ConsistencyTerm().prepare(copy.deepcopy(plain))
    assert plain.state_dict().keys() == prepared.state_dict().keys()
    x = batch(POINTS, 1)
    prepared.eval()
    assert torch.equal(prepared(x), plain(x))
    prepared.train()
    assert not torch.equal(prepared(x), prepared(x))  # two passes differ: the term has work


def test_ct_refuses_a_critic_without_a_hidden_layer():
    with pytest.raises(WganKitError, match="needs a hidden layer"):
        ConsistencyTerm().prepare(nn.Sequential(nn.Flatten(), nn.Linear(2, 1)))


def test_lazy_r1_scales_the_penalty_by_k_and_declares_its_period():
    torch.manual_seed(0)
    critic = TanhCritic(POINTS)
    real, fake = batch(POINTS, 1), batch(POINTS, 2)
    every = ZeroCentredPenalty(10.0, at="real", every=16)
    assert every.penalty_every == 16
    assert torch.allclose(every.penalty(critic, real, fake).value,
                          16 * ZeroCentredPenalty(10.0).penalty(critic, real, fake).value)


def test_lazy_r1_applies_every_kth_critic_update_and_resumes_bit_identically(tmp_path, registry):
    options = {"gen.hidden": 16, "critic.hidden": 16, "constraint.every": 3}
    settings = {"steps": 4, "batch_size": 16, "n_critic": 2, "log_every": 1,
                "checkpoint_every": 2, "heldout_every": 0}
    whole = wgan_kit.compose(constraint="r1", objective="gan", options=options,
                             registry=registry, **settings)
    whole.train(out=tmp_path / "whole")
    logged = (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    assert sum('"penalty"' in line for line in logged) < len(logged)  # not on every update
    half = wgan_kit.compose(constraint="r1", objective="gan", options=options,
                            registry=registry, **{**settings, "steps": 2})
    half.train(out=tmp_path / "half")
    resumed = wgan_kit.resume(tmp_path / "half", registry=registry, steps=4)
    resumed.train()
    for ours, theirs in zip(whole.critic.state_dict().values(),
                            resumed.critic.state_dict().values()):
        assert torch.equal(ours, theirs)


def test_hinge_losses_equal_the_formula():
    real = torch.tensor([2.0, 0.5, -1.0, 0.0])
    fake = torch.tensor([-2.0, -0.5, 1.0, 3.0])
    hinge = HingeObjective()
    # E[max(0, 1 − D(x))] = (0 + 0.5 + 2 + 1)/4; E[max(0, 1 + D(G(z)))] = (0 + 0.5 + 2 + 4)/4
    assert torch.isclose(hinge.critic_loss(real, fake), torch.tensor(3.5 / 4 + 6.5 / 4))
    assert torch.isclose(hinge.generator_loss(fake), torch.tensor(-0.375))
    assert torch.isclose(hinge.critic_loss(real[:, None], fake[:, None]),
                         hinge.critic_loss(real, fake))


# --- training: every sensible pair, 2 steps -------------------------------------------------------

SENSIBLE = [(c, o) for c in NEW_CONSTRAINTS for o in OBJECTIVES if (c, o) not in NONSENSE]
SENSIBLE += [(c, "hinge") for c in ("gp", "gp-one-sided", "clip", "none")]


@pytest.mark.parametrize("constraint, objective", SENSIBLE, ids=[f"{c}+{o}" for c, o in SENSIBLE])
def test_every_sensible_pair_trains_two_steps(tiny_run, constraint, objective):
    metrics = tiny_run(constraint=constraint, objective=objective).train()
    assert metrics["step"] == 2
    assert all(math.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("constraint", NEW_CONSTRAINTS)
def test_each_new_constraint_trains_on_images(registry, constraint):
    trainer = wgan_kit.compose(data="digits", constraint=constraint, registry=registry, steps=2,
                               batch_size=16, heldout_every=0,
                               options={"gen.filters": 8, "critic.filters": 8})
    assert trainer.train()["step"] == 2


@pytest.mark.parametrize("objective", ["gan", "lsgan", "hinge"])
def test_wgan_div_with_another_objective_is_refused_in_one_line(registry, objective):
    with pytest.raises(WganKitError, match="wgan-div") as refused:
        wgan_kit.compose(constraint="wgan-div", objective=objective, registry=registry, steps=2)
    assert "\n" not in str(refused.value)


def test_the_cli_refuses_wgan_div_with_lsgan_before_writing_anything(tmp_path):
    from typer.testing import CliRunner

    from wgan_kit.cli import app

    result = CliRunner().invoke(app, ["run", "--constraint", "wgan-div", "--objective", "lsgan",
                                      "--steps", "2", "--out", str(tmp_path / "never")])
    assert result.exit_code == 2, result.output
    assert "'wgan-div' with objective 'lsgan'" in result.output and "objective=wgan" in result.output
    assert not (tmp_path / "never").exists()


# --- the preflight and the conformance kit accept every correct penalty ---------------------------

@pytest.mark.parametrize("constraint", NEW_CONSTRAINTS)
def test_each_new_constraint_meets_the_conformance_kit(constraint):
    check_constraint(constraint)


@pytest.mark.parametrize("constraint", NEW_CONSTRAINTS)
def test_each_new_constraint_passes_the_preflight(tiny_run, constraint):
    from wgan_kit.training.preflight import run_preflight

    preflight = run_preflight(tiny_run(constraint=constraint))
    assert not preflight.failures, preflight.failures


# --- broken penalties: what both the preflight and the kit must refuse ----------------------------

class NoCreateGraph(GradientPenalty):
    """The gradient is taken without create_graph: the penalty never trains the critic."""

    def penalty(self, critic, real, fake):
        points = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(points).sum(), points)
        norm = gradient.flatten(1).norm(dim=1)
        return Penalty(self.weight * (norm - 1).square().mean(), norm)


class PerPixelNorm(GradientPenalty):
    """A norm per pixel (over channels only), averaged: one number per sample, the wrong one."""

    def penalty(self, critic, real, fake):
        points = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
        norm = gradient.norm(dim=1).flatten(1).mean(dim=1) if gradient.dim() > 2 \
            else gradient.abs().sum(dim=1)
        return Penalty(self.weight * (norm - 1).square().mean(), norm.detach())


class L1Norm(GradientPenalty):
    """‖∇D‖₁ instead of ‖∇D‖₂."""

    def penalty(self, critic, real, fake):
        points = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
        norm = gradient.flatten(1).abs().sum(dim=1)
        return Penalty(self.weight * (norm - 1).square().mean(), norm.detach())


class AtOtherPoints(GradientPenalty):
    """Differentiates at the real samples but reports the norms at the generated ones."""

    def penalty(self, critic, real, fake):
        penalty = ZeroCentredPenalty(at="real").penalty(critic, real, fake)
        return Penalty(penalty.value, ZeroCentredPenalty(at="fake").penalty(critic, real,
                                                                             fake).grad_norm)


class OnACopy(GradientPenalty):
    """Differentiates a copy of the critic: the value has a graph, but not to these weights."""

    def penalty(self, critic, real, fake):
        return super().penalty(copy.deepcopy(critic), real, fake)


BROKEN = [NoCreateGraph, PerPixelNorm, L1Norm, OnACopy]


def preflight_verdicts(constraint) -> dict[str, str]:
    torch.manual_seed(0)
    critic, x = TanhCritic(IMAGES), batch(IMAGES, 1)
    return {check.name: check.status
            for check in (check_double_backward(critic, constraint, x),
                          check_penalty_norm(critic, constraint, x))}


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: b.__name__)
def test_the_preflight_refuses_a_broken_penalty(broken):
    assert "fail" in preflight_verdicts(broken()).values()


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: b.__name__)
def test_the_conformance_kit_refuses_a_broken_penalty(broken):
    with pytest.raises(AssertionError, match="breaks a guarantee"):
        check_constraint(Component("constraint", broken.__name__, lambda o: broken(),
                                   NoOptions))


def test_no_create_graph_gets_the_create_graph_advice_not_a_second_derivative_one():
    verdict = check_double_backward(TanhCritic(IMAGES), NoCreateGraph(), batch(IMAGES, 1))
    assert verdict.status == "fail" and "create_graph=True" in verdict.advice
    assert "second derivative" not in verdict.advice


def test_norms_reported_at_other_points_than_the_penalty_took_fail_the_norm_check():
    assert preflight_verdicts(AtOtherPoints())["penalty norm"] == "fail"


def test_the_correct_penalties_at_x_pass_both_preflight_checks():
    for constraint in (GradientPenalty(), ZeroCentredPenalty(), ZeroCentredPenalty(at="fake"),
                       WassersteinDivergence(), MaxGradientPenalty()):
        assert set(preflight_verdicts(constraint).values()) == {"pass"}, constraint


def test_dragan_passes_both_preflight_checks():
    assert set(preflight_verdicts(DraganPenalty()).values()) == {"pass"}


def test_contributing_s_worked_example_penalty_passes_the_conformance_kit(tmp_path, monkeypatch):
    from pathlib import Path

    from wgan_kit.testing import check_component, components_of

    text = (Path(__file__).resolve().parents[2] / "CONTRIBUTING.md").read_text()
    example = next(block.split("\n", 1)[1] for block in text.split("```python")[1:]
                   if block.split("\n", 1)[1].startswith('"""`my-r1`')).split("```")[0]
    (tmp_path / "contributing_r1.py").write_text(example)
    monkeypatch.syspath_prepend(str(tmp_path))
    (component,) = components_of("contributing_r1")
    check_component(component)
