"""The five contracts every part of a training run meets, what a conditional run asks more of its
data and critic, the feature extractor that scores images, and the view of a run that plugins and
watchers get.

Anything that satisfies these protocols trains, whether it comes from a registered plugin or is a
user's own `nn.Module`. The engine relies on nothing else: read this file to know what a plugin owes.

torch is imported only for type checking, so that importing the core stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import torch
    from torch import Tensor, nn

    from .run_folder import RunFolder
    from .config import RunConfig, RunSettings


@dataclass(frozen=True)
class SampleSpec:
    """What one sample of a data source looks like, so that nets can size themselves.

    `kind` is one of "points" (shape (D,)), "image" (shape (C, H, W)) or "sequence"
    (shape (T, V): one-hot or softmax rows over a vocabulary of V symbols); a plugin may introduce
    another kind, which the built-in nets then refuse with a clear error. `num_classes`: how many
    classes a labelled source's samples fall into; the nets see it only in a conditional run
    (`run.conditional`), and are then built to take the class (generator) and name it (critic).
    """

    shape: tuple[int, ...]
    kind: str
    value_range: tuple[float, float] | None = None
    num_classes: int | None = None


@runtime_checkable
class Generator(Protocol):
    """Maps a latent batch z ~ N(0, I) of shape (N, latent_dim) to N samples of `SampleSpec.shape`.

    A conditional generator (AC-GAN) also has `num_classes` and is called as G(z, labels), the
    labels an (N,) integer tensor; called as G(z) it should cycle through the classes.
    """

    latent_dim: int

    def __call__(self, z: Tensor, /) -> Tensor: ...


@runtime_checkable
class Critic(Protocol):
    """Scores a batch of samples: (N, *shape) -> (N,) or (N, 1). Higher means "more real".

    A conditional run's critic is a `ClassifyingCritic`; penalties and the Wasserstein estimate
    only ever see the scores.
    """

    def __call__(self, x: Tensor, /) -> Tensor: ...


@runtime_checkable
class ClassifyingCritic(Critic, Protocol):
    """A conditional run's critic (AC-GAN): it also names each sample's class.

    `classify(x)` gives the scores (N,) and the class logits (N, num_classes) from one pass, so
    that the class head reads the features the scores come from.
    """

    def classify(self, x: Tensor, /) -> tuple[Tensor, Tensor]: ...


class Penalty(NamedTuple):
    """A term added to the critic loss, with the per-sample gradient norms behind it.

    `value` is a finite scalar trained through ∇D: its gradient reaches the critic's own weights
    (take ∇D with `torch.autograd.grad(..., create_graph=True)`). `grad_norm` holds ‖∇ₓD(p)‖₂ over
    all of a sample's axes at each point p the penalty differentiated the critic at, whatever
    points it chose (interpolates, real or generated samples, perturbed ones), in call order.
    The preflight and the conformance kit check both (`wgan_kit.training.penalty_contract`).
    """

    value: Tensor
    grad_norm: Tensor


@runtime_checkable
class LipschitzConstraint(Protocol):
    """One way of keeping the critic (close to) 1-Lipschitz.

    The three ways the literature uses each have a place: `penalty` adds a term to every critic
    loss (gradient penalty), or returns None; two optional methods act on the critic itself:
    `prepare(critic) -> critic` transforms it once when it is built (spectral normalization), and
    `project(critic) -> None` runs after every critic optimizer step (weight clipping). A
    constraint that lacks one leaves the critic as it is there: the engine calls them through
    `prepare_critic` and `project_weights`.

    `penalises_input_gradients` is True when the constraint penalises the critic's gradient with
    respect to each input separately; such a penalty is only valid for a critic that scores samples
    independently (WGAN-GP, Section 4: "No critic batch normalization").

    `critic` in `penalty` may be a wrapper (eager, under autocast, gradient-scaled under fp16):
    call it for gradients, and `getattr(critic, "scores", critic)(x)` for scores used as values
    (CT-GAN's consistency term). `fake` is detached; draw randomness from torch's global
    generator, so that runs repeat and resume exactly.

    `penalty_every` (optional, default 1): take `penalty` only at every k-th critic update,
    counting updates from the start of the run; the constraint scales its own value (lazy
    regularisation, StyleGAN2 Section 3.1, multiplies by k). The engine keeps the count in its
    checkpoint, so a resumed run penalises at the same updates.
    """

    penalises_input_gradients: bool

    def penalty(self, critic: nn.Module, real: Tensor, fake: Tensor) -> Penalty | None: ...


def prepare_critic(constraint: LipschitzConstraint, critic: nn.Module) -> nn.Module:
    """The critic as `constraint.prepare` transforms it at build time; the critic itself when the
    constraint has no `prepare` (a penalty needs none)."""
    prepare = getattr(constraint, "prepare", None)
    return critic if prepare is None else prepare(critic)


def project_weights(constraint: LipschitzConstraint, critic: nn.Module) -> None:
    """`constraint.project(critic)` after a critic optimizer step, when the constraint has one."""
    project = getattr(constraint, "project", None)
    if project is not None:
        project(critic)


@runtime_checkable
class Objective(Protocol):
    """The game: critic and generator losses from critic scores (each a mean over the batch)."""

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor: ...

    def generator_loss(self, fake_scores: Tensor) -> Tensor: ...


@runtime_checkable
class DataSource(Protocol):
    """Real samples.

    `batches` is an endless stream whose i-th batch depends only on (seed, batch_size, i), so that a
    resumed run can continue it with `skip=i`. A conditional run needs a `LabelledSource`.
    `held_out` gives real samples the critic never trains on. `decode` turns a batch into what a
    person looks at: points stay points, images become uint8 (N, H, W, C) arrays, sequences become
    strings.
    """

    spec: SampleSpec

    def batches(
        self, batch_size: int, *, seed: int, device: torch.device, skip: int = 0
    ) -> Iterator[Tensor]: ...

    def held_out(self, n: int, *, device: torch.device) -> Tensor: ...

    def decode(self, batch: Tensor) -> Any: ...


@runtime_checkable
class LabelledSource(DataSource, Protocol):
    """A source whose samples fall into `spec.num_classes` classes, for conditional runs.

    `labelled_batches` is the `batches` stream (the same batches, the same `skip`) with each
    batch's (N,) integer labels in [0, num_classes).
    """

    def labelled_batches(
        self, batch_size: int, *, seed: int, device: torch.device, skip: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]: ...


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps uint8 images (N, C, H, W) — `DataSource.decode`'s output, channels first — to features
    (N, num_features), for FID and KID (a component of kind "features"). Scores made from them are
    named with `label` ("classifier" gives "classifier FID"); only the standard FID Inception
    network has the empty label. An extractor that also has class logits — `head(features) ->
    (N, K)`, from the features it gave (one pass of its network), or `logits(images) -> (N, K)` —
    gives an Inception-style score and the classes covered too (the standard network instead: the
    Inception Score ± its std over 10 splits). Optional attributes go
    into each score's protocol: `sha256` (of the weights that make the features), `sha256_of`
    (what was hashed) and `resize` (what the extractor does to the images' size).
    """

    num_features: int
    label: str

    def __call__(self, images: Tensor, /) -> Tensor: ...


@dataclass
class Parts:
    """The five parts of one run, as the loop uses them."""

    generator: nn.Module
    critic: nn.Module
    constraint: LipschitzConstraint
    objective: Objective
    data: DataSource


class RunView(Protocol):
    """A training run as its lifecycle hooks and preflight checks see it (a `wgan_kit.Trainer`
    meets it). Read it; change nothing: a hook that writes to the run would change its results."""

    step: int  # generator steps done
    config: RunConfig  # the resolved settings, as in config.toml
    folder: RunFolder | None  # where the run writes, None when it writes nothing
    parts: Parts
    device: torch.device

    @property
    def run(self) -> RunSettings: ...  # config.run, as the loop sees it

    @property
    def generator(self) -> nn.Module: ...

    @property
    def critic(self) -> nn.Module: ...


class PictureWriter(Protocol):
    """Draws decoded samples of a kind ("points", "image", "sequence") to a picture file, with
    real ones beside them where the kind shows both; False when it cannot draw that kind. The
    launch path hands the engine one (wgan_kit.evaluation.pictures.save_picture)."""

    def __call__(self, kind: str, generated: Any, path: Path, *, real: Any = None,
                 title: str = "") -> bool: ...


@dataclass(frozen=True)
class RunScore:
    """One score of a run while it trains: its metrics.jsonl name (`eval_w1`,
    `eval_classifier_fid`), its value, and which way is better."""

    name: str
    value: float
    lower_is_better: bool = True

    def beats(self, value: float | None) -> bool:
        """Whether this score is better than `value` (None: nothing to beat); never when it is
        not finite."""
        if not math.isfinite(self.value):
            return False
        if value is None:
            return True
        return self.value < value if self.lower_is_better else self.value > value


class Scorer(Protocol):
    """Scores a run while it trains (`run.eval_every`). The engine calls it with itself (a
    `RunView` that can also `sample`) on random streams of its own, so scoring changes nothing the
    run computes. The launch path hands the engine one
    (wgan_kit.evaluation.training_score.TrainingScorer)."""

    def __call__(self, run: RunView, /) -> RunScore: ...


class Progress(Protocol):
    """What the loop tells whoever watches it (a progress bar, plain log lines, a test)."""

    def start(self, done: int, total: int) -> None: ...

    def advance(self, step: int, metrics: dict[str, float] | None) -> None: ...

    def note(self, text: str) -> None: ...
