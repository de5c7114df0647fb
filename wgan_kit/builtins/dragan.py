"""`dragan`: the gradient penalty near the real samples of DRAGAN (Kodali et al. 2017, "On
convergence and stability of GANs", the penalty of Section 4).

λ · E[(‖∇D(x̃)‖₂ − 1)²] at points x̃ close to the real data, with λ = 10 and c = 0.5. The paper
writes x̃ = x + δ with δ ~ N(0, cI); its authors' released code, which compare_gan and
PyTorch-StudioGAN follow, draws instead a perturbed copy x_p = x + c · std(x) · u with
u ~ U[0, 1] for every element, std(x) the standard deviation of all elements of the real batch,
and takes the penalty at x̃ = x + α · (x_p − x), α ~ U[0, 1] per sample. wgan-kit follows the code
(what every published DRAGAN number was trained with); the batch's spread comes from the `real`
batch the penalty is given. The paper trains it with the standard GAN loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, hookimpl

from .input_gradients import input_gradient_norms, per_sample

if TYPE_CHECKING:
    from torch import Tensor, nn


class DraganOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, le=1e6, description="λ, the penalty coefficient.")
    c: float = Field(0.5, gt=0, le=1e6,
                     description="Perturbation scale: up to c times the real batch's standard "
                                 "deviation per element.")


class DraganPenalty:
    penalises_input_gradients = True

    def __init__(self, weight: float = 10.0, c: float = 0.5) -> None:
        self.weight = weight
        self.c = c

    def perturbed(self, real: Tensor) -> Tensor:
        """x + α · c · std(x) · u: u ~ U[0, 1] per element, α ~ U[0, 1] per sample."""
        import torch

        spread = self.c * real.std() * torch.rand_like(real)
        alpha = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
        return real + per_sample(alpha, real) * spread

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        norm = input_gradient_norms(critic, self.perturbed(real))
        return Penalty(self.weight * (norm - 1).square().mean(), norm.detach())


def build(options: DraganOptions) -> DraganPenalty:
    return DraganPenalty(options.weight, options.c)


@hookimpl
def register_components(register):
    register(Component("constraint", "dragan", build, DraganOptions,
                       "DRAGAN: λ·E(‖∇D(x̃)‖ − 1)² at perturbed real samples (Kodali et al. "
                       "2017)."))
