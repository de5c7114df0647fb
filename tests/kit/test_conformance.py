"""Every installed component passes the conformance kit (wgan_kit.testing), so a component added
later is checked without a new test; and the kit itself catches each kind of broken component."""

from __future__ import annotations

import pytest
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import wgan_kit
from wgan_kit import Component, NoOptions, Penalty, WganKitError
from wgan_kit.builtins.input_gradients import input_gradient_norms
from wgan_kit.builtins.toy.sources import EightGaussians
from wgan_kit.builtins.wasserstein import WassersteinObjective
from wgan_kit.builtins.weight_clipping import WeightClipping
from wgan_kit.testing import (
    CHECKS,
    check_component,
    check_constraint,
    check_critic,
    check_data_source,
    check_generator,
    check_objective,
    check_options,
)

# The five kinds of training parts; "features" extractors are evaluation tools, tested with it.
INSTALLED = [c for c in wgan_kit.load_registry(strict=True).components() if c.kind in CHECKS]


@pytest.mark.parametrize("component", INSTALLED,
                         ids=lambda c: f"{c.kind}-{c.qualified_name}")
def test_every_installed_component_meets_its_contract(component):
    try:
        check_component(component)
    except WganKitError as exc:  # e.g. a data set whose files are not on this machine
        if component.kind != "data":
            raise
        pytest.skip(f"data {component.name!r} is not available here: {exc}")


def test_the_reference_builtins_are_among_them():
    assert {(c.kind, c.name) for c in INSTALLED} >= {
        ("generator", "mlp"), ("critic", "mlp"), ("constraint", "gp"), ("constraint", "clip"),
        ("objective", "wgan"), ("data", "8gaussians")}


def test_a_constraint_is_checked_on_every_spec_a_critic_accepts():
    check_constraint("gp", critic="mlp", options={"weight": 1.0})


class PenaltyOnly:
    """R1 at the real samples, with neither `prepare` nor `project`: both are optional."""

    penalises_input_gradients = True

    def penalty(self, critic, real, fake):
        norm = input_gradient_norms(critic, real)
        return Penalty(norm.square().mean(), norm.detach())


def test_a_constraint_needs_neither_prepare_nor_project(tiny_run):
    assert isinstance(PenaltyOnly(), wgan_kit.LipschitzConstraint)
    check_constraint(Component("constraint", "penalty-only", lambda o: PenaltyOnly()))
    assert tiny_run(constraint=PenaltyOnly()).train()["step"] == 2


# The kit catches broken components, naming the guarantee.

class MixingCritic(nn.Module):
    """Scores each sample relative to the batch mean: the samples are coupled."""

    def __init__(self, spec):
        super().__init__()
        self.linear = nn.Linear(spec.shape[0], 1)

    def forward(self, x):
        return self.linear((x - x.mean(0)).square()).squeeze(1)


class FlatGenerator(nn.Module):
    """Forgets to reshape its output to the sample shape."""

    latent_dim = 3

    def __init__(self, spec):
        super().__init__()
        self.linear = nn.Linear(3, 2 * spec.shape[0])

    def forward(self, z):
        return self.linear(z)


class ReversedObjective(WassersteinObjective):
    def critic_loss(self, real_scores, fake_scores):
        return -super().critic_loss(real_scores, fake_scores)


class SumObjective(WassersteinObjective):
    def generator_loss(self, fake_scores):
        return -fake_scores.sum()


class ExplodingClip(WeightClipping):
    def project(self, critic):
        with torch.no_grad():
            for parameter in critic.parameters():
                parameter.fill_(float("inf"))


class ForgetfulStream(EightGaussians):
    """Ignores `skip`: a resumed run would see the first batches again."""

    def batches(self, batch_size, *, seed, device, skip=0):
        return super().batches(batch_size, seed=seed, device=device)


POINTS_ONLY = [wgan_kit.SampleSpec((2,), "points")]


@pytest.mark.parametrize("check, component, kwargs, guarantee", [
    (check_critic, Component("critic", "mixing", lambda o, s: MixingCritic(s)), POINTS_ONLY,
     "each score depends only on its own sample"),
    (check_generator, Component("generator", "flat", lambda o, s: FlatGenerator(s)), POINTS_ONLY,
     "G(z) has shape (N, *spec.shape)"),
    (check_objective, Component("objective", "reversed", lambda o: ReversedObjective()), None,
     "the critic loss falls as real scores rise"),
    (check_objective, Component("objective", "sum", lambda o: SumObjective()), None,
     "each loss is a mean over the batch"),
    (check_constraint, Component("constraint", "inf", lambda o: ExplodingClip()), None,
     "the critic's parameters stay finite"),
    (check_data_source, Component("data", "forgetful", lambda o: ForgetfulStream()), None,
     "batches(skip=i) starts with batch i"),
], ids=lambda v: getattr(v, "name", None))
def test_the_kit_names_the_broken_guarantee(check, component, kwargs, guarantee):
    with pytest.raises(AssertionError) as caught:
        check(component, **({"specs": kwargs} if kwargs else {}))
    message = str(caught.value)
    assert message.startswith(f"{component.kind} '{component.name}'"), message
    assert f"breaks a guarantee: {guarantee}" in message, message


def test_the_kit_checks_options_models():
    class Loose(BaseModel):
        width: int = Field(3, description="Width.")

    class Undocumented(BaseModel):
        model_config = ConfigDict(extra="forbid")
        width: int = 3

    with pytest.raises(AssertionError, match="forbids unknown options"):
        check_options(Component("objective", "loose", lambda o: None, Loose))
    with pytest.raises(AssertionError, match="every option has Field.description=.... .*width"):
        check_options(Component("objective", "bare", lambda o: None, Undocumented))
    with pytest.raises(AssertionError, match="each 'run.' suggestion names a run setting"):
        check_options(Component("objective", "typo", lambda o: None, NoOptions,
                                suggests={"run.learning_rate": 1e-4}))


def test_the_pytest_plugin_provides_its_fixtures(tiny_spec, tiny_run):
    assert tiny_spec.kind in ("points", "image", "sequence")
    assert tiny_run(constraint="clip").train()["step"] == 2
