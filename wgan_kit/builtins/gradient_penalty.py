"""`gp` and `gp-one-sided`: the gradient penalties of WGAN-GP (Gulrajani et al. 2017).

`gp` (Section 4, Equation 3): λ · E[(‖∇D(x̂)‖₂ − 1)²]; `gp-one-sided` (Appendix C):
λ · E[max(0, ‖∇D(x̂)‖₂ − 1)²], which penalises only norms above 1. Both are taken at
x̂ = ε·x + (1 − ε)·x̃, with one ε ~ U[0, 1] per sample, and added to every critic loss. The norm is
taken per sample over all non-batch axes. A tiny constant inside the square root keeps the norm's
gradient finite where the critic's gradient vanishes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

if TYPE_CHECKING:
    from torch import Tensor, nn


class GradientPenaltyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, le=1e6, description="λ, the penalty coefficient.")


class GradientPenalty:
    penalises_input_gradients = True

    def __init__(self, weight: float = 10.0, *, one_sided: bool = False) -> None:
        self.weight = weight
        self.one_sided = one_sided

    def prepare(self, critic: nn.Module) -> nn.Module:
        return critic

    def project(self, critic: nn.Module) -> None:
        pass

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        import torch

        # One ε per sample, broadcast over the sample's own axes (Algorithm 1, line 4).
        epsilon = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device,
                             dtype=real.dtype)
        interpolates = (epsilon * real + (1 - epsilon) * fake).detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(interpolates).sum(), interpolates,
                                          create_graph=True)
        # 1e-20 (not larger): a critic that starts small, as N(0, 0.02) nets do, has input
        # gradients near 1e-5, whose norm a larger constant would visibly inflate.
        norm = (gradient.flatten(1).square().sum(dim=1) + 1e-20).sqrt()
        excess = (norm - 1).clamp(min=0) if self.one_sided else norm - 1
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
