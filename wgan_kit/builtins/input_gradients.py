"""What the gradient penalties share: the points they are taken at, and ‖∇D‖ there.

Every penalty of this family is trained through ∇D itself, so the gradient is taken with
`create_graph=True`; the norm is taken per sample over all of a sample's axes (an image's pixels
and channels together), with a tiny constant inside the square root that keeps the norm's gradient
finite where the critic's gradient vanishes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn


def per_sample(values: Tensor, like: Tensor) -> Tensor:
    """`values` (N,) shaped to broadcast over the samples of `like` (N, *shape)."""
    return values.reshape((like.shape[0],) + (1,) * (like.dim() - 1))


def interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """x̂ = ε·x + (1 − ε)·x̃ with one ε ~ U[0, 1] per sample (WGAN-GP Algorithm 1, line 4)."""
    import torch

    epsilon = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
    return per_sample(epsilon, real) * real + (1 - per_sample(epsilon, real)) * fake


def input_gradient_norms(critic: nn.Module, points: Tensor) -> Tensor:
    """‖∇D(x)‖₂ at each of `points` (N,), differentiable with respect to the critic's weights."""
    import torch

    points = points.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    # 1e-20 (not larger): a critic that starts small, as N(0, 0.02) nets do, has input gradients
    # near 1e-5, whose norm a larger constant would visibly inflate.
    return (gradient.flatten(1).square().sum(dim=1) + 1e-20).sqrt()
