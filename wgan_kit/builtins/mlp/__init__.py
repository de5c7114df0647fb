"""`mlp`: fully connected generator and critic.

The defaults are the paper's toy setup (WGAN-GP Section 3 and its released `gan_toy.py`):
z ~ N(0, I₂), three hidden ReLU layers of 512 units, He-uniform initialisation. On images and
sequences the generator's output goes through tanh / a softmax per position and is reshaped to the
data's shape, as the "4-layer 512-dim ReLU MLP generator" of Figure 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..option_types import Nonlinearity

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int | None = Field(None, ge=1, le=1 << 16,
                                   description="Size of z; default 2 for points (toy code), 128 otherwise.")
    hidden: int = Field(512, ge=1, le=1 << 16, description="Units per hidden layer.")
    depth: int = Field(3, ge=0, le=1000, description="Number of hidden layers.")
    nonlinearity: Nonlinearity = Field("relu", description="Nonlinearity after each hidden layer.")


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(512, ge=1, le=1 << 16, description="Units per hidden layer.")
    depth: int = Field(3, ge=0, le=1000, description="Number of hidden layers.")
    nonlinearity: Nonlinearity = Field("relu", description="Nonlinearity after each hidden layer.")
    norm: Literal["none", "layer", "batch"] = Field(
        "none", description="Normalization after each hidden linear layer; batch norm is refused "
                            "under a gradient penalty (WGAN-GP Section 4).")


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from .nets import MLPGenerator

    latent_dim = options.latent_dim or (2 if spec.kind == "points" else 128)
    return MLPGenerator(latent_dim, spec, options.hidden, options.depth, options.nonlinearity)


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import MLPCritic

    return MLPCritic(spec, options.hidden, options.depth, options.nonlinearity, options.norm)


@hookimpl
def register_components(register):
    register(Component("generator", "mlp", build_generator, GeneratorOptions,
                       "Fully connected ReLU generator (toy setup; Figure 2's MLP generator)."))
    register(Component("critic", "mlp", build_critic, CriticOptions,
                       "Fully connected ReLU critic (toy setup of WGAN-GP Section 3)."))
