"""What the training loop logs to tell a working run from a broken one: gradient norms at the
interpolates, the Lipschitz violation rate, learning rates and the held-out critic loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import wgan_kit
from wgan_kit.core.engine.metrics import RunningMeans


class FixedPoints:
    """Every training batch is the same `train` points; the held-out ones are `held`."""

    spec = wgan_kit.SampleSpec(shape=(2,), kind="points")

    def __init__(self, train: torch.Tensor, held: torch.Tensor) -> None:
        self.train, self.held = train, held

    def batches(self, batch_size, *, seed, device, skip=0):
        while True:
            yield self.train[:batch_size].to(device)

    def held_out(self, n, *, device):
        return self.held[:n].to(device)

    def decode(self, batch):
        return batch.cpu()


def linear_critic(weight: list[float]) -> nn.Linear:
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weight]))
    return critic


def train_one_step(registry, critic: nn.Module, data=None, **run) -> dict[str, float]:
    # lr 1e-9: Adam moves each weight by about 1e-9, so the critic stays the one we built.
    trainer = wgan_kit.compose(critic=critic, registry=registry, steps=1, n_critic=1,
                               batch_size=16, lr=1e-9, options={"gen.hidden": 8},
                               **({"data": data} if data is not None else {}), **run)
    return trainer.train()


@pytest.mark.parametrize("slope, violation", [(2.0, 1.0), (0.5, 0.0)])
def test_gradient_norms_and_violation_rate_of_a_linear_critic(registry, slope, violation):
    """D(x) = w·x has ‖∇D‖ = ‖w‖ at every interpolate: all of them violate ‖∇D‖ ≤ 1 or none."""
    metrics = train_one_step(registry, linear_critic([slope, 0.0]))
    assert metrics["grad_norm"] == pytest.approx(slope, rel=1e-5)
    assert metrics["grad_norm_max"] == pytest.approx(slope, rel=1e-5)
    assert metrics["lipschitz_violation"] == violation


def test_violation_rate_and_maximum_follow_the_logged_window(tiny_trainer):
    trainer = tiny_trainer(steps=6, log_every=3)
    metrics = trainer.train()
    assert 0.0 <= metrics["lipschitz_violation"] <= 1.0
    assert metrics["grad_norm_max"] >= metrics["grad_norm"] > 0
    assert metrics["lr_generator"] == metrics["lr_critic"] == trainer.run.lr


def test_running_maxima_are_taken_over_every_value_since_the_last_pop():
    means = RunningMeans()
    for value in (1.0, 5.0, 2.0):
        means.add_max(peak=torch.tensor(value))
        means.add(mean=torch.tensor(value))
    assert means.pop() == {"mean": pytest.approx(8 / 3), "peak": 5.0}
    means.add_max(peak=torch.tensor(0.5))
    assert means.pop() == {"peak": 0.5}


def test_heldout_loss_compares_training_and_heldout_batches_against_the_same_fakes(registry):
    """For D(x) = w·x the Wasserstein critic loss is mean D(fake) − mean D(real), so with the same
    fake batch the held-out loss minus the training loss is w · (mean train − mean held out)."""
    train, held = torch.zeros(16, 2), torch.full((16, 2), 3.0)
    metrics = train_one_step(registry, linear_critic([1.0, 2.0]), FixedPoints(train, held),
                             heldout_every=1)
    gap = metrics["critic_loss_heldout_batch"] - metrics["critic_loss_train_batch"]
    assert gap == pytest.approx((1.0 + 2.0) * (0.0 - 3.0), rel=1e-4)


class Recorder:
    """A progress watcher that keeps every logged metrics line."""

    def __init__(self) -> None:
        self.lines: list[dict[str, float]] = []

    def start(self, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        if metrics:
            self.lines.append(metrics)


def test_heldout_loss_is_logged_every_n_steps_and_leaves_training_unchanged(tiny_trainer):
    watched, unwatched = Recorder(), Recorder()
    first = tiny_trainer(steps=4, log_every=1, heldout_every=2)
    second = tiny_trainer(steps=4, log_every=1, heldout_every=0)
    first.train(progress=watched)
    second.train(progress=unwatched)
    assert ["critic_loss_heldout_batch" in m for m in watched.lines] == [False, True, False, True]
    assert not any("critic_loss_heldout_batch" in m for m in unwatched.lines)
    # The held-out check draws no random numbers: both runs train exactly alike.
    for a, b in zip(first.generator.parameters(), second.generator.parameters()):
        assert torch.equal(a, b)
