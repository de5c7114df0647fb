"""`r1` and `r2`: zero-centred penalties at the real and at the generated samples (Mescheder et al.
2018, "Which training methods for GANs do actually converge?", Section 4.1, Equations 9 and 10).

R1 = γ/2 · E_x~P_r[‖∇D(x)‖₂²] and R2 = γ/2 · E_x~P_g[‖∇D(x)‖₂²], with γ = 10 (the paper's
experiments; Section 5). Both push the critic towards a zero gradient on the data, which makes
the game locally convergent for the standard GAN loss, with which the paper trains them.

Lazy regularisation (StyleGAN2, Karras et al. 2020, Section 3.1) takes R1 only every k-th critic
update, multiplied by k to keep its strength: `every = k` (StyleGAN2: 16). The constraint declares
it as `penalty_every`; the engine honours it with its checkpointed count of critic updates, so
that a resumed run regularises at the same updates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

from .input_gradients import input_gradient_norms

if TYPE_CHECKING:
    from torch import Tensor, nn


class R1Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gamma: float = Field(10.0, ge=0, le=1e6, description="γ: the penalty is γ/2 · E‖∇D‖².")
    every: int = Field(1, ge=1, le=1 << 20,
                       description="k: take the penalty every k-th critic update, scaled by k "
                                   "(StyleGAN2's lazy regularisation: 16); 1 takes it always.")


class R2Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gamma: float = Field(10.0, ge=0, le=1e6, description="γ: the penalty is γ/2 · E‖∇D‖².")


class ZeroCentredPenalty:
    """γ/2 · E‖∇D‖² at the real (`at="real"`) or the generated (`at="fake"`) samples, times
    `penalty_every` (lazy regularisation)."""

    penalises_input_gradients = True

    def __init__(self, gamma: float = 10.0, *, at: str = "real", every: int = 1) -> None:
        self.gamma = gamma
        self.at = at
        self.penalty_every = every

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, real if self.at == "real" else fake)
        value = self.penalty_every * self.gamma / 2 * norm.square().mean()
        return Penalty(value, norm.detach())


def build_r1(options: R1Options) -> ZeroCentredPenalty:
    return ZeroCentredPenalty(options.gamma, at="real", every=options.every)


def build_r2(options: R2Options) -> ZeroCentredPenalty:
    return ZeroCentredPenalty(options.gamma, at="fake")


@hookimpl
def register_components(register):
    register(Component("constraint", "r1", build_r1, R1Options,
                       "R1: γ/2·E‖∇D(x)‖² at the real samples (Mescheder et al. 2018)."))
    register(Component("constraint", "r2", build_r2, R2Options,
                       "R2: γ/2·E‖∇D(x̃)‖² at the generated samples (Mescheder et al. 2018)."))
