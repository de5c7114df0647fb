"""`ct`: WGAN-GP's penalty plus the consistency term of CT-GAN (Wei et al. 2018, "Improving the
improved training of Wasserstein GANs: a consistency term and its dual effect", Section 3).

The critic loss gains λ₂ · E_x[max(0, d(x′, x″) − M′)], where x′ and x″ are two passes of the
critic over the same real batch with independent dropout, and
d = (D(x′) − D(x″))² + 0.1 · mean_j (D_j(x′) − D_j(x″))², D_j the critic's second-to-last layer.
Defaults λ = 10 (the GP term), λ₂ = 2, M′ = 0, as in the paper's experiments.

The term needs a stochastic critic. `prepare` gives the critic dropout (p = 0.5) at the input of
every linear and convolution layer except the first, i.e. after each hidden activation, as the
paper's critics have it; being forward pre-hooks, they leave the critic's weights and state_dict
unchanged. Dropout then acts in every training pass of the critic (D(x), D(G(z)), the GP's
interpolates), and not in eval mode. The second-to-last layer is read as the input of the
critic's last linear or convolution layer (in the order the critic registers them; in a
conditional critic whose class head is registered last, that is the class head's input).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, Penalty, WganKitError, hookimpl

from .gradient_penalty import GradientPenalty

if TYPE_CHECKING:
    from torch import Tensor, nn


class ConsistencyTermOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(10.0, ge=0, le=1e6, description="λ, the gradient penalty coefficient.")
    consistency_weight: float = Field(2.0, ge=0, le=1e6,
                                      description="λ₂, the consistency term's coefficient.")
    margin: float = Field(0.0, ge=0, le=1e6, description="M′: distances below it cost nothing.")
    dropout: float = Field(0.5, ge=0, lt=1,
                           description="Dropout probability after each hidden layer of the "
                                       "critic (what makes its two passes differ).")


class DropoutBefore:
    """A forward pre-hook: dropout on a layer's input while the layer is in training mode."""

    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        from torch.nn.functional import dropout

        return (dropout(args[0], self.p, module.training), *args[1:])


def weighted_layers(critic: nn.Module) -> list[nn.Module]:
    """The critic's linear and convolution layers, in the order it registers them."""
    from torch import nn

    return [m for m in critic.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]


class ConsistencyTerm:
    penalises_input_gradients = True

    def __init__(self, weight: float = 10.0, consistency_weight: float = 2.0,
                 margin: float = 0.0, dropout: float = 0.5) -> None:
        self.gradient_penalty = GradientPenalty(weight)
        self.consistency_weight = consistency_weight
        self.margin = margin
        self.dropout = dropout

    def prepare(self, critic: nn.Module) -> nn.Module:
        layers = weighted_layers(critic)
        if len(layers) < 2:
            raise WganKitError("constraint 'ct': the critic needs a hidden layer (two linear or "
                               "convolution layers) for the consistency term's dropout; choose "
                               "a deeper critic")
        for layer in layers[1:]:
            layer.register_forward_pre_hook(DropoutBefore(self.dropout))
        return critic

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty:
        penalty = self.gradient_penalty.penalty(critic, real, fake)
        (scores, features), (again, features_again) = (self.scores_and_features(critic, real)
                                                       for _ in range(2))
        distance = ((scores - again).square()
                    + 0.1 * (features - features_again).square().flatten(1).mean(dim=1))
        consistency = (distance - self.margin).clamp(min=0).mean()
        return Penalty(penalty.value + self.consistency_weight * consistency, penalty.grad_norm)

    @staticmethod
    def scores_and_features(critic: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
        """D(x) (N,) and the input of the critic's last layer, from one (dropout-perturbed)
        pass. Scores used as values come from the critic's plain pass (`scores`, where the
        engine hands a wrapper that scales gradients under fp16)."""
        seen: list[Tensor] = []
        hook = weighted_layers(critic)[-1].register_forward_pre_hook(
            lambda module, args: seen.append(args[0]))
        try:
            scores = getattr(critic, "scores", critic)(x).reshape(len(x))
        finally:
            hook.remove()
        return scores, seen[-1]


def build(options: ConsistencyTermOptions) -> ConsistencyTerm:
    return ConsistencyTerm(options.weight, options.consistency_weight, options.margin,
                           options.dropout)


@hookimpl
def register_components(register):
    register(Component("constraint", "ct", build, ConsistencyTermOptions,
                       "CT-GAN: the gradient penalty plus a consistency term over two dropout "
                       "passes on real data (Wei et al. 2018)."))
