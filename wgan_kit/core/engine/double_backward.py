"""A leaner double backward for the penalty's critic pass: `run.lean_double_backward`.

The gradient penalty differentiates the critic twice. Two of torch's generic formulas for that
second derivative do more work than the mathematics needs:

- ReLU and leaky ReLU have a second derivative of zero, but their double backward returns a
  tensor of zeros, which autograd then carries back through the whole forward pass over the
  interpolates: for an MLP critic, a quarter of the penalty's matrix products multiply zeros.
  Here their backward reads a detached copy of what it needs, so the double backward stops there.
  Values and gradients are torch's own, bit for bit.
- A convolution's double backward computes its weight term as a convolution whose kernel is the
  whole feature map, after copying both operands into a transposed layout. Here the input gradient
  is a function of its own whose backward uses torch's native convolution kernels: a forward
  convolution for the output-gradient term and the ordinary weight gradient for the weight term.
  The penalty's inner gradient also skips the convolutions' weight gradients, which only the
  outer backward needs. The same numbers up to rounding; for the CIFAR ResNet critic the
  penalty's pass takes a third less time in fp32 and half in bf16 (`benchmarks/penalty_pass.py`).

`LeanDoubleBackward()` swaps these in for every `F.relu`, `torch.relu`, `Tensor.relu`,
`F.leaky_relu` and `F.conv1d/2d/3d` call made while it is active, so any critic built from them
gains without change; in-place activations and string paddings keep torch's versions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.graph import GradientEdge, get_gradient_edge
from torch.overrides import TorchFunctionMode

aten = torch.ops.aten


class _ReLU(torch.autograd.Function):
    generate_vmap_rule = True  # usable under torch.func transforms too

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        ctx.save_for_backward(output.detach())  # detached: the double backward stops here

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> torch.Tensor:
        (result,) = ctx.saved_tensors
        return aten.threshold_backward(gradient, result, 0)


class _LeakyReLU(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, slope: float) -> torch.Tensor:
        return F.leaky_relu(x, slope)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        x, ctx.slope = inputs
        ctx.save_for_backward(x.detach())

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return aten.leaky_relu_backward(gradient, x, ctx.slope, False), None


Geometry = tuple[list[int], list[int], list[int], int]  # stride, padding, dilation, groups


def _convolve(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
              geometry: Geometry) -> torch.Tensor:
    stride, padding, dilation, groups = geometry
    return aten.convolution(x, weight, bias, stride, padding, dilation, False,
                            [0] * len(stride), groups)


def _convolution_gradients(gradient: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                           geometry: Geometry, input_: bool, weight_: bool
                           ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    stride, padding, dilation, groups = geometry
    d_input, d_weight, _ = aten.convolution_backward(
        gradient, x, weight, None, stride, padding, dilation, False, [0] * len(stride), groups,
        [input_, weight_, False])
    return d_input, d_weight


class _Convolution(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                geometry: Geometry) -> torch.Tensor:
        return _convolve(x, weight, bias, geometry)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        x, weight, bias, ctx.geometry = inputs
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        ctx.weight_edge = _edge(weight)

    @staticmethod
    def backward(ctx: Any, gradient: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        needs_input, needs_weight, needs_bias, _ = ctx.needs_input_grad
        # The penalty's inner gradient asks for the input's alone: skip the weight's.
        needs_weight = needs_weight and _will_run(ctx.weight_edge)
        if needs_input and torch.is_grad_enabled():  # building the graph of a double backward
            d_input = _InputGradient.apply(gradient, weight, x.detach(), ctx.geometry)
            d_weight = (_convolution_gradients(gradient, x, weight, ctx.geometry, False, True)[1]
                        if needs_weight else None)
        else:  # a first-order backward: one call for both
            d_input, d_weight = _convolution_gradients(gradient, x, weight, ctx.geometry,
                                                       needs_input, needs_weight)
        d_bias = (gradient.sum([d for d in range(gradient.dim()) if d != 1])
                  if ctx.has_bias and needs_bias else None)
        return d_input, d_weight, d_bias, None


def _edge(weight: torch.Tensor) -> GradientEdge | None:
    try:
        return get_gradient_edge(weight) if weight.requires_grad else None
    except RuntimeError:  # e.g. inside a torch.func transform: unknown, so always computed
        return None


def _will_run(edge: GradientEdge | None) -> bool:
    """Whether the running backward pass needs the gradient along `edge`. torch's own backward
    formulas are told; a custom function asks the engine, through the private call behind the
    public `register_multi_grad_hook`. Where that cannot answer (no edge, a torch without the
    call, or a leaf that `autograd.grad` was asked for) the gradient is computed."""
    will_execute = getattr(torch._C, "_will_engine_execute_node", None)
    if edge is None or will_execute is None:
        return True
    try:
        return bool(will_execute(edge.node))
    except RuntimeError:
        return True


class _InputGradient(torch.autograd.Function):
    """∂⟨g, conv(x, W)⟩/∂x: linear in g and W, not dependent on x (kept for its shape)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(gradient: torch.Tensor, weight: torch.Tensor, x: torch.Tensor,
                geometry: Geometry) -> torch.Tensor:
        return _convolution_gradients(gradient, x, weight, geometry, True, False)[0]

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        gradient, weight, x, ctx.geometry = inputs
        ctx.save_for_backward(gradient, weight, x)

    @staticmethod
    def backward(ctx: Any, outer: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        gradient, weight, x = ctx.saved_tensors
        needs_gradient, needs_weight, _, _ = ctx.needs_input_grad
        # ⟨outer, ∂⟨g, conv(x, W)⟩/∂x⟩ = ⟨g, conv(outer, W)⟩: a forward convolution in g, and
        # in W the weight gradient of conv(outer, W) against g.
        d_gradient = _convolve(outer, weight, None, ctx.geometry) if needs_gradient else None
        d_weight = (_convolution_gradients(gradient, outer, weight, ctx.geometry, False, True)[1]
                    if needs_weight else None)
        return d_gradient, d_weight, None, None


_RELUS = (F.relu, torch.relu, torch.Tensor.relu)
_CONVOLUTIONS = {F.conv1d: 1, F.conv2d: 2, F.conv3d: 3}
_CONVOLUTION_ARGUMENTS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")


class LeanDoubleBackward(TorchFunctionMode):
    """While active, ReLU, leaky ReLU and convolution calls run the versions above."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in _RELUS and not kwargs.get("inplace"):
            return _ReLU.apply(args[0])
        if func is F.leaky_relu and not kwargs.get("inplace"):
            slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
            return _LeakyReLU.apply(args[0], slope)
        if func in _CONVOLUTIONS:
            return _convolution(_CONVOLUTIONS[func], func, args, kwargs)
        return func(*args, **kwargs)


def _convolution(dims: int, func: Any, args: tuple, kwargs: dict) -> torch.Tensor:
    given = {**dict(zip(_CONVOLUTION_ARGUMENTS, args)), **kwargs}
    x, weight, bias = given["input"], given["weight"], given.get("bias")
    padding = given.get("padding", 0)
    if isinstance(padding, str):  # "same" and "valid": torch's own
        return func(*args, **kwargs)

    def per_dim(value: int | tuple[int, ...]) -> list[int]:
        return list(value) if isinstance(value, tuple | list) else [value] * dims

    geometry = (per_dim(given.get("stride", 1)), per_dim(padding),
                per_dim(given.get("dilation", 1)), given.get("groups", 1))
    device = x.device.type
    if torch.is_autocast_enabled(device):  # cast as autocast would, then compute outside it
        dtype = torch.get_autocast_dtype(device)
        x, weight = x.to(dtype), weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
    with torch.autocast(device, enabled=False):
        return _Convolution.apply(x, weight, bias, geometry)
