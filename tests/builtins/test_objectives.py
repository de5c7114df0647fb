"""Objectives and constraints, each against a hand computation on tiny tensors, and every pairing of
the two training on the CPU."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from wgan_kit.builtins.gradient_penalty import GradientPenalty
from wgan_kit.builtins.least_squares import LeastSquaresObjective
from wgan_kit.builtins.no_constraint import NoConstraint
from wgan_kit.builtins.standard_gan import StandardGanObjective
from wgan_kit.core.layers import resolve_layers
from wgan_kit.core.protocols import prepare_critic, project_weights

OBJECTIVES = ["wgan", "gan", "lsgan"]
CONSTRAINTS = ["gp", "gp-one-sided", "clip", "none"]
REAL, FAKE = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_gan_critic_loss_is_the_logistic_loss_on_logits():
    # −E[log σ(D(x))] − E[log(1 − σ(D(G(z))))]
    expected = (-(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2
                - (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2)
    loss = StandardGanObjective().critic_loss(REAL, FAKE)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    bce = nn.functional.binary_cross_entropy_with_logits
    torch.testing.assert_close(loss, bce(REAL, torch.ones(2)) + bce(FAKE, torch.zeros(2)))


def test_gan_generator_loss_is_non_saturating_by_default_and_minimax_on_request():
    non_saturating = -(math.log(sigmoid(0.5)) + math.log(sigmoid(-3.0))) / 2  # −E[log D(G(z))]
    minimax = (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2  # E[log(1 − D(G(z)))]
    assert StandardGanObjective().generator_loss(FAKE).item() == pytest.approx(non_saturating)
    assert StandardGanObjective("minimax").generator_loss(FAKE).item() == pytest.approx(minimax)


def test_the_minimax_generator_loss_saturates_where_the_critic_is_sure():
    """Goodfellow et al. Section 3: log(1 − D(G(z))) gives a vanishing gradient when the critic
    confidently rejects a sample; −log D(G(z)) does not."""
    gradients = {}
    for form in ("non_saturating", "minimax"):
        score = torch.tensor([-10.0], requires_grad=True)
        StandardGanObjective(form).generator_loss(score).backward()
        gradients[form] = score.grad.item()
    assert gradients["non_saturating"] == pytest.approx(-1.0, abs=1e-4)
    assert abs(gradients["minimax"]) < 1e-4


def test_gan_losses_are_finite_for_extreme_logits():
    huge = torch.tensor([1e4, -1e4])
    objective = StandardGanObjective()
    assert torch.isfinite(objective.critic_loss(huge, -huge))
    assert torch.isfinite(objective.generator_loss(huge))


def test_lsgan_is_half_the_mean_squared_distance_to_its_targets():
    objective = LeastSquaresObjective()
    # ½E[(D(x) − 1)²] + ½E[D(G(z))²] and ½E[(D(G(z)) − 1)²]
    critic = 0.5 * ((1.0 ** 2 + 2.0 ** 2) / 2) + 0.5 * ((0.5 ** 2 + 3.0 ** 2) / 2)
    generator = 0.5 * ((0.5 ** 2 + 4.0 ** 2) / 2)
    assert objective.critic_loss(REAL, FAKE).item() == pytest.approx(critic)
    assert objective.generator_loss(FAKE).item() == pytest.approx(generator)
    # Mao et al.'s other coding, a = −1, b = 1, c = 0
    symmetric = LeastSquaresObjective(real_target=1, fake_target=-1, generator_target=0)
    assert symmetric.critic_loss(REAL, FAKE).item() == pytest.approx(
        0.5 * ((1.0 + 4.0) / 2) + 0.5 * ((1.5 ** 2 + 2.0 ** 2) / 2))
    assert symmetric.generator_loss(FAKE).item() == pytest.approx(0.5 * (0.25 + 9.0) / 2)


def linear_critic(weight: list[float]) -> nn.Linear:
    """D(x) = w·x + b, whose gradient is w at every point: ‖∇D‖ = ‖w‖ everywhere."""
    critic = nn.Linear(len(weight), 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weight]))
    return critic


@pytest.mark.parametrize("weight, two_sided, one_sided", [
    ([2.0, 0.0], 3.0 * (2.0 - 1) ** 2, 3.0 * (2.0 - 1) ** 2),  # above 1: both penalise alike
    ([0.3, 0.4], 3.0 * (0.5 - 1) ** 2, 0.0),  # below 1: only the two-sided penalty
])
def test_penalties_of_a_linear_critic_by_hand(weight, two_sided, one_sided):
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    critic = linear_critic(weight)
    value = GradientPenalty(3.0).penalty(critic, real, fake).value
    assert value.item() == pytest.approx(two_sided)
    assert GradientPenalty(3.0, one_sided=True).penalty(critic, real, fake).value.item() == \
        pytest.approx(one_sided)


@pytest.mark.parametrize("shape", [(16, 2), (8, 3, 4, 4), (8, 6, 5)],
                         ids=["points", "images", "sequences"])
def test_one_sided_penalty_is_zero_and_gives_no_gradient_when_every_norm_is_at_most_one(shape):
    """A critic whose gradient norm varies from sample to sample but stays ≤ 1."""
    torch.manual_seed(0)
    width = math.prod(shape[1:])
    critic = nn.Sequential(nn.Flatten(), nn.Linear(width, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():  # ‖∇D‖ ≤ ‖W₂‖·‖W₁‖₂ ≤ 1 since |tanh'| ≤ 1
        for layer in (critic[1], critic[3]):
            layer.weight.div_(torch.linalg.matrix_norm(layer.weight, ord=2) * 1.01)
    real, fake = torch.randn(shape), torch.randn(shape)
    penalty = GradientPenalty(10.0, one_sided=True).penalty(critic, real, fake)
    assert penalty.grad_norm.max() <= 1 and penalty.grad_norm.std() > 0
    assert penalty.value.item() == 0.0
    penalty.value.backward()
    assert all(p.grad is None or not p.grad.any() for p in critic.parameters())
    assert GradientPenalty(10.0).penalty(critic, real, fake).value.item() > 0


def test_no_constraint_leaves_the_critic_alone():
    constraint = NoConstraint()
    critic = linear_critic([5.0, -7.0])
    before = [p.clone() for p in critic.parameters()]
    assert prepare_critic(constraint, critic) is critic
    assert constraint.penalty(critic, torch.randn(4, 2), torch.randn(4, 2)) is None
    project_weights(constraint, critic)
    assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    assert constraint.penalises_input_gradients is False


def test_batch_norm_critics_are_allowed_without_a_gradient_penalty(tiny_trainer):
    trainer = tiny_trainer(objective="gan", constraint="none", steps=1,
                           options={"critic.norm": "batch"})
    assert trainer.train()["step"] == 1


def test_baseline_objectives_bring_their_papers_settings(registry):
    """DCGAN's Adam (α = 2e-4, β1 = 0.5, one critic step) and LSGAN's RMSProp (α = 1e-4),
    WGAN-GP Appendix E."""
    gan = resolve_layers([{"objective": {"name": "gan"}, "constraint": {"name": "none"}}], registry)
    assert (gan.run.optimizer, gan.run.lr, gan.run.n_critic) == ("adam", 2e-4, 1)
    assert registry.get("objective", "gan").suggests["run.betas"] == (0.5, 0.999)
    lsgan = resolve_layers([{"objective": {"name": "lsgan"}, "constraint": {"name": "none"}}],
                           registry)
    assert (lsgan.run.optimizer, lsgan.run.lr, lsgan.run.n_critic) == ("rmsprop", 1e-4, 1)
    assert gan.parts["objective"].options.generator_loss == "non_saturating"


@pytest.mark.parametrize("constraint", CONSTRAINTS)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_objective_trains_with_every_constraint(tiny_trainer, objective, constraint):
    trainer = tiny_trainer(objective=objective, constraint=constraint, steps=2, batch_size=8,
                           n_critic=2, options={"gen.hidden": 8, "critic.hidden": 8})
    before = [p.clone() for p in trainer.generator.parameters()]
    metrics = trainer.train()
    assert metrics["step"] == 2
    assert math.isfinite(metrics["critic_loss"]) and math.isfinite(metrics["generator_loss"])
    assert ("penalty" in metrics) == constraint.startswith("gp")
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
