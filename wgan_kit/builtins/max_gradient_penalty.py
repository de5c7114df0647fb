"""`max-gp`: the maximum gradient penalty of Lipschitz GANs (Zhou et al. 2019, "Lipschitz
generative adversarial nets", Section 6), as PyTorch-StudioGAN's `maxgp`.

λ · max over the batch of ‖∇D(x̂)‖₂² at interpolates x̂ = ε·x + (1 − ε)·x̃: a penalty on the
steepest point seen, the batch's estimate of the critic's Lipschitz constant (squared), rather
than on the average. `form = "centred"` penalises max (‖∇D(x̂)‖ − 1)² instead, WGAN-GP's term
taken at its worst sample. λ = 1 is wgan-kit's choice: the paper tunes λ per loss, so set
`constraint.weight` to the value of the experiment you follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

from .input_gradients import input_gradient_norms, interpolates

if TYPE_CHECKING:
    from torch import Tensor, nn


class MaxGradientPenaltyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(1.0, ge=0, le=1e6, description="λ, the penalty coefficient.")
    form: Literal["squared", "centred"] = Field(
        "squared", description="squared: λ·max ‖∇D‖² (the paper, StudioGAN); centred: "
                               "λ·max (‖∇D‖ − 1)².")


class MaxGradientPenalty:
    penalises_input_gradients = True

    def __init__(self, weight: float = 1.0, form: str = "squared") -> None:
        self.weight = weight
        self.form = form

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, interpolates(real, fake))
        terms = norm.square() if self.form == "squared" else (norm - 1).square()
        return Penalty(self.weight * terms.max(), norm.detach())


def build(options: MaxGradientPenaltyOptions) -> MaxGradientPenalty:
    return MaxGradientPenalty(options.weight, options.form)


@hookimpl
def register_components(register):
    register(Component("constraint", "max-gp", build, MaxGradientPenaltyOptions,
                       "Maximum gradient penalty λ·max ‖∇D(x̂)‖² over the batch (Lipschitz GAN, "
                       "Zhou et al. 2019; StudioGAN's maxgp)."))
