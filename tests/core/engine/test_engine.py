"""The training loop and its parts, checked against the papers' definitions on tiny problems."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import wgan_kit
from wgan_kit import WganKitError
from wgan_kit.builtins.gradient_penalty import GradientPenalty
from wgan_kit.builtins.wasserstein import WassersteinObjective


class HalfSquaredNorm(nn.Module):
    """D(x) = ½‖x‖², whose gradient at x is x itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x.flatten(1).square().sum(1)


@pytest.mark.parametrize("one_sided", [False, True], ids=["gp", "gp-one-sided"])
@pytest.mark.parametrize("shape", [(5, 2), (4, 3, 8, 8), (3, 32, 10)], ids=["points", "images",
                                                                            "sequences"])
def test_penalty_norm_is_per_sample_over_all_non_batch_axes(shape, one_sided):
    x = torch.randn(shape) * torch.linspace(0.1, 2, shape[0]).view(-1, *[1] * (len(shape) - 1))
    # With real == fake, every interpolate is x itself whatever ε is, so ∇D(x̂) = x.
    penalty = GradientPenalty(weight=10.0, one_sided=one_sided).penalty(HalfSquaredNorm(), x, x)
    norms = x.flatten(1).norm(dim=1)
    torch.testing.assert_close(penalty.grad_norm, norms)
    excess = (norms - 1).clamp(min=0) if one_sided else norms - 1  # Appendix C: max(0, ‖∇‖ − 1)
    torch.testing.assert_close(penalty.value, 10.0 * (excess ** 2).mean())


def test_penalty_of_a_linear_critic_is_lambda_times_squared_distance_of_its_norm_to_one():
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, 0.0, 0.0]]))
    penalty = GradientPenalty(weight=0.5).penalty(critic, torch.randn(8, 3), torch.randn(8, 3))
    torch.testing.assert_close(penalty.value, torch.tensor(0.5 * (2.0 - 1.0) ** 2))
    penalty.value.backward()  # the penalty trains the critic: its weights get gradients
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_penalty_interpolates_per_sample_between_real_and_fake():
    """Between a real point at 0 and a fake at 1, D(x) = ½x² has gradient x̂ = 1 − ε, which must
    spread over [0, 1] sample by sample (one ε per sample, not one per batch)."""
    real, fake = torch.zeros(4000, 1), torch.ones(4000, 1)
    norms = GradientPenalty().penalty(HalfSquaredNorm(), real, fake).grad_norm
    assert norms.min() < 0.01 and norms.max() > 0.99
    assert abs(norms.mean().item() - 0.5) < 0.02


def test_penalty_gradient_is_finite_where_the_critic_is_flat():
    critic = nn.Linear(2, 1)
    nn.init.zeros_(critic.weight)
    penalty = GradientPenalty().penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    penalty.value.backward()
    assert torch.isfinite(critic.weight.grad).all()


def test_wasserstein_objective_matches_its_definition():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.5, -0.5])
    objective = WassersteinObjective()
    assert objective.critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert objective.generator_loss(fake).item() == pytest.approx(0.0)


def test_clipping_keeps_every_critic_weight_in_bounds(tiny_trainer):
    trainer = tiny_trainer(constraint="clip", options={"constraint.c": 0.05}, lr=0.1, steps=3)
    trainer.train()
    bound = torch.tensor(0.05)  # c as float32, the parameters' own precision
    for parameter in trainer.critic.parameters():
        assert (parameter.abs() <= bound).all()
    assert max(p.abs().max().item() for p in trainer.critic.parameters()) == pytest.approx(0.05)


def test_generator_step_leaves_the_critic_untouched_and_gradient_free(tiny_trainer):
    trainer = tiny_trainer(n_critic=1, steps=1)
    trainer.train()
    before = [p.clone() for p in trainer.critic.parameters()]
    trainer.critic_optimizer.step = lambda: None  # the generator step alone must not move D
    trainer.change_run(steps=2)
    trainer.train()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.critic.parameters()))
    assert all(p.requires_grad for p in trainer.critic.parameters())


def test_batch_norm_critic_is_refused_under_a_gradient_penalty(tiny_trainer):
    with pytest.raises(WganKitError, match="Section 4") as caught:
        tiny_trainer(options={"critic.norm": "batch"})
    assert "critic.norm=layer" in str(caught.value)
    assert tiny_trainer(constraint="clip", options={"critic.norm": "batch"})  # allowed there


def test_user_modules_train_in_place_of_plugins(registry):
    class Generator(nn.Module):
        latent_dim = 4

        def __init__(self):
            super().__init__()
            self.net = nn.Linear(4, 2)

        def forward(self, z):
            return self.net(z)

    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    trainer = wgan_kit.compose(gen=Generator(), critic=critic, steps=3, batch_size=16,
                               registry=registry)
    assert trainer.train()["step"] == 3
    assert 'name = "python:test_user_modules_train_in_place_of_plugins.<locals>.Generator"' in \
        trainer.config.to_toml()


def test_an_object_that_is_not_a_generator_is_refused(registry):
    with pytest.raises(WganKitError, match="does not meet the Generator protocol"):
        wgan_kit.compose(gen=nn.Linear(2, 2), registry=registry)


class PointsWithNaN:
    spec = wgan_kit.SampleSpec(shape=(2,), kind="points")

    def batches(self, batch_size, *, seed, device, skip=0):
        while True:
            yield torch.full((batch_size, 2), float("nan"), device=device)

    def held_out(self, n, *, device):
        return torch.zeros(n, 2, device=device)

    def decode(self, batch):
        return batch.cpu()


def test_non_finite_losses_stop_the_run_naming_step_and_quantity(tiny_trainer):
    trainer = tiny_trainer(data=PointsWithNaN(), steps=5, log_every=2)
    with pytest.raises(WganKitError, match=r"step 2: critic_loss, wasserstein, .* non-finite"):
        trainer.train()


def test_runs_are_repeatable_from_the_seed(tiny_trainer):
    first, second = tiny_trainer(seed=3), tiny_trainer(seed=3)
    first.train(), second.train()
    for a, b in zip(first.generator.parameters(), second.generator.parameters()):
        assert torch.equal(a, b)
    other = tiny_trainer(seed=4)
    other.train()
    assert not torch.equal(next(first.generator.parameters()), next(other.generator.parameters()))


def test_samples_carry_no_graph(tiny_trainer):
    """Sampling is for looking and scoring: it builds no autograd graph (and holds no memory for
    one), whichever generator draws."""
    trainer = tiny_trainer(ema_decay=0.5)
    assert not trainer.sample(4).requires_grad
    assert not trainer.sample(4, ema=False).requires_grad


def test_run_settings_change_in_the_config_itself_and_are_checked(tiny_trainer):
    """`trainer.run` is always `trainer.config.run`: what a checkpoint records is what ran."""
    trainer = tiny_trainer(steps=2)
    trainer.change_run(steps=3)
    assert trainer.run is trainer.config.run and trainer.run.steps == 3
    assert "steps = 3" in trainer.config.to_toml()
    with pytest.raises(WganKitError, match=r"run\.steps: input should be greater than or equal"):
        trainer.change_run(steps=0)
    assert trainer.run.steps == 3
