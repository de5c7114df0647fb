"""Run settings beyond Algorithm 1: learning-rate schedules, critic weight decay, a separate
generator batch size and a moving average of the generator's weights."""

from __future__ import annotations

import shutil

import pytest
import torch

import wgan_kit
from wgan_kit.core.checkpoint import load
from wgan_kit.core.config import RunSettings
from wgan_kit.core.engine.optimizers import learning_rate, warmed_up_decay


class LearningRates:
    """A progress watcher that records both optimizers' α at every generator step."""

    def __init__(self, trainer) -> None:
        self.trainer, self.seen = trainer, []

    def start(self, done, total):
        pass

    def advance(self, step, metrics):
        self.seen.append(tuple(optimizer.param_groups[0]["lr"] for optimizer in
                               (self.trainer.generator_optimizer, self.trainer.critic_optimizer)))

    def note(self, text):
        pass


def test_linear_schedule_decays_from_alpha_to_zero_over_the_run():
    """Appendix F: 2e-4 decayed linearly to 0 over 100k generator iterations."""
    run = RunSettings(lr=2e-4, steps=100_000, lr_schedule="linear")
    assert learning_rate(run, 0) == 2e-4
    assert learning_rate(run, 50_000) == pytest.approx(1e-4)
    assert learning_rate(run, 99_999) == pytest.approx(2e-9)  # the last step: ~0
    constant = RunSettings(lr=2e-4, steps=100_000)
    assert {learning_rate(constant, step) for step in (0, 50_000, 99_999)} == {2e-4}


def test_both_optimizers_follow_the_schedule_step_by_step(tiny_trainer):
    trainer = tiny_trainer(lr_schedule="linear", lr=1e-3, steps=4, n_critic=1)
    watcher = LearningRates(trainer)
    trainer.train(progress=watcher)
    expected = [1e-3 * (1 - step / 4) for step in range(4)]
    assert [g for g, _ in watcher.seen] == pytest.approx(expected)
    assert [c for _, c in watcher.seen] == pytest.approx(expected)


def test_critic_weight_decay_goes_to_the_critic_optimizer_only(tiny_trainer):
    trainer = tiny_trainer(critic_weight_decay=1e-3)
    assert trainer.critic_optimizer.param_groups[0]["weight_decay"] == 1e-3
    assert trainer.generator_optimizer.param_groups[0]["weight_decay"] == 0
    rmsprop = tiny_trainer(constraint="clip", critic_weight_decay=1e-3)
    assert rmsprop.critic_optimizer.param_groups[0]["weight_decay"] == 1e-3


def test_generator_steps_use_their_own_batch_size(tiny_trainer):
    trainer = tiny_trainer(batch_size=8, generator_batch_size=24, n_critic=1, steps=1)
    sizes = []
    trainer.critic.register_forward_hook(lambda module, args, out: sizes.append(len(args[0])))
    trainer.train()
    # one critic step: real and fake in one forward (run.fuse_critic), interpolates 8; then the
    # generator step's 24
    assert sizes == [16, 8, 24]


def test_moving_average_differs_from_the_live_generator_and_draws_the_samples(tiny_trainer):
    trainer = tiny_trainer(ema_decay=0.9, steps=3, lr=1e-2)
    trainer.train()
    live, average = trainer.generator, trainer.ema_generator
    assert all(not p.requires_grad for p in average.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(live.parameters(), average.parameters()))
    z = torch.randn(16, live.latent_dim)
    with torch.no_grad():
        assert torch.equal(trainer.sample(16, latent=z), average(z))
        assert not torch.allclose(trainer.sample(16, latent=z), live(z))
    assert RunSettings().ema_decay == 0  # off unless a component suggests it (the toy sets do)
    assert tiny_trainer(ema_decay=0).ema_generator is None


def test_moving_average_follows_its_definition(tiny_trainer):
    """θ_avg ← d·θ_avg + (1 − d)·θ with d = min(decay, (1 + t) / (10 + t)) after t updates."""
    trainer = tiny_trainer(ema_decay=0.75, steps=1, n_critic=1)
    start = [p.clone() for p in trainer.generator.parameters()]
    trainer.train()  # the first update: d = min(0.75, 1 / 10)
    for before, live, average in zip(start, trainer.generator.parameters(),
                                     trainer.ema_generator.parameters()):
        torch.testing.assert_close(average, 0.1 * before + 0.9 * live)
    average, live = ([p.clone() for p in net.parameters()]
                     for net in (trainer.ema_generator, trainer.generator))
    trainer.change_run(steps=2)
    trainer.train()  # the second: d = min(0.75, 2 / 11)
    for before, now, new in zip(average, trainer.generator.parameters(),
                                trainer.ema_generator.parameters()):
        torch.testing.assert_close(new, 2 / 11 * before + 9 / 11 * now)
    assert warmed_up_decay(0.995, 10_000) == 0.995 and warmed_up_decay(0.995, 0) == 0.1


def test_schedule_and_moving_average_survive_resume_bit_exactly(tmp_path, tiny_trainer):
    """A run that stopped after its step-3 checkpoint and resumed ends where one that never
    stopped ends: weights, moving average and learning rate."""
    settings = dict(steps=6, checkpoint_every=3, log_every=3, lr_schedule="linear",
                    ema_decay=0.9, critic_weight_decay=1e-3, generator_batch_size=48)
    straight = tiny_trainer(**settings)
    straight.train(tmp_path / "straight")
    tensors, _ = load(tmp_path / "straight" / "checkpoints" / "step-00000003.safetensors")
    assert {f"ema.{name}" for name in straight.ema_generator.state_dict()} <= set(tensors)
    shutil.copytree(tmp_path / "straight", tmp_path / "crashed")
    (tmp_path / "crashed" / "checkpoints" / "step-00000006.safetensors").unlink()
    resumed = wgan_kit.resume(tmp_path / "crashed")
    assert resumed.step == 3
    assert resumed.generator_optimizer.param_groups[0]["lr"] == learning_rate(resumed.run, 2)
    resumed.train()
    for mine, theirs in [(straight.generator, resumed.generator), (straight.critic, resumed.critic),
                         (straight.ema_generator, resumed.ema_generator)]:
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            assert torch.equal(a, b), name
    assert resumed.critic_optimizer.param_groups[0]["lr"] == \
        straight.critic_optimizer.param_groups[0]["lr"] == learning_rate(straight.run, 5)


def test_the_original_wgan_critic_schedule(tiny_trainer):
    """WGAN's code: 100 critic steps for the first 25 generator steps and every 500th."""
    from wgan_kit.core.engine.optimizers import critic_steps

    run = tiny_trainer(critic_schedule="wgan", n_critic=5).run
    assert [critic_steps(run, step) for step in (0, 24, 25, 499, 500, 501, 1000)] == [
        100, 100, 5, 5, 100, 5, 100]
    assert critic_steps(tiny_trainer(n_critic=5).run, 0) == 5
    trainer = tiny_trainer(critic_schedule="wgan", steps=2, batch_size=4)
    trainer.train()
    assert trainer.batches_drawn == 200  # one real batch per critic step
