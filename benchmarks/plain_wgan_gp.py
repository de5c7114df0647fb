"""Algorithm 1 of WGAN-GP (Gulrajani et al. 2017) as a careful person writes it in plain PyTorch.

The yardstick of `compare.py`: separate critic passes over the real and the fake batch, the
penalty through `torch.autograd.grad`, torch's default optimizers, the usual `G(z).detach()` and no
toggling of the critic's `requires_grad` in the generator step. With `precision="bf16"` (or
"fp16") it wraps every forward pass in `torch.autocast`, as the PyTorch AMP recipe says; fp16
would also need a gradient scaler, which this yardstick leaves out (it is meant for CPU and bf16).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


class PlainWGANGP:
    def __init__(self, generator: nn.Module, critic: nn.Module, *, lr: float,
                 betas: tuple[float, float], n_critic: int, penalty_weight: float,
                 batch_size: int, device: torch.device, precision: str = "fp32") -> None:
        self.generator, self.critic = generator.to(device), critic.to(device)
        self.generator_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
        self.critic_optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas)
        self.n_critic, self.penalty_weight = n_critic, penalty_weight
        self.batch_size, self.device = batch_size, device
        self.dtype = AUTOCAST.get(precision)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def latent(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.generator.latent_dim, device=self.device)

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        epsilon = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=self.device)
        interpolates = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
        with self.autocast():
            scores = self.critic(interpolates)
        (gradient,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norm = gradient.float().flatten(1).norm(dim=1)
        return self.penalty_weight * ((norm - 1) ** 2).mean()

    def generator_step(self, real_batches: Iterator[torch.Tensor]) -> None:
        """n_critic critic updates, then one generator update (lines 2-12 of Algorithm 1)."""
        for _ in range(self.n_critic):
            real = next(real_batches)
            with self.autocast():
                fake = self.generator(self.latent()).detach()
                real_score = self.critic(real).float().mean()
                fake_score = self.critic(fake).float().mean()
            loss = fake_score - real_score + self.gradient_penalty(real, fake.float())
            self.critic_optimizer.zero_grad()
            loss.backward()
            self.critic_optimizer.step()

        with self.autocast():
            generator_loss = -self.critic(self.generator(self.latent())).float().mean()
        self.generator_optimizer.zero_grad()
        generator_loss.backward()
        self.generator_optimizer.step()

    def train(self, real_batches: Iterator[torch.Tensor], steps: int) -> float:
        """`steps` generator steps; returns the last generator loss (one sync at the end)."""
        for _ in range(steps):
            self.generator_step(real_batches)
        with torch.no_grad(), self.autocast():
            return -self.critic(self.generator(self.latent())).float().mean().item()
