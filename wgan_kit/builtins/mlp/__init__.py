"""`mlp`: fully connected generator and critic.

The defaults are the paper's toy setup (WGAN-GP Section 3 and its released `gan_toy.py`):
z ~ N(0, I₂), three hidden ReLU layers of 512 units. On points the weights start from N(0, 0.02),
as in the released code's PyTorch port (caogang/wgan-gp), which trains faster per step there than
the TF code's He-uniform (measured: see `_init`); `init=he` gives the TF code's. On images and
sequences the generator is the "4-layer 512-dim ReLU MLP generator" of Figure 2 (`FCGenerator` in
the released `gan_64x64.py`): z ~ N(0, I₁₂₈), four hidden layers, its output through tanh (images)
or a softmax per position (sequences), reshaped to the data's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..option_types import CriticNorm, LinearInit, Nonlinearity
from ..sample_shapes import require_kind

if TYPE_CHECKING:
    from torch import nn

    from wgan_kit import SampleSpec


KINDS = ("points", "image", "sequence")


class GeneratorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int | None = Field(None, ge=1, le=1 << 16,
                                   description="Size of z; default 2 for points (toy code), 128 otherwise.")
    hidden: int = Field(512, ge=1, le=1 << 16, description="Units per hidden layer.")
    depth: int | None = Field(None, ge=0, le=1000,
                              description="Number of hidden layers; default 3 for points (toy "
                                          "code), 4 otherwise (Figure 2's MLP generator).")
    nonlinearity: Nonlinearity = Field("relu", description="Nonlinearity after each hidden layer.")
    init: LinearInit | None = Field(
        None, description="Weights: normal (N(0, 0.02): the released code's PyTorch port, DCGAN; "
                          "the default for points), he (He-uniform hidden, Glorot output: the "
                          "released TensorFlow code; the default otherwise) or torch "
                          "(nn.Linear's default).")


class CriticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(512, ge=1, le=1 << 16, description="Units per hidden layer.")
    depth: int = Field(3, ge=0, le=1000, description="Number of hidden layers.")
    nonlinearity: Nonlinearity = Field("relu", description="Nonlinearity after each hidden layer.")
    norm: CriticNorm = Field(
        "none", description="Normalization after each hidden linear layer; batch norm is refused "
                            "under a gradient penalty (WGAN-GP Section 4).")
    init: LinearInit | None = Field(
        None, description="Weights: normal (N(0, 0.02): the released code's PyTorch port, DCGAN; "
                          "the default for points), he (He-uniform hidden, Glorot output: the "
                          "released TensorFlow code; the default otherwise) or torch "
                          "(nn.Linear's default).")


def _init(init: LinearInit | None, spec: SampleSpec) -> LinearInit:
    """On the toy sets N(0, 0.02) trains faster per step than He-uniform (benchmarks/quality.py,
    8 Gaussians, seed 0: W1 0.41 against 0.56 after 500 steps, 0.23 against 0.32 after 1,000),
    as in the released code's PyTorch port; likely because Adam moves each weight by about α per
    step, far more relative to a small weight. Other kinds keep He-uniform (not measured)."""
    if init is not None:
        return init
    return "normal" if spec.kind == "points" else "he"


def build_generator(options: GeneratorOptions, spec: SampleSpec) -> nn.Module:
    from .nets import MLPGenerator

    require_kind(spec, net="mlp", section="gen", kinds=KINDS)
    points = spec.kind == "points"
    latent_dim = options.latent_dim or (2 if points else 128)
    depth = options.depth if options.depth is not None else (3 if points else 4)
    return MLPGenerator(latent_dim, spec, options.hidden, depth, options.nonlinearity,
                        _init(options.init, spec))


def build_critic(options: CriticOptions, spec: SampleSpec) -> nn.Module:
    from .nets import MLPCritic

    require_kind(spec, net="mlp", section="critic", kinds=KINDS)
    return MLPCritic(spec, options.hidden, options.depth, options.nonlinearity, options.norm,
                     _init(options.init, spec))


@hookimpl
def register_components(register):
    register(Component("generator", "mlp", build_generator, GeneratorOptions,
                       "Fully connected ReLU generator (toy setup; Figure 2's MLP generator)."))
    register(Component("critic", "mlp", build_critic, CriticOptions,
                       "Fully connected ReLU critic (toy setup of WGAN-GP Section 3)."))
