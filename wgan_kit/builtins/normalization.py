"""Normalization layers of the built-in conv nets, by the names their `norm` options use."""

from __future__ import annotations

from torch import nn

from .option_types import CriticNorm


def norm2d(kind: CriticNorm, channels: int) -> nn.Module:
    """`batch`: BatchNorm2d. `layer`: normalization of each sample over C×H×W with a per-channel
    scale and offset, as the released code's `Layernorm(name, [1, 2, 3], x)`; that is
    GroupNorm(1, C), not LayerNorm([C, H, W]), whose scale and offset are per pixel."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()
