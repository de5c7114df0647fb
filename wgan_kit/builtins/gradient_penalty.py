"""`gp` and `gp-one-sided`: the gradient penalties of WGAN-GP (Gulrajani et al. 2017).

`gp` (Section 4, Equation 3): λ · E[(‖∇D(x̂)‖₂ − 1)²]; `gp-one-sided` (Appendix C):
λ · E[max(0, ‖∇D(x̂)‖₂ − 1)²], which penalises only norms above 1. Both are taken at
x̂ = ε·x + (1 − ε)·x̃, with one ε ~ U[0, 1] per sample, and added to every critic loss. The norm is
taken per sample over all non-batch axes (`input_gradients`). `centre` moves the target norm: 0
gives the zero-centred penalty of `zero-gp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

from .input_gradients import input_gradient_norms, interpolates

if TYPE_CHECKING:
    from torch import Tensor, nn


class GradientPenaltyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, le=1e6, description="λ, the penalty coefficient.")


class GradientPenalty:
    penalises_input_gradients = True

    def __init__(self, weight: float = 10.0, *, one_sided: bool = False,
                 centre: float = 1.0) -> None:
        self.weight = weight
        self.one_sided = one_sided
        self.centre = centre

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, interpolates(real, fake))
        excess = norm - self.centre
        if self.one_sided:
            excess = excess.clamp(min=0)
        return Penalty(self.weight * excess.square().mean(), norm.detach())


def build(options: GradientPenaltyOptions) -> GradientPenalty:
    return GradientPenalty(options.weight)


def build_one_sided(options: GradientPenaltyOptions) -> GradientPenalty:
    return GradientPenalty(options.weight, one_sided=True)


@hookimpl
def register_components(register):
    register(Component("constraint", "gp", build, GradientPenaltyOptions,
                       "Gradient penalty λ·E[(‖∇D(x̂)‖₂ − 1)²] on random interpolates (WGAN-GP)."))
    register(Component("constraint", "gp-one-sided", build_one_sided, GradientPenaltyOptions,
                       "One-sided gradient penalty λ·E[max(0, ‖∇D(x̂)‖₂ − 1)²] (WGAN-GP "
                       "Appendix C)."))
