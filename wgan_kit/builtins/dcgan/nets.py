"""The DCGAN generator and critic of the `dcgan` plugin."""

from __future__ import annotations

from torch import nn

from ..activations import activation, channel_factor
from ..conditioning import ConditionalGenerator, CriticWithClassHead, LabelledSequential
from ..normalization import norm2d
from ..option_types import CriticNorm, GeneratorNorm, NonlinearityOrGate


def _double_side(channels_in: int, channels_out: int) -> nn.ConvTranspose2d:
    # 5×5, stride 2, output exactly twice the input side (TensorFlow's "SAME" transposed conv).
    return nn.ConvTranspose2d(channels_in, channels_out, 5, stride=2, padding=2, output_padding=1)


def _halve_side(channels_in: int, channels_out: int) -> nn.Conv2d:
    return nn.Conv2d(channels_in, channels_out, 5, stride=2, padding=2)


def _same_side(channels_in: int, channels_out: int) -> nn.Conv2d:
    return nn.Conv2d(channels_in, channels_out, 3, padding=1)


def _spread(extra_layers: int, resolutions: int) -> list[int]:
    """How many of `extra_layers` go to each of `resolutions` (lowest first): evenly, the remainder
    to the lowest resolutions, where a layer costs least."""
    return [extra_layers // resolutions + (i < extra_layers % resolutions)
            for i in range(resolutions)]


def _init_as_dcgan(net: nn.Module) -> None:
    """Weights N(0, 0.02²) and zero biases (Radford et al. 2016; the released code's stdev 0.02)."""
    for module in net.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)


class DCGANGenerator(ConditionalGenerator):
    def __init__(self, latent_dim: int, channels: int, start: int, doublings: int, *,
                 filters: int, constant_filters: bool, norm: GeneratorNorm,
                 nonlinearity: NonlinearityOrGate, extra_layers: int = 0,
                 num_classes: int | None = None) -> None:
        super().__init__(latent_dim, num_classes)
        # Channels at each side, from the start side up: halving each time the side doubles.
        widths = [filters if constant_filters else filters * 2 ** (doublings - 1 - i)
                  for i in range(doublings)]
        factor = channel_factor(nonlinearity)
        extras = _spread(extra_layers, doublings)

        def same_side(width: int, count: int) -> list[nn.Module]:
            return [module for _ in range(count) for module in (
                _same_side(width, factor * width), norm2d(norm, factor * width, num_classes),
                activation(nonlinearity))]

        layers: list[nn.Module] = [
            nn.Linear(latent_dim, factor * widths[0] * start * start),
            nn.Unflatten(1, (factor * widths[0], start, start)),
            norm2d(norm, factor * widths[0], num_classes), activation(nonlinearity),
            *same_side(widths[0], extras[0])]
        for width_in, width_out, count in zip(widths, widths[1:], extras[1:]):
            layers += [_double_side(width_in, factor * width_out),
                       norm2d(norm, factor * width_out, num_classes),
                       activation(nonlinearity), *same_side(width_out, count)]
        layers += [_double_side(widths[-1], channels), nn.Tanh()]
        self.net = LabelledSequential(*layers)
        _init_as_dcgan(self)


class DCGANCritic(CriticWithClassHead):
    def __init__(self, channels: int, start: int, doublings: int, *, filters: int,
                 norm: CriticNorm, nonlinearity: NonlinearityOrGate,
                 extra_layers: int = 0, num_classes: int | None = None) -> None:
        super().__init__()
        widths = [filters * 2**i for i in range(doublings)]
        factor = channel_factor(nonlinearity)
        extras = _spread(extra_layers, doublings)[::-1]  # highest resolution first, as the layers

        def normalized(layer: nn.Module, width: int) -> list[nn.Module]:
            return [layer, norm2d(norm, factor * width), activation(nonlinearity)]

        def same_side(width: int, count: int) -> list[nn.Module]:
            return [module for _ in range(count)
                    for module in normalized(_same_side(width, factor * width), width)]

        layers: list[nn.Module] = [_halve_side(channels, factor * widths[0]),
                                   activation(nonlinearity), *same_side(widths[0], extras[0])]
        for width_in, width_out, count in zip(widths, widths[1:], extras[1:]):
            layers += [*normalized(_halve_side(width_in, factor * width_out), width_out),
                       *same_side(width_out, count)]
        layers += [nn.Flatten(), nn.Linear(widths[-1] * start * start, 1)]
        self.net = nn.Sequential(*layers)
        self.add_class_head(widths[-1] * start * start, num_classes)
        _init_as_dcgan(self)
