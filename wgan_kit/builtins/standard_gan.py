"""`gan`: the standard GAN objective (Goodfellow et al. 2014) as DCGAN trains it (Radford et al. 2016).

The critic is a discriminator that outputs logits: its loss is the logistic loss
−E[log σ(D(x))] − E[log(1 − σ(D(G(z))))] = E[softplus(−D(x))] + E[softplus(D(G(z)))], i.e.
binary cross-entropy with logits against targets 1 (real) and 0 (fake). The generator minimises
the non-saturating −E[log σ(D(G(z)))] (Goodfellow et al. Section 3) by default, or the saturating
minimax E[log(1 − σ(D(G(z))))] on request. Settings: DCGAN's Adam (α = 2e-4, β = (0.5, 0.999)) with
one critic step per generator step (WGAN-GP Appendix B and E).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

if TYPE_CHECKING:
    from torch import Tensor

DCGAN_SETTINGS = {
    "run.optimizer": "adam",
    "run.lr": 2e-4,
    "run.betas": (0.5, 0.999),
    "run.n_critic": 1,
}


class StandardGanOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    generator_loss: Literal["non_saturating", "minimax"] = Field(
        "non_saturating",
        description="non_saturating: −log D(G(z)) (what DCGAN trains); minimax: log(1 − D(G(z))), "
                    "the saturating form of the original value function.")


class StandardGanObjective:
    def __init__(self, generator_loss: str = "non_saturating") -> None:
        self.non_saturating = generator_loss == "non_saturating"

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        from torch.nn.functional import softplus

        return softplus(-real_scores).mean() + softplus(fake_scores).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        from torch.nn.functional import softplus

        if self.non_saturating:
            return softplus(-fake_scores).mean()  # −log σ(s)
        return -softplus(fake_scores).mean()  # log(1 − σ(s))


def build(options: StandardGanOptions) -> StandardGanObjective:
    return StandardGanObjective(options.generator_loss)


@hookimpl
def register_components(register):
    register(Component("objective", "gan", build, StandardGanOptions,
                       "Standard GAN: logistic critic loss on logits, non-saturating generator "
                       "loss (DCGAN).", DCGAN_SETTINGS))
