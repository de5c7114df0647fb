"""`none`: no Lipschitz constraint, for the standard GAN and LSGAN baselines (WGAN-GP Section 5.2,
where DCGAN and LSGAN train with their own papers' settings and no constraint on the critic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgan_kit import Component, NoOptions, hookimpl

if TYPE_CHECKING:
    from torch import Tensor, nn


class NoConstraint:
    penalises_input_gradients = False

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> None:
        return None


def build(options: NoOptions) -> NoConstraint:
    return NoConstraint()


@hookimpl
def register_components(register):
    register(Component("constraint", "none", build, NoOptions,
                       "No constraint on the critic (the DCGAN and LSGAN baselines)."))
