"""`random`: a generator or critic sampled from the architecture set of WGAN-GP Section 5.1,
Table 1 — nonlinearity {ReLU, LeakyReLU, softplus(2x+2)/2 − 1, tanh}, depth {4, 8, 12, 20},
batch norm on/off (layer norm for the WGAN-GP critic), base filter count {32, 64, 128} — starting
from DCGAN, as the paper does: the nets are the `dcgan` plugin's, deepened with 3×3 stride-1
convolutions spread over the resolutions (`dcgan`'s `extra_layers`).

Depth counts the layers with weights, the linear layer and the convolutions: DCGAN at 32×32 has 4
(Table 1's smallest), depth 20 adds 16 stride-1 convolutions. Images larger than 32×32 need more
strided layers than depth 4 allows; they get the plain DCGAN pyramid then.

The choices are drawn with `random.Random` from `arch_seed`, the generator and the critic from
separate streams (Table 1 samples them independently), always all four in the same order, so an
option set by hand (`gen.depth=20`) changes none of the others. The drawn choices are written back
into the options, so the run's config.toml records what was built and `--config` rebuilds it;
`describe()` of the options says it in one line.

Batch norm in the critic: the net cannot know the constraint, and a critic with batch norm is
refused under `gp` (Section 4). A critic that draws "normalized" therefore gets
`norm_when_sampled`, `layer` by default (Table 1's WGAN-GP arm); pass
`critic.norm_when_sampled=batch` for the standard-GAN arm of Table 2.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wgan_kit import Component, hookimpl

from .option_types import CriticNorm, GeneratorNorm, Nonlinearity
from .sample_shapes import image_pyramid

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec

NONLINEARITIES: tuple[Nonlinearity, ...] = ("relu", "leaky_relu", "softplus", "tanh")
DEPTHS = (4, 8, 12, 20)
FILTERS = (32, 64, 128)
SAMPLED = "unset: drawn from arch_seed"


def draw_table_1(arch_seed: int, net: Literal["generator", "critic"]
                 ) -> tuple[Nonlinearity, int, bool, int]:
    """(nonlinearity, depth, normalized, base filters) drawn from Table 1 for `net`."""
    rng = random.Random(f"{net}:{arch_seed}")
    return (rng.choice(NONLINEARITIES), rng.choice(DEPTHS), rng.choice((True, False)),
            rng.choice(FILTERS))


def _seed_field() -> Any:
    return Field(0, ge=0, description="Seed of the sampled architecture (random.Random); the "
                                      "generator and critic draw separately from it.")


def _nonlinearity_field() -> Any:
    return Field(None, description=f"Hidden nonlinearity, one of {', '.join(NONLINEARITIES)} "
                                   f"(softplus = softplus(2x+2)/2 − 1); {SAMPLED}.")


def _depth_field() -> Any:
    return Field(None, ge=1, le=256, description="Layers with weights (linear and convolutions), "
                                                 f"Table 1: {DEPTHS}; {SAMPLED}.")


def _filters_field() -> Any:
    return Field(None, ge=1, le=1 << 14, description=f"Base filter count, Table 1: {FILTERS}; "
                                                     f"{SAMPLED}.")


def _width_divisor_field() -> Any:
    return Field(1, ge=1, le=1 << 14, description="Divides the base filter count (at least 1 "
                                                  "filter is left), to shrink the set for small "
                                                  "runs: 8 makes Table 1's (32, 64, 128) into "
                                                  "(4, 8, 16); the draws do not change.")


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arch_seed: int = _seed_field()
    latent_dim: int = Field(128, ge=1, le=1 << 16, description="Size of z.")
    nonlinearity: Nonlinearity | None = _nonlinearity_field()
    depth: int | None = _depth_field()
    norm: GeneratorNorm | None = Field(None, description=f"batch or none; {SAMPLED}.")
    filters: int | None = _filters_field()
    width_divisor: int = _width_divisor_field()

    @model_validator(mode="after")
    def _draw_unset_choices(self) -> GeneratorOptions:
        nonlinearity, depth, normalized, filters = draw_table_1(self.arch_seed, "generator")
        self.nonlinearity = self.nonlinearity or nonlinearity
        self.depth = self.depth or depth
        self.norm = self.norm or ("batch" if normalized else "none")
        self.filters = self.filters or filters
        return self

    def describe(self) -> str:
        return describe(self.nonlinearity, self.depth, self.norm, self.filters)


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arch_seed: int = _seed_field()
    nonlinearity: Nonlinearity | None = _nonlinearity_field()
    depth: int | None = _depth_field()
    norm: CriticNorm | None = Field(None, description="none, layer or batch (refused under gp); "
                                                      f"{SAMPLED} (normalized: norm_when_sampled).")
    norm_when_sampled: Literal["layer", "batch"] = Field(
        "layer", description="The norm of a critic that draws 'normalized': layer for WGAN-GP, "
                             "batch for the standard GAN of Table 2.")
    filters: int | None = _filters_field()
    width_divisor: int = _width_divisor_field()

    @model_validator(mode="after")
    def _draw_unset_choices(self) -> CriticOptions:
        nonlinearity, depth, normalized, filters = draw_table_1(self.arch_seed, "critic")
        self.nonlinearity = self.nonlinearity or nonlinearity
        self.depth = self.depth or depth
        self.norm = self.norm or (self.norm_when_sampled if normalized else "none")
        self.filters = self.filters or filters
        return self

    def describe(self) -> str:
        return describe(self.nonlinearity, self.depth, self.norm, self.filters)


def describe(nonlinearity: str | None, depth: int | None, norm: str | None,
             filters: int | None) -> str:
    return f"{nonlinearity}, depth {depth}, norm {norm}, {filters} base filters"


def _extra_layers(depth: int, doublings: int) -> int:
    """Stride-1 layers on top of the DCGAN pyramid's linear layer and `doublings` convolutions."""
    return max(0, depth - (doublings + 1))


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from .dcgan.nets import DCGANGenerator

    channels, start, doublings = image_pyramid(spec, net="random", section="gen")
    assert options.filters and options.depth and options.norm and options.nonlinearity
    return DCGANGenerator(options.latent_dim, channels, start, doublings,
                          filters=max(1, options.filters // options.width_divisor),
                          constant_filters=False, norm=options.norm,
                          nonlinearity=options.nonlinearity,
                          extra_layers=_extra_layers(options.depth, doublings))


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .dcgan.nets import DCGANCritic

    channels, start, doublings = image_pyramid(spec, net="random", section="critic")
    assert options.filters and options.depth and options.norm and options.nonlinearity
    return DCGANCritic(channels, start, doublings,
                       filters=max(1, options.filters // options.width_divisor), norm=options.norm,
                       nonlinearity=options.nonlinearity,
                       extra_layers=_extra_layers(options.depth, doublings))


@hookimpl
def register_components(register):
    register(Component("generator", "random", build_generator, GeneratorOptions,
                       "A DCGAN-style generator drawn from WGAN-GP Table 1 by arch_seed; the run's "
                       "config.toml records the drawn choices."))
    register(Component("critic", "random", build_critic, CriticOptions,
                       "A DCGAN-style critic drawn from WGAN-GP Table 1 by arch_seed (normalized = "
                       "layer norm unless norm_when_sampled=batch); config.toml records the choices."))
