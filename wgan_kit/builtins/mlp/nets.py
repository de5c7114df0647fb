"""The MLP generator and critic of the `mlp` plugin."""

from __future__ import annotations

import math

import torch
from torch import nn

from wgan_kit import SampleSpec

from ..activations import activation
from ..option_types import LinearInit, Nonlinearity


def _initialised(linear: nn.Linear, init: LinearInit, *, hidden: bool,
                 nonlinearity: Nonlinearity) -> nn.Linear:
    """`he`: He-uniform before a ReLU-like unit (Glorot before tanh and for the output layer), as
    the released TensorFlow toy code; `normal`: N(0, 0.02), as its PyTorch port (caogang/wgan-gp)
    and DCGAN; `torch`: torch's own default for nn.Linear. Biases start at zero except under
    `torch`."""
    if init == "torch":
        return linear
    if init == "normal":
        nn.init.normal_(linear.weight, 0.0, 0.02)
    elif hidden and nonlinearity != "tanh":
        nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


def _hidden_layers(width_in: int, hidden: int, depth: int, nonlinearity: Nonlinearity,
                   init: LinearInit, norm: str = "none") -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(_initialised(nn.Linear(width_in if i == 0 else hidden, hidden), init,
                                   hidden=True, nonlinearity=nonlinearity))
        if norm == "layer":
            layers.append(nn.LayerNorm(hidden))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(activation(nonlinearity))
    return layers


def _output_layer(width_in: int, width_out: int, init: LinearInit) -> nn.Linear:
    return _initialised(nn.Linear(width_in, width_out), init, hidden=False, nonlinearity="relu")


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, spec: SampleSpec, hidden: int, depth: int,
                 nonlinearity: Nonlinearity, init: LinearInit = "he") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = spec.shape
        self.kind = spec.kind
        width = hidden if depth else latent_dim
        self.net = nn.Sequential(*_hidden_layers(latent_dim, hidden, depth, nonlinearity, init),
                                 _output_layer(width, math.prod(spec.shape), init))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z).view(-1, *self.shape)
        if self.kind == "image":
            return torch.tanh(x)
        if self.kind == "sequence":
            return torch.softmax(x, dim=-1)
        return x


class MLPCritic(nn.Module):
    def __init__(self, spec: SampleSpec, hidden: int, depth: int, nonlinearity: Nonlinearity,
                 norm: str, init: LinearInit = "he") -> None:
        super().__init__()
        width_in = math.prod(spec.shape)
        width = hidden if depth else width_in
        self.net = nn.Sequential(nn.Flatten(),
                                 *_hidden_layers(width_in, hidden, depth, nonlinearity, init,
                                                 norm),
                                 _output_layer(width, 1, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
