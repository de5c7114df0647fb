"""The MLP generator and critic of the `mlp` plugin."""

from __future__ import annotations

import math

import torch
from torch import nn

from wgan_kit import SampleSpec

from ..activations import activation
from ..option_types import Nonlinearity


def _hidden_layers(width_in: int, hidden: int, depth: int, nonlinearity: Nonlinearity,
                   norm: str = "none") -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(depth):
        linear = nn.Linear(width_in if i == 0 else hidden, hidden)
        # He-uniform, as the toy code's ReLU layers; Glorot for tanh.
        if nonlinearity == "tanh":
            nn.init.xavier_uniform_(linear.weight)
        else:
            nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if norm == "layer":
            layers.append(nn.LayerNorm(hidden))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(activation(nonlinearity))
    return layers


def _output_layer(width_in: int, width_out: int) -> nn.Linear:
    linear = nn.Linear(width_in, width_out)
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, spec: SampleSpec, hidden: int, depth: int,
                 nonlinearity: Nonlinearity) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.shape = spec.shape
        self.kind = spec.kind
        width = hidden if depth else latent_dim
        self.net = nn.Sequential(*_hidden_layers(latent_dim, hidden, depth, nonlinearity),
                                 _output_layer(width, math.prod(spec.shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z).view(-1, *self.shape)
        if self.kind == "image":
            return torch.tanh(x)
        if self.kind == "sequence":
            return torch.softmax(x, dim=-1)
        return x


class MLPCritic(nn.Module):
    def __init__(self, spec: SampleSpec, hidden: int, depth: int, nonlinearity: Nonlinearity,
                 norm: str) -> None:
        super().__init__()
        width_in = math.prod(spec.shape)
        width = hidden if depth else width_in
        self.net = nn.Sequential(nn.Flatten(),
                                 *_hidden_layers(width_in, hidden, depth, nonlinearity, norm),
                                 _output_layer(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
