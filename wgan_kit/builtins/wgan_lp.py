"""`wgan-lp`: the Lipschitz penalty of Petzka et al. 2018 ("On the regularization of Wasserstein
GANs", the penalty of Section 4).

λ · E[max(0, ‖∇D(x̂)‖₂ − 1)²]: the critic is penalised only where it is steeper than 1, which is
all the Lipschitz constraint asks (WGAN-GP's two-sided penalty also pulls flatter regions up).
The points x̂ are WGAN-GP's interpolates ε·x + (1 − ε)·x̃, ε ~ U[0, 1] per sample, which is the
sampling of the paper's main experiments; λ = 10. With that sampling the term is the same as
WGAN-GP's one-sided variant (`gp-one-sided`, WGAN-GP Appendix C); this name cites the paper that
argues for it and studies its robustness to λ.
"""

from __future__ import annotations

from wgan_kit import Component, hookimpl

from .gradient_penalty import GradientPenalty, GradientPenaltyOptions


def build(options: GradientPenaltyOptions) -> GradientPenalty:
    return GradientPenalty(options.weight, one_sided=True)


@hookimpl
def register_components(register):
    register(Component("constraint", "wgan-lp", build, GradientPenaltyOptions,
                       "Lipschitz penalty λ·E[max(0, ‖∇D(x̂)‖ − 1)²] on interpolates (WGAN-LP, "
                       "Petzka et al. 2018)."))
