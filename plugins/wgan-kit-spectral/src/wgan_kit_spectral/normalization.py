"""The `spectral` constraint: torch's spectral-norm parametrization on every linear and conv
layer."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

# Layers whose weight is a linear map: linear, convolution and transposed convolution of any
# dimension. torch picks the output axis itself (axis 1 for transposed convolutions).
NORMALIZED_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


class SpectralNormalization:
    """Divides each weight by its largest singular value; no penalty, no projection."""

    penalises_input_gradients = False

    def __init__(self, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def prepare(self, critic: nn.Module) -> nn.Module:
        layers = [m for m in critic.modules() if isinstance(m, NORMALIZED_LAYERS)]
        for layer in layers:
            spectral_norm(layer, n_power_iterations=self.n_power_iterations, eps=self.eps)
        return critic

    def penalty(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> None:
        return None
