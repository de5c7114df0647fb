"""`lsgan`: the least-squares GAN objective (Mao et al. 2017, Equation 9, the 0-1 coding).

The critic minimises ½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²], the generator ½E[(D(G(z)) − c)²], with
a = 0 (fake), b = 1 (real), c = 1 by default. Settings: RMSProp at α = 1e-4 with one critic step
per generator step, the learning rate WGAN-GP found by search for LSGAN (Appendix E).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

if TYPE_CHECKING:
    from torch import Tensor

APPENDIX_E_SETTINGS = {"run.optimizer": "rmsprop", "run.lr": 1e-4, "run.n_critic": 1}


class LeastSquaresOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    real_target: float = Field(1.0, ge=-1e6, le=1e6,
                               description="b: the critic's target for real samples.")
    fake_target: float = Field(0.0, ge=-1e6, le=1e6,
                               description="a: the critic's target for generated samples.")
    generator_target: float = Field(1.0, ge=-1e6, le=1e6,
                                    description="c: the score the generator wants for its samples.")


class LeastSquaresObjective:
    def __init__(self, real_target: float = 1.0, fake_target: float = 0.0,
                 generator_target: float = 1.0) -> None:
        self.real_target = real_target
        self.fake_target = fake_target
        self.generator_target = generator_target

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return 0.5 * ((real_scores - self.real_target).square().mean()
                      + (fake_scores - self.fake_target).square().mean())

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return 0.5 * (fake_scores - self.generator_target).square().mean()


def build(options: LeastSquaresOptions) -> LeastSquaresObjective:
    return LeastSquaresObjective(options.real_target, options.fake_target,
                                 options.generator_target)


@hookimpl
def register_components(register):
    register(Component("objective", "lsgan", build, LeastSquaresOptions,
                       "Least squares: critic targets 1 (real) and 0 (fake), generator target 1 "
                       "(LSGAN).", APPENDIX_E_SETTINGS))
