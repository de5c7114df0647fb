"""Nonlinearities the built-in nets share, by the names their options use (Table 1 of WGAN-GP)."""

from __future__ import annotations

import torch
from torch import nn

from .option_types import NonlinearityOrGate


class SmoothELU(nn.Module):
    """softplus(2x + 2) / 2 − 1: the smooth stand-in for ELU of WGAN-GP Appendix D."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(2 * x + 2) / 2 - 1


class Gate(nn.Module):
    """sigmoid(a)·tanh(b), a and b the two halves of the channels: the gated multiplicative
    nonlinearity of PixelCNN (van den Oord et al. 2016) in WGAN-GP Figure 2. It halves the channels,
    so the layer before it makes twice as many."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.sigmoid(a) * torch.tanh(b)


def activation(name: NonlinearityOrGate) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    if name == "softplus":
        return SmoothELU()
    if name == "gated":
        return Gate()
    raise ValueError(f"unknown nonlinearity {name!r}")


def channel_factor(name: NonlinearityOrGate) -> int:
    """How many channels a layer makes per channel it passes on through `activation(name)`."""
    return 2 if name == "gated" else 1
