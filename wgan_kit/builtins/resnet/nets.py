"""The residual generators and critics of the `resnet` plugin: WGAN-GP Appendix F's CIFAR-10
ResNet, and the 101-layer bottleneck ResNet of Figure 2 (the released `gan_64x64.py`)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from torch import nn

from ..conditioning import ConditionalGenerator, CriticWithClassHead, LabelledSequential
from ..normalization import norm2d
from ..option_types import CriticNorm, GeneratorNorm


def _initialized(conv: nn.Conv2d | nn.ConvTranspose2d, *, he: bool) -> nn.Module:
    """He-uniform weights before a ReLU, Glorot-uniform elsewhere (shortcuts, outputs), as the
    released code's `he_init`; zero biases."""
    if he:
        nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


def _conv(channels_in: int, channels_out: int, kernel: int, *, he: bool, stride: int = 1,
          bias: bool = True) -> nn.Module:
    """A convolution keeping the side (stride 1) or halving it (stride 2)."""
    return _initialized(nn.Conv2d(channels_in, channels_out, kernel, stride=stride,
                                  padding=kernel // 2, bias=bias), he=he)


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
    optimized first block, conv, ReLU, conv, mean pool, with nothing before its first conv.
    With `num_classes`, its batch norms are class-conditional."""

    takes_labels = True

    def __init__(self, channels_in: int, channels_out: int, *,
                 resample: Literal["up", "down"] | None, norm: CriticNorm = "none",
                 first: bool = False, num_classes: int | None = None) -> None:
        super().__init__()
        up = [nn.Upsample(scale_factor=2, mode="nearest")] if resample == "up" else []
        down = [nn.AvgPool2d(2)] if resample == "down" else []
        preactivation = [] if first else [norm2d(norm, channels_in, num_classes), nn.ReLU()]
        middle = channels_in if resample == "down" and not first else channels_out
        self.branch = LabelledSequential(*preactivation, *up,
                                         _conv(channels_in, middle, 3, he=True),
                                         norm2d(norm, middle, num_classes), nn.ReLU(),
                                         _conv(middle, channels_out, 3, he=True), *down)
        if resample is None and channels_in == channels_out:
            self.shortcut: nn.Module = nn.Identity()
        else:  # pooling and a 1×1 convolution commute; pooling first is cheaper
            self.shortcut = nn.Sequential(*up, *down, _conv(channels_in, channels_out, 1, he=False))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.shortcut(x) + self.branch(x, labels)


class ResNetGenerator(ConditionalGenerator):
    """z → linear → filters×s₀×s₀ → `doublings` up-blocks (→ `plain_blocks` more) → norm, ReLU,
    conv 3×3, tanh. `net`'s children are the rows of Appendix F's table."""

    def __init__(self, latent_dim: int, channels: int, start: int, doublings: int, *,
                 filters: int, norm: GeneratorNorm, plain_blocks: int,
                 num_classes: int | None = None) -> None:
        super().__init__(latent_dim, num_classes)
        rows: OrderedDict[str, nn.Module] = OrderedDict(
            linear=nn.Sequential(_linear(latent_dim, filters * start * start),
                                 nn.Unflatten(1, (filters, start, start))))
        for i in range(doublings):
            rows[f"up{i + 1}"] = ResidualBlock(filters, filters, resample="up", norm=norm,
                                               num_classes=num_classes)
        for i in range(plain_blocks):
            rows[f"plain{i + 1}"] = ResidualBlock(filters, filters, resample=None, norm=norm,
                                                  num_classes=num_classes)
        rows["output"] = LabelledSequential(norm2d(norm, filters, num_classes), nn.ReLU(),
                                            _conv(filters, channels, 3, he=False), nn.Tanh())
        self.net = LabelledSequential(rows)


class ResNetCritic(CriticWithClassHead):
    """The optimized first block and `down_blocks − 1` more down-blocks, `plain_blocks` blocks
    without resampling, ReLU, global mean pool, linear → one score. `net`'s children are the rows
    of Appendix F's table."""

    def __init__(self, channels: int, *, filters: int, norm: CriticNorm, down_blocks: int,
                 plain_blocks: int, num_classes: int | None = None) -> None:
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
        self.add_class_head(filters, num_classes)


class BottleneckBlock(nn.Module):
    """shortcut(x) + 0.3·branch(x), the released `BottleneckResidualBlock`. Branch: ReLU,
    conv 1×1 to half the input channels, ReLU, conv 3×3 to half the output channels (stride 2 for
    `down`, a stride-2 transposed conv for `up`), ReLU, conv 1×1 to the output channels (no bias),
    norm. Shortcut: identity when nothing changes, else a 1×1 conv (stride 2 for `down`; for `up`,
    to four times the channels, then a pixel shuffle: the code's sub-pixel conv)."""

    def __init__(self, channels_in: int, channels_out: int, *,
                 resample: Literal["up", "down"] | None, norm: CriticNorm) -> None:
        super().__init__()
        inner_in, inner_out = channels_in // 2, channels_out // 2
        if resample == "up":
            middle = _initialized(nn.ConvTranspose2d(inner_in, inner_out, 3, stride=2, padding=1,
                                                     output_padding=1), he=True)
        else:
            middle = _conv(inner_in, inner_out, 3, he=True, stride=2 if resample else 1)
        self.branch = nn.Sequential(nn.ReLU(), _conv(channels_in, inner_in, 1, he=True), nn.ReLU(),
                                    middle, nn.ReLU(),
                                    _conv(inner_out, channels_out, 1, he=True, bias=False),
                                    norm2d(norm, channels_out))
        if resample is None and channels_in == channels_out:
            self.shortcut: nn.Module = nn.Identity()
        elif resample == "up":
            self.shortcut = nn.Sequential(_conv(channels_in, 4 * channels_out, 1, he=False),
                                          nn.PixelShuffle(2))
        else:
            self.shortcut = _conv(channels_in, channels_out, 1, he=False,
                                  stride=2 if resample else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + 0.3 * self.branch(x)


def deep_widths(filters: int, doublings: int) -> list[int]:
    """Channels at each side from the start side up: filters/2 at the data's side, doubling with
    each halving (the released 64×64 code: 8·DIM at 4×4 down to DIM/2 at 64×64)."""
    return [filters // 2 * 2 ** (doublings - i) for i in range(doublings + 1)]


class DeepResNetGenerator(nn.Module):
    """z → linear → s₀×s₀ → at each side `plain_blocks` bottleneck blocks (one fewer at the data's
    side), an up-block between sides → conv 1×1 → tanh(x/5): the released `ResnetGenerator`,
    101 layers at 64×64 with plain_blocks = 6."""

    def __init__(self, latent_dim: int, channels: int, start: int, doublings: int, *,
                 filters: int, norm: GeneratorNorm, plain_blocks: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        widths = deep_widths(filters, doublings)
        rows: OrderedDict[str, nn.Module] = OrderedDict(
            linear=nn.Sequential(_linear(latent_dim, widths[0] * start * start),
                                 nn.Unflatten(1, (widths[0], start, start))))
        for i, width in enumerate(widths):
            side = start * 2**i
            for j in range(plain_blocks - (i == doublings)):
                rows[f"side{side}_{j + 1}"] = BottleneckBlock(width, width, resample=None, norm=norm)
            if i < doublings:
                rows[f"up{i + 1}"] = BottleneckBlock(width, widths[i + 1], resample="up", norm=norm)
        rows["output"] = _conv(widths[-1], channels, 1, he=False)
        self.net = nn.Sequential(rows)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z) / 5)


class DeepResNetCritic(nn.Module):
    """conv 1×1 → at each side `plain_blocks` bottleneck blocks (one fewer at the data's side), a
    down-block between sides → linear on s₀×s₀ → score / 5: the released `ResnetDiscriminator`,
    101 layers at 64×64 with plain_blocks = 6."""

    def __init__(self, channels: int, start: int, doublings: int, *, filters: int,
                 norm: CriticNorm, plain_blocks: int) -> None:
        super().__init__()
        widths = deep_widths(filters, doublings)[::-1]
        rows: OrderedDict[str, nn.Module] = OrderedDict(input=_conv(channels, widths[0], 1, he=False))
        for i, width in enumerate(widths):
            side = start * 2 ** (doublings - i)
            for j in range(plain_blocks - (i == 0)):
                rows[f"side{side}_{j + 1}"] = BottleneckBlock(width, width, resample=None, norm=norm)
            if i < doublings:
                rows[f"down{i + 1}"] = BottleneckBlock(width, widths[i + 1], resample="down",
                                                       norm=norm)
        rows["linear"] = nn.Sequential(nn.Flatten(), _linear(widths[-1] * start * start, 1))
        self.net = nn.Sequential(rows)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1) / 5
