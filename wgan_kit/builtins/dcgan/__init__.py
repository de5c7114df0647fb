"""`dcgan`: the DCGAN generator and critic (Radford et al. 2016) and the variants of WGAN-GP
Figure 2, as in the paper's released code (`gan_64x64.py`: DCGANGenerator, DCGANDiscriminator,
WGANPaper_CrippledDCGANGenerator, MultiplicativeDCGAN*; `gan_cifar.py`; `gan_mnist.py`).

Generator: z → Linear → (filters·2ⁿ⁻¹)×s₀×s₀ → n transposed 5×5 convolutions of stride 2, each
doubling the side and halving the channels (batch norm and ReLU between) → tanh. Critic: the mirror
image, n 5×5 convolutions of stride 2 with LeakyReLU(0.2) → linear → one score per sample; every
convolution but the first is normalized. Images must be square with side s₀·2ⁿ, 4 ≤ s₀ ≤ 7: 32
and 64 start at 4×4 as DCGAN, 28 (MNIST) starts at 7×7 (the released MNIST code instead starts at
4×4 and crops 8×8 to 7×7). Weights are drawn from N(0, 0.02²), as DCGAN's.

Figure 2's variants: `gen.norm=none` with `gen.constant_filters=true` ("no BN and a constant
number of filters"); `gen.norm=none` and `critic.norm=none` ("no normalization in either");
`nonlinearity=gated` or `nonlinearity=tanh` in both ("gated multiplicative" / "tanh nonlinearities
everywhere"). The critic's default `layer` is the paper's replacement for batch norm under WGAN-GP
(Section 4). `extra_layers` deepens both nets with 3×3 stride-1 convolutions at each resolution, as
the `random` net of Table 1 does.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..option_types import CriticNorm, GeneratorNorm, NonlinearityOrGate
from ..sample_shapes import image_pyramid

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(128, ge=1, le=1 << 16, description="Size of z.")
    filters: int = Field(64, ge=1, le=1 << 14,
                         description="Base filter count: channels of the last hidden layer; they "
                                     "double towards the 4×4 start (DIM in the released code).")
    constant_filters: bool = Field(False, description="Every hidden layer gets `filters` channels "
                                                      "(Figure 2, with norm=none).")
    norm: GeneratorNorm = Field("batch", description="Normalization after the linear layer and "
                                                     "each hidden transposed convolution.")
    nonlinearity: NonlinearityOrGate = Field(
        "relu", description="Hidden nonlinearity; gated = sigmoid(a)·tanh(b) on twice the channels.")
    extra_layers: int = Field(0, ge=0, le=256,
                              description="3×3 stride-1 convolutions (with norm and nonlinearity) "
                                          "added to the pyramid, spread evenly over its "
                                          "resolutions: the depth of WGAN-GP Table 1.")


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: int = Field(64, ge=1, le=1 << 14,
                         description="Base filter count: channels of the first convolution; they "
                                     "double with each halving of the side.")
    norm: CriticNorm = Field("layer", description="Normalization after each convolution but the "
                                                  "first; layer = over C×H×W per sample (the "
                                                  "paper's choice); batch is refused under gp.")
    nonlinearity: NonlinearityOrGate = Field(
        "leaky_relu", description="Hidden nonlinearity (leaky_relu has slope 0.2); gated = "
                                  "sigmoid(a)·tanh(b) on twice the channels.")
    extra_layers: int = Field(0, ge=0, le=256,
                              description="3×3 stride-1 convolutions (with norm and nonlinearity) "
                                          "added to the pyramid, spread evenly over its "
                                          "resolutions: the depth of WGAN-GP Table 1.")


def _warn_if_set(options: BaseModel, section: str, option: str, side: int, why: str) -> None:
    """Say so when a non-default option cannot change the net built for these images."""
    if getattr(options, option) != type(options).model_fields[option].default:
        warnings.warn(f"{section}.{option}: has no effect on {side}×{side} images: {why}", stacklevel=3)


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from ..conditioning import generator_classes
    from .nets import DCGANGenerator

    channels, start, doublings = image_pyramid(spec, net="dcgan", section="gen")
    if doublings == 1:
        _warn_if_set(options, "gen", "constant_filters", spec.shape[-1], "the generator has a single "
                     "hidden width there")
    return DCGANGenerator(options.latent_dim, channels, start, doublings, filters=options.filters,
                          constant_filters=options.constant_filters, norm=options.norm,
                          nonlinearity=options.nonlinearity, extra_layers=options.extra_layers,
                          num_classes=generator_classes(spec, options.norm, "dcgan"))


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import DCGANCritic

    channels, start, doublings = image_pyramid(spec, net="dcgan", section="critic")
    if doublings == 1 and not options.extra_layers:
        _warn_if_set(options, "critic", "norm", spec.shape[-1], "the critic has a single "
                     "convolution there, which is never normalized (critic.extra_layers adds "
                     "normalized ones)")
    return DCGANCritic(channels, start, doublings, filters=options.filters, norm=options.norm,
                       nonlinearity=options.nonlinearity, extra_layers=options.extra_layers,
                       num_classes=spec.num_classes)


@hookimpl
def register_components(register):
    register(Component("generator", "dcgan", build_generator, GeneratorOptions,
                       "DCGAN generator: linear, then 5×5 stride-2 transposed convs with BN+ReLU."))
    register(Component("critic", "dcgan", build_critic, CriticOptions,
                       "DCGAN critic: 5×5 stride-2 convs with LeakyReLU, layer norm, then linear."))
