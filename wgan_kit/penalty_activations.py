"""ReLU and leaky ReLU for the penalty's critic pass, without their zero second derivative.

The gradient penalty differentiates the critic twice. torch's ReLU and leaky ReLU have a
second derivative of zero, but their double backward still returns a tensor of zeros for the
activation's input, which autograd then carries back through the whole forward pass over the
interpolates: for an MLP critic, a quarter of the penalty's matrix products multiply zeros.
Here their backward reads a detached copy of what it needs, so the double backward stops there.
The values and the gradients are torch's own, bit for bit (`tests/test_acceleration.py`).

`SkipZeroCurvature()` swaps them in for every `F.relu`, `torch.relu`, `Tensor.relu` and
`F.leaky_relu` call made while it is active, so any critic built from them gains without change;
in-place calls keep torch's version.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


class _ReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        result = torch.relu(x)
        ctx.save_for_backward(result.detach())  # detached: the double backward stops here
        return result

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> torch.Tensor:
        (result,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(gradient, result, 0)


class _LeakyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(x.detach())
        ctx.slope = slope
        return F.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return torch.ops.aten.leaky_relu_backward(gradient, x, ctx.slope, False), None


_RELUS = (F.relu, torch.relu, torch.Tensor.relu)


class SkipZeroCurvature(TorchFunctionMode):
    """While active, ReLU and leaky ReLU calls run the versions above."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if not kwargs.get("inplace"):
            if func in _RELUS:
                return _ReLU.apply(args[0])
            if func is F.leaky_relu:
                slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
                return _LeakyReLU.apply(args[0], slope)
        return func(*args, **kwargs)
