"""What a constraint's penalty promises, checked once for the preflight and the conformance kit.

`penalty(critic, real, fake)` returns `Penalty(value, grad_norm)`: `value` is a finite scalar
whose gradient reaches this critic's own weights (a gradient penalty is trained through ∇D, so
∇D is taken with `create_graph=True`), and `grad_norm` holds ‖∇ₓD(p)‖₂ over all of a sample's
axes at each point p the penalty differentiated the critic at, whatever points it chose:
interpolates (WGAN-GP), real samples (R1), generated ones (R2), perturbed real ones (DRAGAN).

The points are observed, not assumed: a forward pre-hook records every input of the critic that
requires grad (a penalty's points; its plain passes on `real` or `fake` need none), in call
order, and ∇D is then computed there independently. The critic is a copy in eval mode, so that
both evaluations are the same function (no dropout, as CT-GAN's passes have).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..core.protocols import LipschitzConstraint

NORM_TOLERANCE = 1e-3  # relative, plus 1e-5 absolute for vanishing gradients
ALL_AXES = "gradient.flatten(1).norm(dim=1)"


@dataclass(frozen=True)
class PenaltyFindings:
    """What was measured, and each broken promise as (what is wrong, how to fix it)."""

    measured: str
    problems: list[tuple[str, str]]


def penalty_contract(critic: nn.Module, constraint: LipschitzConstraint, real: torch.Tensor,
                     fake: torch.Tensor) -> PenaltyFindings:
    """Check the constraint's penalty on (a copy of) `critic` for batches `real` and `fake`
    (different batches: then a penalty at the wrong points cannot pass by accident)."""
    critic = copy.deepcopy(critic).eval()
    points: list[torch.Tensor] = []

    def record(module: nn.Module, args: tuple[Any, ...]) -> None:
        if args and torch.is_tensor(args[0]) and args[0].requires_grad:
            points.append(args[0].detach().clone())

    hook = critic.register_forward_pre_hook(record)
    try:
        penalty = constraint.penalty(critic, real.detach(), fake.detach())
    finally:
        hook.remove()
    if penalty is None:
        return PenaltyFindings("not applicable: the constraint adds no penalty", [])
    problems = _value_problems(critic, penalty.value)
    if not constraint.penalises_input_gradients:
        return PenaltyFindings("no input gradient penalised", problems)
    if not points:
        problems.append(("never differentiates the critic: no input of the critic required grad",
                         "constraint: take ∇D at points that require grad, "
                         "points.detach().requires_grad_(True)"))
        return PenaltyFindings("no points", problems)
    at = torch.cat(points).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(at).sum(), at)
    expected = gradient.flatten(1).norm(dim=1)
    norms = penalty.grad_norm.detach()
    if norms.numel() != len(at):
        problems.append((f"grad_norm of shape {tuple(norms.shape)} for {len(at)} samples",
                         f"constraint: take one norm per sample over all its axes, e.g. {ALL_AXES}"))
        return PenaltyFindings(problems[-1][0], problems)
    difference = (norms.reshape(-1).to(expected) - expected).abs()
    error = (difference / expected.clamp(min=1e-6)).max().item()
    measured = f"largest relative difference from ‖∇D(p)‖₂ at its {len(at)} points: {error:.2g}"
    if (difference > NORM_TOLERANCE * expected + 1e-5).any():
        problems.append((measured, "constraint: its grad_norm is not ‖∇D(p)‖₂ per sample over all "
                                   f"axes at the points it differentiated at; use {ALL_AXES}"))
    return PenaltyFindings(measured, problems)


def _value_problems(critic: nn.Module, value: torch.Tensor) -> list[tuple[str, str]]:
    if not (torch.is_tensor(value) and value.dim() == 0 and torch.isfinite(value)):
        return [(f"value {value!r} is not a finite scalar",
                 "constraint: return a scalar, e.g. a mean over the batch")]
    if not value.requires_grad:
        return [("value has no graph to the critic's weights",
                 "constraint: the penalty trains the critic through ∇D; take it with "
                 "torch.autograd.grad(..., create_graph=True)")]
    weights = [p for p in critic.parameters() if p.requires_grad]
    if weights and all(g is None for g in torch.autograd.grad(value, weights, allow_unused=True,
                                                              retain_graph=True)):
        return [("value's gradient never reaches this critic's weights",
                 "constraint: differentiate the critic it is given, not a copy, and do not "
                 "detach the gradient")]
    return []
