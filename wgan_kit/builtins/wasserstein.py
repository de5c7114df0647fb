"""`wgan`: the Wasserstein objective (Arjovsky et al. 2017; WGAN-GP Equation 3).

The critic minimises E[D(G(z))] − E[D(x)], the generator −E[D(G(z))]. The loop logs the critic's
estimate of W(P_r, P_g) as `wasserstein` = E[D(x)] − E[D(G(z))], the negative of the critic loss
without its penalty: positive while the critic tells real from generated samples, falling towards 0
as the generator improves (WGAN-GP Figure 5a plots it). The settings are WGAN-GP's Algorithm 1
(Adam α = 1e-4, β = (0, 0.9), n_critic = 5, m = 64); weight clipping brings its own optimizer (see
the `clip` constraint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgan_kit import Component, NoOptions, hookimpl

if TYPE_CHECKING:
    from torch import Tensor

# Algorithm 1's defaults. Its step size α = 1e-4 is `run.lr`'s own default rather than a
# suggestion, so that a data source may suggest one tuned to it (the toy sets do).
ALGORITHM_1 = {
    "run.optimizer": "adam",
    "run.betas": (0.0, 0.9),
    "run.n_critic": 5,
    "run.batch_size": 64,
}


class WassersteinObjective:
    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return fake_scores.mean() - real_scores.mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()


def build(options: NoOptions) -> WassersteinObjective:
    return WassersteinObjective()


@hookimpl
def register_components(register):
    register(Component("objective", "wgan", build, NoOptions,
                       "Wasserstein loss: the critic estimates W(P_r, P_g), the generator lowers it.",
                       ALGORITHM_1))
