"""The residual generator and critic of the `resnet` plugin (WGAN-GP Appendix F)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from torch import nn

from ..normalization import norm2d
from ..option_types import CriticNorm, GeneratorNorm


def _conv(channels_in: int, channels_out: int, kernel: int, *, he: bool) -> nn.Conv2d:
    """A same-size convolution; He-uniform before a ReLU, Glorot-uniform elsewhere (shortcuts,
    outputs), as the released code's `he_init`."""
    conv = nn.Conv2d(channels_in, channels_out, kernel, padding=kernel // 2)
    if he:
        nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _linear(features_in: int, features_out: int) -> nn.Linear:
    linear = nn.Linear(features_in, features_out)
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


class ResidualBlock(nn.Module):
    """shortcut(x) + branch(x), the branch pre-activated: norm, ReLU, conv 3×3, norm, ReLU,
    conv 3×3. `up` doubles the side by nearest-neighbour upsampling before the first convolution,
    `down` halves it by 2×2 mean pooling after the second; the shortcut then resamples the same way
    and maps channels by a 1×1 convolution (identity when nothing changes). `first`: the critic's
    optimized first block, conv, ReLU, conv, mean pool, with nothing before its first conv."""

    def __init__(self, channels_in: int, channels_out: int, *,
                 resample: Literal["up", "down"] | None, norm: CriticNorm = "none",
                 first: bool = False) -> None:
        super().__init__()
        up = [nn.Upsample(scale_factor=2, mode="nearest")] if resample == "up" else []
        down = [nn.AvgPool2d(2)] if resample == "down" else []
        preactivation = [] if first else [norm2d(norm, channels_in), nn.ReLU()]
        middle = channels_in if resample == "down" and not first else channels_out
        self.branch = nn.Sequential(*preactivation, *up, _conv(channels_in, middle, 3, he=True),
                                    norm2d(norm, middle), nn.ReLU(),
                                    _conv(middle, channels_out, 3, he=True), *down)
        if resample is None and channels_in == channels_out:
            self.shortcut: nn.Module = nn.Identity()
        else:  # pooling and a 1×1 convolution commute; pooling first is cheaper
            self.shortcut = nn.Sequential(*up, *down, _conv(channels_in, channels_out, 1, he=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.branch(x)


class ResNetGenerator(nn.Module):
    """z → linear → filters×s₀×s₀ → `doublings` up-blocks (→ `plain_blocks` more) → norm, ReLU,
    conv 3×3, tanh. `net`'s children are the rows of Appendix F's table."""

    def __init__(self, latent_dim: int, channels: int, start: int, doublings: int, *,
                 filters: int, norm: GeneratorNorm, plain_blocks: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        rows: OrderedDict[str, nn.Module] = OrderedDict(
            linear=nn.Sequential(_linear(latent_dim, filters * start * start),
                                 nn.Unflatten(1, (filters, start, start))))
        for i in range(doublings):
            rows[f"up{i + 1}"] = ResidualBlock(filters, filters, resample="up", norm=norm)
        for i in range(plain_blocks):
            rows[f"plain{i + 1}"] = ResidualBlock(filters, filters, resample=None, norm=norm)
        rows["output"] = nn.Sequential(norm2d(norm, filters), nn.ReLU(),
                                       _conv(filters, channels, 3, he=False), nn.Tanh())
        self.net = nn.Sequential(rows)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ResNetCritic(nn.Module):
    """The optimized first block and `down_blocks − 1` more down-blocks, `plain_blocks` blocks
    without resampling, ReLU, global mean pool, linear → one score. `net`'s children are the rows
    of Appendix F's table."""

    def __init__(self, channels: int, *, filters: int, norm: CriticNorm, down_blocks: int,
                 plain_blocks: int) -> None:
        super().__init__()
        rows: OrderedDict[str, nn.Module] = OrderedDict(
            down1=ResidualBlock(channels, filters, resample="down", first=True))
        for i in range(1, down_blocks):
            rows[f"down{i + 1}"] = ResidualBlock(filters, filters, resample="down", norm=norm)
        for i in range(plain_blocks):
            rows[f"plain{i + 1}"] = ResidualBlock(filters, filters, resample=None, norm=norm)
        rows["pool"] = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        rows["linear"] = _linear(filters, 1)
        self.net = nn.Sequential(rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
