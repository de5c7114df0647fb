"""`spectral` meets wgan-kit's constraint contract, on the kit's reference critics and on every
installed critic, for each sample shape that critic accepts."""

from __future__ import annotations

import pytest

import wgan_kit
from wgan_kit.testing import check_constraint, components_of

import wgan_kit_spectral


def test_registers_one_constraint():
    [component] = components_of(wgan_kit_spectral)
    assert (component.kind, component.name) == ("constraint", "spectral")


def test_meets_the_constraint_contract():
    check_constraint("spectral", options={"n_power_iterations": 2})


@pytest.mark.parametrize("critic", wgan_kit.load_registry(strict=True).components("critic"),
                         ids=lambda c: c.qualified_name)
def test_meets_it_on_every_installed_critic(critic):
    check_constraint("spectral", critic=critic)
