"""Nonlinearities the built-in nets share, by the names their options use (Table 1 of WGAN-GP)."""

from __future__ import annotations

import torch
from torch import nn

from .option_types import Nonlinearity


class SmoothELU(nn.Module):
    """softplus(2x + 2) / 2 − 1: the smooth stand-in for ELU of WGAN-GP Appendix D."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(2 * x + 2) / 2 - 1


def activation(name: Nonlinearity) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "tanh":
        return nn.Tanh()
    if name == "softplus":
        return SmoothELU()
    raise ValueError(f"unknown nonlinearity {name!r}")
