"""`wgan-div`: the Wasserstein divergence's gradient term (Wu et al. 2018, "Wasserstein divergence
for GANs", Section 3, with the defaults of Section 4: k = 2, p = 6).

The critic loss is E[D(G(z))] − E[D(x)] + k · E[‖∇D(x̂)‖₂^p] at interpolates x̂ = ε·x + (1 − ε)·x̃,
ε ~ U[0, 1] per sample. The paper's f is "lower means real": its critic minimises
E[f(x)] − E[f(G(z))] + k·E‖∇f‖^p and its generator minimises E[f(G(z))]. With D = −f that is
exactly wgan-kit's `wgan` objective (higher means real) plus this term, since ‖∇f‖ = ‖∇D‖: the
sign convention costs nothing, and the objective to train it with is `wgan`. Unlike WGAN-GP no
Lipschitz bound is imposed; the term makes W-div a divergence without one, so it belongs with the
Wasserstein objective only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Pairing, Penalty, hookimpl

from .input_gradients import input_gradient_norms, interpolates

if TYPE_CHECKING:
    from torch import Tensor, nn


WASSERSTEIN_ONLY = ("the Wasserstein divergence's term k·E‖∇D‖^p belongs to the Wasserstein "
                    "objective (Wu et al. 2018, Section 3)")


class WassersteinDivergenceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: float = Field(2.0, ge=0, le=1e6, description="k, the coefficient of E‖∇D‖^p.")
    p: float = Field(6.0, ge=1, le=100, description="p, the power of the gradient norm.")


class WassersteinDivergence:
    penalises_input_gradients = True

    def __init__(self, k: float = 2.0, p: float = 6.0) -> None:
        self.k = k
        self.p = p

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, interpolates(real, fake))
        return Penalty(self.k * norm.pow(self.p).mean(), norm.detach())


def build(options: WassersteinDivergenceOptions) -> WassersteinDivergence:
    return WassersteinDivergence(options.k, options.p)


@hookimpl
def register_components(register):
    register(Component("constraint", "wgan-div", build, WassersteinDivergenceOptions,
                       "Wasserstein divergence term k·E‖∇D(x̂)‖^p on interpolates (WGAN-div, Wu "
                       "et al. 2018).",
                       pairs_only_with=(Pairing("objective", ("wgan",), WASSERSTEIN_ONLY),)))
