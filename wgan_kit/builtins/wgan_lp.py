"""`wgan-lp`: the Lipschitz penalty of Petzka et al. 2018 ("On the regularization of Wasserstein
GANs", the penalty of Section 4).

λ · E[max(0, ‖∇D(x̂)‖₂ − 1)²]: the critic is penalised only where it is steeper than 1, which is
all the Lipschitz constraint asks (WGAN-GP's two-sided penalty also pulls flatter regions up);
λ = 10. The paper's argument is that the penalty may be taken under any distribution τ of points
whose support covers the real and the generated samples, and its experiments compare two: WGAN-GP's
interpolates ε·x + (1 − ε)·x̃, ε ~ U[0, 1] per sample (`sampling = "interpolates"`), and local
perturbations of both the real and the generated samples, DRAGAN's x + α·c·std·u with u ~ U[0, 1]
per element and α ~ U[0, 1] per sample, std that of the joined batch (`sampling = "perturbed"`,
c = 0.5; as the reproduction code of the paper's experiments, mikigom/WGAN-LP-tensorflow
`reg_losses.py`, draws them). With interpolates the term equals WGAN-GP's one-sided variant
(`gp-one-sided`, WGAN-GP Appendix C); with perturbations it is taken at 2N points, near both
distributions, where the paper reports the one-sided penalty to be the more robust of the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

from .dragan import DraganPenalty
from .input_gradients import input_gradient_norms, interpolates

if TYPE_CHECKING:
    from torch import Tensor, nn


class LipschitzPenaltyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, le=1e6, description="λ, the penalty coefficient.")
    sampling: Literal["interpolates", "perturbed"] = Field(
        "interpolates", description="interpolates: WGAN-GP's points between real and generated "
                                    "samples; perturbed: the real and the generated samples, "
                                    "each perturbed as DRAGAN does.")
    c: float = Field(0.5, gt=0, le=1e6,
                     description="perturbed only: up to c times the batch's standard deviation "
                                 "per element.")


class LipschitzPenalty:
    penalises_input_gradients = True

    def __init__(self, weight: float = 10.0, sampling: str = "interpolates", c: float = 0.5
                 ) -> None:
        self.weight = weight
        self.sampling = sampling
        self.perturbation = DraganPenalty(c=c)

    def points(self, real: Tensor, fake: Tensor) -> Tensor:
        if self.sampling == "interpolates":
            return interpolates(real, fake)
        import torch

        return self.perturbation.perturbed(torch.cat([real, fake]))

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, self.points(real, fake))
        return Penalty(self.weight * (norm - 1).clamp(min=0).square().mean(), norm.detach())


def build(options: LipschitzPenaltyOptions) -> LipschitzPenalty:
    return LipschitzPenalty(options.weight, options.sampling, options.c)


@hookimpl
def register_components(register):
    register(Component("constraint", "wgan-lp", build, LipschitzPenaltyOptions,
                       "Lipschitz penalty λ·E[max(0, ‖∇D(x̂)‖ − 1)²] on interpolates or "
                       "perturbed samples (WGAN-LP, Petzka et al. 2018)."))
