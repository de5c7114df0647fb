"""`resnet`: the residual generator and critic of WGAN-GP Appendix F (CIFAR-10), after the
released `gan_cifar_resnet.py` (unconditional; its `NORMALIZATION_G = True`, `_D = False`).

Generator: z(128) → linear → 128×4×4 → three pre-activation up-blocks (BN, ReLU, nearest-neighbour
upsampling, conv 3×3, BN, ReLU, conv 3×3; shortcut: upsampling and a 1×1 conv) → BN, ReLU,
conv 3×3 → tanh: 3×32×32. (Appendix F's prose puts the upsampling before the second convolution;
the table and the released code put it before the first, as here.) Critic: an optimized first
block (conv 3×3, ReLU, conv 3×3, mean pool; shortcut: mean pool, then a 1×1 conv), one down-block
(mean pool after the second conv), two blocks without resampling (identity shortcut), ReLU, global
mean pool, linear → 1; no normalization. Every block has 128 channels.

Other image sizes: the generator has one up-block per doubling from its start side (the rule of
`dcgan`: 4×4 for 32 and 64, so 64×64 data gets four up-blocks; 7×7 for 28), and the critic
down-samples to twice that start side (8×8 for 32 and 64) unless `critic.down_blocks` says
otherwise (`4` gives the released 64×64 code's four down-samplings). Appendix F also decays the
learning rate linearly to 0 over 100K steps at α = 2e-4, which wgan-kit's loop does not do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, WganKitError, hookimpl

from ..option_types import CriticNorm, GeneratorNorm
from ..sample_shapes import image_pyramid

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(128, ge=1, le=1 << 16, description="Size of z.")
    filters: int = Field(128, ge=1, le=1 << 14, description="Channels of every residual block.")
    norm: GeneratorNorm = Field("batch", description="Normalization before each ReLU.")
    plain_blocks: int = Field(0, ge=0, le=1000,
                              description="Blocks without resampling after the up-blocks, at the "
                                          "data's size (extra depth; Appendix F has none).")


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: int = Field(128, ge=1, le=1 << 14, description="Channels of every residual block.")
    norm: CriticNorm = Field("none", description="Normalization before each ReLU inside the "
                                                 "blocks (Appendix F: none); batch is refused "
                                                 "under gp.")
    down_blocks: int | None = Field(None, ge=1, le=30,
                                    description="Blocks that halve the side, the optimized first "
                                                "block included; default: down to 8×8 (2 for "
                                                "32×32, as Appendix F; 3 for 64×64).")
    plain_blocks: int = Field(2, ge=0, le=1000,
                              description="Blocks without resampling after the down-blocks.")


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from .nets import ResNetGenerator

    channels, start, doublings = image_pyramid(spec, net="resnet", section="gen")
    return ResNetGenerator(options.latent_dim, channels, start, doublings, filters=options.filters,
                           norm=options.norm, plain_blocks=options.plain_blocks)


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import ResNetCritic

    channels, start, doublings = image_pyramid(spec, net="resnet", section="critic")
    down_blocks = options.down_blocks or max(1, doublings - 1)
    if down_blocks > doublings:
        side = spec.shape[1]
        raise WganKitError(f"critic.down_blocks: {down_blocks} halvings of {side}×{side} images "
                           f"leave less than {start}×{start}; at most {doublings}")
    return ResNetCritic(channels, filters=options.filters, norm=options.norm,
                        down_blocks=down_blocks, plain_blocks=options.plain_blocks)


@hookimpl
def register_components(register):
    register(Component("generator", "resnet", build_generator, GeneratorOptions,
                       "Residual generator of WGAN-GP Appendix F: up-blocks with BN, then tanh."))
    register(Component("critic", "resnet", build_critic, CriticOptions,
                       "Residual critic of WGAN-GP Appendix F: down-blocks, mean pool, linear."))
