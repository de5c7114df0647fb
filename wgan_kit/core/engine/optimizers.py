"""The optimizers of both nets, and what Algorithm 1 varies from one generator step to the next:
the learning rate's schedule, the number of critic steps, the generator's moving average."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from .acceleration import fused_option
from ..config import RunSettings


def make_optimizer(parameters: Iterator[nn.Parameter], run: RunSettings, device: torch.device,
                   *, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if run.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=run.lr, betas=run.betas, weight_decay=weight_decay,
                                **fused_option(torch.optim.Adam, run, device))
    return torch.optim.RMSprop(parameters, lr=run.lr, weight_decay=weight_decay,
                               **fused_option(torch.optim.RMSprop, run, device))


def learning_rate(run: RunSettings, step: int) -> float:
    """α for generator step `step` (counting from 0): constant, or decayed linearly to 0 over
    run.steps, as the CIFAR ResNet code does (α·(1 − step/steps); WGAN-GP Appendix F). It depends
    on the step alone, so a resumed run follows the same schedule."""
    if run.lr_schedule == "linear":
        return run.lr * (1 - step / run.steps)
    return run.lr


def critic_steps(run: RunSettings, step: int) -> int:
    """Critic updates before generator step `step` (counting from 0). The original WGAN code
    trains the critic near optimality early on and now and then: 100 steps for the first 25
    generator steps and every 500th."""
    if run.critic_schedule == "wgan" and (step < 25 or step % 500 == 0):
        return 100
    return run.n_critic


def warmed_up_decay(decay: float, updates: int) -> float:
    """The decay of the moving average's next update after `updates` of them: min(decay,
    (1 + t) / (10 + t)), as TensorFlow's ExponentialMovingAverage with `num_updates`, so that a
    short run's average is not held back by the initial weights (0.995 would keep 37 % of them
    after 200 steps)."""
    return min(decay, (1 + updates) / (10 + updates))


@torch.no_grad()
def update_moving_average(average: nn.Module, live: nn.Module, decay: float) -> None:
    """θ_avg ← decay·θ_avg + (1 − decay)·θ for the weights; buffers (batch-norm statistics) are
    copied, since averaging them would describe no network that was ever trained."""
    for averaged, current in zip(average.parameters(), live.parameters()):
        averaged.lerp_(current, 1 - decay)
    for averaged, current in zip(average.buffers(), live.buffers()):
        averaged.copy_(current)
