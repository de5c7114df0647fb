"""`hinge`: the hinge loss (Lim & Ye 2017, "Geometric GAN"; as SN-GAN trains it, Miyato et al.
2018, Equations 16 and 17).

The critic minimises E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]: a margin loss that stops
pushing a sample once its score is past ±1. The generator minimises −E[D(G(z))], as the
Wasserstein generator does. Settings: SN-GAN's for its ResNet experiments (Adam α = 2e-4,
β = (0, 0.9), n_critic = 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wgan_kit import Component, NoOptions, hookimpl

if TYPE_CHECKING:
    from torch import Tensor

SN_GAN_SETTINGS = {"run.optimizer": "adam", "run.lr": 2e-4, "run.betas": (0.0, 0.9),
                   "run.n_critic": 5}


class HingeObjective:
    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return (1 - real_scores).clamp(min=0).mean() + (1 + fake_scores).clamp(min=0).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()


def build(options: NoOptions) -> HingeObjective:
    return HingeObjective()


@hookimpl
def register_components(register):
    register(Component("objective", "hinge", build, NoOptions,
                       "Hinge loss: critic E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))], "
                       "generator −E[D(G(z))] (Geometric GAN, SN-GAN).", SN_GAN_SETTINGS))
