"""Normalization layers of the built-in conv nets, by the names their `norm` options use."""

from __future__ import annotations

from torch import nn

from .conditioning import ClassConditionalBatchNorm2d
from .option_types import CriticNorm


def norm2d(kind: CriticNorm, channels: int, num_classes: int | None = None) -> nn.Module:
    """`batch`: BatchNorm2d, with a scale and offset per class when `num_classes` is given. `layer`: normalization of each sample over C×H×W with a per-channel
    scale and offset, as the released code's `Layernorm(name, [1, 2, 3], x)`; that is
    GroupNorm(1, C), not LayerNorm([C, H, W]), whose scale and offset are per pixel."""
    if kind == "batch" and num_classes is not None:
        return ClassConditionalBatchNorm2d(channels, num_classes)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()
