"""Class conditioning for the built-in conv nets: the AC-GAN form of WGAN-GP's conditional CIFAR-10
model (Section 5.3; the released `gan_cifar_resnet.py` with CONDITIONAL and ACGAN on).

The generator's batch norms take a scale and an offset per class (the released `cond_batchnorm`,
after de Vries et al. 2017); the critic keeps one unconditional score and gains a linear head that
names the class, read from the same features (`classify`). A net is conditional when the spec it
is built for names classes, which composition does for runs with `run.conditional`.
"""

from __future__ import annotations

import torch
from torch import nn

from wgan_kit import SampleSpec, WganKitError

from .option_types import GeneratorNorm


def cycled_labels(n: int, num_classes: int, device: torch.device) -> torch.Tensor:
    """0, 1, …, K−1, 0, 1, …: the labels of a conditional generator called without any, so that
    code unaware of classes (pictures, checks) still sees every class, evenly."""
    return torch.arange(n, device=device) % num_classes


def generator_classes(spec: SampleSpec, norm: GeneratorNorm, net: str) -> int | None:
    """The classes a generator with `norm` conditions on: the spec's; classes come in through
    the batch norms, so a generator without them cannot take any."""
    if spec.num_classes is not None and norm == "none":
        raise WganKitError(f"gen.norm: {net!r} with norm 'none' has no batch norm to condition on "
                           "the class (run.conditional); use gen.norm=batch")
    return spec.num_classes


class ClassConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine map, then γ[y]·x + β[y] for each sample's class y."""

    takes_labels = True

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.offset = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.offset.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.norm(x) * self.scale(labels)[:, :, None, None]
                + self.offset(labels)[:, :, None, None])


class LabelledSequential(nn.Sequential):
    """nn.Sequential that hands the class labels to the layers that take them (`takes_labels`)."""

    takes_labels = True

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, labels) if getattr(layer, "takes_labels", False) else layer(x)
        return x


class ConditionalGenerator(nn.Module):
    """A generator whose `net` (a LabelledSequential) maps z, and the labels y when the generator
    is built for classes, to samples. Called without y, it cycles through the classes."""

    net: LabelledSequential

    def __init__(self, latent_dim: int, num_classes: int | None) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        if num_classes is not None:  # the attribute marks a conditional generator
            self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None and hasattr(self, "num_classes"):
            labels = cycled_labels(len(z), self.num_classes, z.device)
        return self.net(z, labels)


class CriticWithClassHead(nn.Module):
    """A critic whose `net` ends with its linear score layer. Built for classes, it also names the
    class of each sample from the features that layer reads (`classify`): AC-GAN's head."""

    net: nn.Sequential

    def add_class_head(self, width: int, num_classes: int | None) -> None:
        """`width`: the features the score layer reads."""
        if num_classes is not None:
            self.classes = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)

    def classify(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (N,) and class logits (N, K) from one pass."""
        if not hasattr(self, "classes"):
            raise WganKitError("critic: built without classes, so it cannot name them; build it "
                               "for a spec with num_classes (as run.conditional does)")
        features = self.net[:-1](x)
        return self.net[-1](features).squeeze(1), self.classes(features)
