"""`clip`: weight clipping, the original WGAN's constraint (Arjovsky et al. 2017, Algorithm 1).

After every critic optimizer step, every critic parameter is clipped elementwise to [−c, c].
Clipping comes with WGAN's own optimizer, RMSProp at α = 5e-5: the WGAN paper reports that
momentum-based optimizers such as Adam destabilise training with clipping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

if TYPE_CHECKING:
    from torch import Tensor, nn


class WeightClippingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    c: float = Field(0.01, gt=0, le=1e6, description="Clipping bound: weights stay in [−c, c].")


class WeightClipping:
    penalises_input_gradients = False

    def __init__(self, c: float = 0.01) -> None:
        self.c = c

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> None:
        return None

    def project(self, critic: nn.Module) -> None:
        import torch

        with torch.no_grad():
            for parameter in critic.parameters():
                parameter.clamp_(-self.c, self.c)


def build(options: WeightClippingOptions) -> WeightClipping:
    return WeightClipping(options.c)


@hookimpl
def register_components(register):
    register(Component("constraint", "clip", build, WeightClippingOptions,
                       "Weight clipping to [−c, c] after each critic step (the original WGAN).",
                       {"run.optimizer": "rmsprop", "run.lr": 5e-5}))
