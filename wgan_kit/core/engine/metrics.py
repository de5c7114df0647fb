"""The logged quantities of a run: between two log lines, kept on the device until they are read;
at its end, with how it ended."""

from __future__ import annotations

import collections
import math
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ...errors import WganKitError

if TYPE_CHECKING:
    from ..protocols import Objective

# Every name a run can write to metrics.jsonl besides "step" and the score of run.eval_every:
# what algorithm_1 (loop.py) adds to its RunningMeans, heldout_losses below, and the rates
# after_step adds to each line. A sweep checks its metric against this list;
# tests/experiments/test_sweep.py checks the list against real runs.
LOGGED_METRICS = (
    "critic_loss", "wasserstein", "generator_loss",  # every run
    "penalty", "grad_norm", "grad_norm_max", "lipschitz_violation",  # a penalty (WGAN-GP)
    "critic_loss_train_batch", "critic_loss_heldout_batch",  # run.heldout_every > 0
    "class_loss_real", "class_accuracy_real", "class_loss_fake", "class_accuracy_fake",  # AC-GAN
    "lr_generator", "lr_critic", "gen_steps_per_s", "train_seconds",  # every log line
)


class RunningMeans:
    """Means (and, through `add_max`, maxima) of logged quantities since the last log step. They
    stay on the device, so the hot loop never waits for the GPU; `pop` is the one place that
    synchronises."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.maxima: dict[str, torch.Tensor] = {}

    def add(self, **values: torch.Tensor) -> None:
        for name, value in values.items():
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1

    def add_max(self, **values: torch.Tensor) -> None:
        for name, value in values.items():
            value = value.detach().float()
            self.maxima[name] = torch.maximum(self.maxima[name], value) if name in self.maxima \
                else value

    def pop(self) -> dict[str, float]:
        means = {name: total.item() / self.counts[name] for name, total in self.sums.items()}
        means |= {name: peak.item() for name, peak in self.maxima.items()}
        self.sums, self.counts, self.maxima = {}, {}, {}
        return means


@torch.no_grad()
def heldout_losses(critic: nn.Module, objective: Objective, train_batch: torch.Tensor,
                   heldout_batch: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """The critic loss on a training batch and on a fixed held-out real batch, against the same
    fake batch (WGAN-GP Figure 5b: a growing gap means the critic overfits). The fake batch comes
    from fixed latent points, so that no random stream of training is touched."""
    critic.eval()  # batch-norm statistics must not learn from held-out data
    try:
        fake_scores = critic(fake)
        return {f"critic_loss_{name}_batch": objective.critic_loss(critic(real), fake_scores)
                for name, real in (("train", train_batch), ("heldout", heldout_batch))}
    finally:
        critic.train()


def refuse_non_finite(step: int, metrics: dict[str, float]) -> None:
    bad = [name for name, value in metrics.items() if not math.isfinite(value)]
    if bad:
        raise WganKitError(f"step {step}: {', '.join(bad)} became non-finite; lower run.lr, "
                           "or check the data for NaN/Inf (the last checkpoint is kept)")


class RunResult(dict):
    """The last logged metrics of a run (a dict: `result["wasserstein"]`), and how it ended:
    `finished`, or `stopped_by` a signal after generator step `step`; `folder` is where it wrote
    (None when it wrote nothing)."""

    def __init__(self, metrics: Mapping[str, float], *, step: int, folder: Path | None,
                 stopped_by: signal.Signals | None = None) -> None:
        super().__init__(metrics)
        self.step, self.folder, self.stopped_by = step, folder, stopped_by

    @property
    def finished(self) -> bool:
        return self.stopped_by is None

    def __repr__(self) -> str:
        ended = "finished" if self.finished else f"stopped by {self.stopped_by.name}"
        return f"RunResult({ended} at step {self.step}, folder={self.folder}, {dict(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (torch.save) as its metrics, in a type torch.load(weights_only=True) accepts.
        return collections.OrderedDict, (list(self.items()),)
