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
learning rate linearly to 0 over 100K steps at α = 2e-4 (the `wgan-gp-cifar-resnet` recipe).

`layout=deep`: the 101-layer ResNet of Figure 2 (the released `gan_64x64.py`, ResnetGenerator and
ResnetDiscriminator). Bottleneck blocks (ReLU, conv 1×1 to half the channels, ReLU, conv 3×3,
ReLU, conv 1×1, norm; `shortcut + 0.3·branch`), `plain_blocks` = 6 of them at each side (5 at the
data's side) and a resampling block between sides; channels from filters/2 at the data's side,
doubling with each halving (filters = DIM = 64: 512 at 4×4). The generator ends in conv 1×1 and
tanh(x/5); the critic starts with conv 1×1, ends in a linear layer on the 4×4 features, and
divides its score by 5; it uses layer norm, as the released code under WGAN-GP. At 64×64:
1 + 33·3 + 1 = 101 layers with weights in each net, shortcuts not counted.

Defaults that depend on the layout (`filters`, `plain_blocks`, the critic's `norm`) are filled in
when the options are read, so a run's config.toml records them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wgan_kit import Component, WganKitError, hookimpl

from ..option_types import CriticNorm, GeneratorNorm
from ..sample_shapes import image_pyramid

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


Layout = Literal["cifar", "deep"]
DEEP_FILTERS, DEEP_PLAIN_BLOCKS = 64, 6


def _layout_field() -> Any:
    return Field("cifar", description="cifar: Appendix F's ResNet; deep: the 101-layer bottleneck "
                                      "ResNet of Figure 2 (gan_64x64.py).")


def _filters_field() -> Any:
    return Field(None, ge=1, le=1 << 14,
                 description="cifar: channels of every block (default 128); deep: DIM, a multiple "
                             "of 4 (default 64; filters/2 channels at the data's side, doubling "
                             "with each halving).")


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: Layout = _layout_field()
    latent_dim: int = Field(128, ge=1, le=1 << 16, description="Size of z.")
    filters: int | None = _filters_field()
    norm: GeneratorNorm = Field("batch", description="Normalization before each ReLU (cifar), at "
                                                     "the end of each block's branch (deep).")
    plain_blocks: int | None = Field(
        None, ge=0, le=1000, description="cifar: blocks without resampling after the up-blocks, "
                                         "at the data's size (default 0, as Appendix F); deep: "
                                         "blocks at each side, one fewer at the data's (default 6).")

    @model_validator(mode="after")
    def _layout_defaults(self) -> GeneratorOptions:
        deep = self.layout == "deep"
        self.filters = self.filters or (DEEP_FILTERS if deep else 128)
        if self.plain_blocks is None:
            self.plain_blocks = DEEP_PLAIN_BLOCKS if deep else 0
        return self


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: Layout = _layout_field()
    filters: int | None = _filters_field()
    norm: CriticNorm | None = Field(
        None, description="Normalization before each ReLU inside the blocks (cifar; default none, "
                          "as Appendix F), at the end of each block's branch (deep; default "
                          "layer, as the released code); batch is refused under gp.")
    down_blocks: int | None = Field(None, ge=1, le=30,
                                    description="cifar: blocks that halve the side, the optimized "
                                                "first block included; default: down to 8×8 (2 for "
                                                "32×32, as Appendix F; 3 for 64×64).")
    plain_blocks: int | None = Field(
        None, ge=0, le=1000, description="cifar: blocks without resampling after the down-blocks "
                                         "(default 2); deep: blocks at each side, one fewer at the "
                                         "data's (default 6).")

    @model_validator(mode="after")
    def _layout_defaults(self) -> CriticOptions:
        deep = self.layout == "deep"
        self.filters = self.filters or (DEEP_FILTERS if deep else 128)
        self.norm = self.norm or ("layer" if deep else "none")
        if self.plain_blocks is None:
            self.plain_blocks = DEEP_PLAIN_BLOCKS if deep else 2
        return self


def _deep_filters(filters: int, section: str) -> int:
    if filters % 4:
        raise WganKitError(f"{section}.filters: layout=deep halves filters/2 in its bottlenecks, "
                           f"so it takes a multiple of 4, got {filters}")
    return filters


def _refuse_deep_classes(layout: str, spec: SampleSpec, section: str) -> None:
    if layout == "deep" and spec.num_classes is not None:
        raise WganKitError(f"{section}.layout: 'deep' has no class-conditional form "
                           "(run.conditional); use layout=cifar, the paper's conditional model")


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from ..conditioning import generator_classes
    from .nets import DeepResNetGenerator, ResNetGenerator

    channels, start, doublings = image_pyramid(spec, net="resnet", section="gen")
    assert options.filters is not None and options.plain_blocks is not None
    _refuse_deep_classes(options.layout, spec, "gen")
    if options.layout == "deep":
        return DeepResNetGenerator(options.latent_dim, channels, start, doublings,
                                   filters=_deep_filters(options.filters, "gen"),
                                   norm=options.norm, plain_blocks=options.plain_blocks)
    return ResNetGenerator(options.latent_dim, channels, start, doublings, filters=options.filters,
                           norm=options.norm, plain_blocks=options.plain_blocks,
                           num_classes=generator_classes(spec, options.norm, "resnet"))


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import DeepResNetCritic, ResNetCritic

    channels, start, doublings = image_pyramid(spec, net="resnet", section="critic")
    assert options.filters and options.norm and options.plain_blocks is not None
    _refuse_deep_classes(options.layout, spec, "critic")
    if options.layout == "deep":
        if options.down_blocks is not None:
            raise WganKitError(f"critic.down_blocks: layout=deep halves the side down to "
                               f"{start}×{start}, mirroring the generator; leave it unset, got "
                               f"{options.down_blocks}")
        return DeepResNetCritic(channels, start, doublings,
                                filters=_deep_filters(options.filters, "critic"),
                                norm=options.norm, plain_blocks=options.plain_blocks)
    down_blocks = options.down_blocks or max(1, doublings - 1)
    if down_blocks > doublings:
        side = spec.shape[1]
        raise WganKitError(f"critic.down_blocks: {down_blocks} halvings of {side}×{side} images "
                           f"leave less than {start}×{start}; at most {doublings}")
    return ResNetCritic(channels, filters=options.filters, norm=options.norm,
                        down_blocks=down_blocks, plain_blocks=options.plain_blocks,
                        num_classes=spec.num_classes)


@hookimpl
def register_components(register):
    register(Component("generator", "resnet", build_generator, GeneratorOptions,
                       "Residual generator of WGAN-GP Appendix F: up-blocks with BN, then tanh; "
                       "layout=deep: Figure 2's 101-layer bottleneck ResNet."))
    register(Component("critic", "resnet", build_critic, CriticOptions,
                       "Residual critic of WGAN-GP Appendix F: down-blocks, mean pool, linear; "
                       "layout=deep: Figure 2's 101-layer bottleneck ResNet."))
