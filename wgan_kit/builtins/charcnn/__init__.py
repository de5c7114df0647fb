"""`charcnn`: the character-level language model of WGAN-GP Section 5.5, after the released
`gan_language.py`.

Generator: z(128) → linear → 512×T → five residual blocks (ReLU, conv1d k=5, ReLU, conv1d k=5;
x + 0.3·branch) → conv1d k=1 to the V symbols → a softmax at each position: a continuous
(T, V) sample, never a discrete draw. Critic: conv1d k=1 from the V symbols → five residual blocks
→ flatten → linear → one score. The sequence length T and the vocabulary V come from the data's
(T, V) samples; the nets see (N, T, V) and convolve along T.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..sample_shapes import require_kind

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(128, ge=1, le=1 << 16, description="Size of z.")
    filters: int = Field(512, ge=1, le=1 << 14,
                         description="Channels of every residual block (DIM in the released code).")
    blocks: int = Field(5, ge=0, le=1000, description="Number of residual blocks.")


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: int = Field(512, ge=1, le=1 << 14,
                         description="Channels of every residual block (DIM in the released code).")
    blocks: int = Field(5, ge=0, le=1000, description="Number of residual blocks.")


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from .nets import CharCNNGenerator

    require_kind(spec, net="charcnn", section="gen", kinds=("sequence",))
    length, vocabulary = spec.shape
    return CharCNNGenerator(options.latent_dim, length, vocabulary, filters=options.filters,
                            blocks=options.blocks)


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import CharCNNCritic

    require_kind(spec, net="charcnn", section="critic", kinds=("sequence",))
    length, vocabulary = spec.shape
    return CharCNNCritic(length, vocabulary, filters=options.filters, blocks=options.blocks)


@hookimpl
def register_components(register):
    register(Component("generator", "charcnn", build_generator, GeneratorOptions,
                       "1-D residual CNN emitting a softmax per character (WGAN-GP Section 5.5)."))
    register(Component("critic", "charcnn", build_critic, CriticOptions,
                       "1-D residual CNN scoring character sequences (WGAN-GP Section 5.5)."))
