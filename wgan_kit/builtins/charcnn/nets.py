"""The 1-D residual generator and critic of the `charcnn` plugin."""

from __future__ import annotations

import torch
from torch import nn

RESIDUAL_SCALE = 0.3  # the released code's `inputs + 0.3*output`


class ResidualBlock1d(nn.Module):
    """x + 0.3·(ReLU, conv1d k=5, ReLU, conv1d k=5)(x), keeping channels and length."""

    def __init__(self, filters: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(nn.ReLU(), nn.Conv1d(filters, filters, 5, padding=2),
                                    nn.ReLU(), nn.Conv1d(filters, filters, 5, padding=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.branch(x)


class CharCNNGenerator(nn.Module):
    def __init__(self, latent_dim: int, length: int, vocabulary: int, *, filters: int,
                 blocks: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(nn.Linear(latent_dim, filters * length),
                                 nn.Unflatten(1, (filters, length)),
                                 *(ResidualBlock1d(filters) for _ in range(blocks)),
                                 nn.Conv1d(filters, vocabulary, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.net(z).transpose(1, 2)  # (N, V, T) → (N, T, V)
        return torch.softmax(logits, dim=-1)


class CharCNNCritic(nn.Module):
    def __init__(self, length: int, vocabulary: int, *, filters: int, blocks: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(vocabulary, filters, 1),
                                 *(ResidualBlock1d(filters) for _ in range(blocks)),
                                 nn.Flatten(), nn.Linear(filters * length, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(1, 2)).squeeze(1)  # convolve along the sequence
