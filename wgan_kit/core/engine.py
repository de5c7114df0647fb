"""The training loop: Algorithm 1 of WGAN (Arjovsky et al.) and WGAN-GP (Gulrajani et al.).

`Trainer.train` reads top to bottom as the papers' pseudocode: n_critic critic steps, each on a fresh
real batch and a fresh latent batch, then one generator step on its own latent batch. The objective
supplies the losses, the constraint its penalty (WGAN-GP) or projection (WGAN); the loop is the same
for every combination.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoint, randomness
from ..training.acceleration import Acceleration, fused_option
from .config import RunConfig, RunSettings
from ..errors import WganKitError
from ..evaluation.pictures import save_picture
from .protocols import DataSource, LipschitzConstraint, Objective
from .run_folder import RunFolder

if TYPE_CHECKING:
    from pluggy import HookRelay


class Progress(Protocol):
    """What the loop tells whoever watches it (the CLI's progress bar or plain log lines)."""

    def start(self, done: int, total: int) -> None: ...

    def advance(self, step: int, metrics: dict[str, float] | None) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class Parts:
    generator: nn.Module
    critic: nn.Module
    constraint: LipschitzConstraint
    objective: Objective
    data: DataSource


def make_optimizer(parameters: Iterator[nn.Parameter], run: RunSettings, device: torch.device,
                   *, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if run.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=run.lr, betas=run.betas, weight_decay=weight_decay,
                                **fused_option(torch.optim.Adam, run, device))
    return torch.optim.RMSprop(parameters, lr=run.lr, weight_decay=weight_decay,
                               **fused_option(torch.optim.RMSprop, run, device))


def learning_rate(run: RunSettings, step: int) -> float:
    """α for generator step `step` (counting from 0): constant, or decayed linearly to 0 over
    run.steps, as the CIFAR ResNet code does (α·(1 − step/steps); WGAN-GP Appendix F). It depends
    on the step alone, so a resumed run follows the same schedule."""
    if run.lr_schedule == "linear":
        return run.lr * (1 - step / run.steps)
    return run.lr


def critic_steps(run: RunSettings, step: int) -> int:
    """Critic updates before generator step `step` (counting from 0). The original WGAN code
    trains the critic near optimality early on and now and then: 100 steps for the first 25
    generator steps and every 500th."""
    if run.critic_schedule == "wgan" and (step < 25 or step % 500 == 0):
        return 100
    return run.n_critic


@torch.no_grad()
def update_moving_average(average: nn.Module, live: nn.Module, decay: float) -> None:
    """θ_avg ← decay·θ_avg + (1 − decay)·θ for the weights; buffers (batch-norm statistics) are
    copied, since averaging them would describe no network that was ever trained."""
    for averaged, current in zip(average.parameters(), live.parameters()):
        averaged.lerp_(current, 1 - decay)
    for averaged, current in zip(average.buffers(), live.buffers()):
        averaged.copy_(current)


class Trainer:
    """A composed run: the parts, their optimizers, and where training has got to."""

    def __init__(self, parts: Parts, config: RunConfig, device: torch.device,
                 hooks: HookRelay | None = None) -> None:
        self.parts = parts
        self.config = config
        self.run = config.run
        self.device = device
        self.acceleration = Acceleration(self.run, device, parts.generator, parts.critic)
        self.generator_optimizer = make_optimizer(parts.generator.parameters(), self.run, device)
        self.critic_optimizer = make_optimizer(parts.critic.parameters(), self.run, device,
                                               weight_decay=self.run.critic_weight_decay)
        # The moving average of the generator's weights (run.ema_decay > 0) draws every sample.
        self.ema_generator = (copy.deepcopy(parts.generator).requires_grad_(False)
                              if self.run.ema_decay > 0 else None)
        self.step = 0  # generator steps done
        self.batches_drawn = 0  # real batches consumed, so a resumed run continues the stream
        self.folder: RunFolder | None = None
        self.hooks = hooks  # the plugins' lifecycle hooks (wgan_kit.hookspecs), if any
        self.random_state = randomness.capture()  # this run's own streams of z, ε and data noise
        # A data-parallel rank's streams restart at each generator step from a seed of the step
        # (set by `wgan_kit.distributed`), so that a resumed run draws what an unbroken one would.
        self.seed_of_step: Callable[[int], int] | None = None
        # A rank's metrics made the global batch's before each log line (`wgan_kit.distributed`).
        self.metrics_sync: Callable[[RunningMeans], None] | None = None
        self.stop_requested: signal.Signals | None = None  # set by a signal handler: stop cleanly
        # The stop request of any rank, so that all stop at the same step (`wgan_kit.distributed`).
        self.stop_sync: Callable[[signal.Signals | None], signal.Signals | None] | None = None
        # Pictures use the same latent points throughout, so that they show progress, not noise.
        fixed = torch.Generator().manual_seed(self.run.seed)
        self.fixed_latent = torch.randn(1000, parts.generator.latent_dim, generator=fixed).to(device)
        self.heldout_batch: torch.Tensor | None = None  # real samples the critic never trains on
        # A conditional run (AC-GAN) draws G(z, y) and trains the critic to name the classes.
        self.num_classes = parts.data.spec.num_classes if self.run.conditional else None

    @property
    def generator(self) -> nn.Module:
        return self.parts.generator

    @property
    def critic(self) -> nn.Module:
        return self.parts.critic

    def latent(self, n: int) -> torch.Tensor:
        """z ~ N(0, I), the prior of every net in the papers."""
        return torch.randn(n, self.generator.latent_dim, device=self.device)

    def random_labels(self, n: int) -> torch.Tensor | None:
        """Classes y ~ U{0, …, K−1} for a conditional run's generator step; None otherwise."""
        if self.num_classes is None:
            return None
        return torch.randint(self.num_classes, (n,), device=self.device)

    @torch.no_grad()
    def sample(self, n: int, *, latent: torch.Tensor | None = None,
               ema: bool | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
        """n generated samples, on the run's device, from the generator in eval mode or, when
        run.ema_decay > 0, from the moving average of its weights (`ema=False`: the live ones).
        A conditional run's samples are of classes `labels` (default: cycling through them)."""
        if ema and self.ema_generator is None:
            raise WganKitError("--ema: this run keeps no moving average of the generator "
                               "(run.ema_decay = 0); sample without --ema")
        if labels is not None and self.num_classes is None:
            raise WganKitError("--class: this run is not conditional (run.conditional = false); "
                               "sample without a class")
        use_ema = self.ema_generator is not None if ema is None else ema
        generator = self.ema_generator if use_ema else self.generator
        latent = self.latent(n) if latent is None else latent
        generator.eval()
        try:
            return generator(latent) if labels is None else generator(latent, labels)
        finally:
            generator.train()

    def train(self, out: str | Path | None = None, *, overwrite: bool = False,
              progress: Progress | None = None) -> dict[str, float]:
        """Train until `run.steps` generator steps; returns the last logged metrics.

        With `out`, the run folder gets the config, metrics, checkpoints and pictures; a resumed
        trainer continues in its own folder. Without either, nothing is written.
        """
        if out is not None:
            self.folder = RunFolder.create(out, overwrite=overwrite)
        if self.folder is not None:
            self.folder.write_config(self.config.to_toml())
        real_batches = self.acceleration.batches(self.real_batches())
        if progress:
            progress.start(self.step, self.run.steps)
        self._notify("run_started")
        with randomness.installed(self.random_state) as final_state:
            try:
                logged = self._loop(real_batches, progress)
            except torch.OutOfMemoryError:
                raise WganKitError(f"out of memory on {self.device} at batch size "
                                   f"{self.run.batch_size}; try --batch-size "
                                   f"{max(self.run.batch_size // 2, 1)} or smaller nets") from None
        self.random_state = final_state[0]
        self._notify("run_finished", metrics=logged)
        if progress and self.folder:
            progress.note(f"run folder: {self.folder.path}")
        return logged

    def real_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """The data's stream from where training has got to, each batch with its labels in a
        conditional run (else None)."""
        data, run = self.parts.data, self.run
        stream = {"seed": run.seed, "device": self.device, "skip": self.batches_drawn}
        if self.num_classes is not None:
            return data.labelled_batches(run.batch_size, **stream)  # type: ignore[attr-defined]
        return ((batch, None) for batch in data.batches(run.batch_size, **stream))

    def _loop(self, real_batches: Iterator[tuple[torch.Tensor, torch.Tensor | None]],
              progress: Progress | None) -> dict[str, float]:
        run, generator, critic = self.run, self.generator, self.critic
        constraint, objective = self.parts.constraint, self.parts.objective
        speed = self.acceleration
        m, generator_m = run.batch_size, run.generator_batch_size or run.batch_size
        means = RunningMeans()
        logged: dict[str, float] = {}
        clock, last_log_step = time.perf_counter(), self.step
        while self.step < run.steps:
            if self.seed_of_step:
                randomness.seed_everything(self.seed_of_step(self.step))
            # This generator step's α for both nets: constant, or Appendix F's linear decay.
            alpha = learning_rate(run, self.step)
            for group in (*self.critic_optimizer.param_groups,
                          *self.generator_optimizer.param_groups):
                group["lr"] = alpha

            # Algorithm 1, lines 2-10: n_critic critic updates.
            for _ in range(critic_steps(run, self.step)):
                real, labels = next(real_batches)  # labels: a conditional run's real classes
                self.batches_drawn += 1
                with speed.casting_once():  # the critic's weights, for both of its passes
                    with torch.no_grad():  # the critic step needs no graph through the generator
                        fake = speed.generate(self.latent(m), labels, like=real)
                    real_scores, fake_scores, real_logits = speed.critic_scores(
                        real, fake, classify=labels is not None)
                    critic_loss = objective.critic_loss(real_scores, fake_scores)
                    penalty = constraint.penalty(speed.penalty_critic, real, fake)
                loss = critic_loss if penalty is None else critic_loss + penalty.value
                if real_logits is not None:  # AC-GAN: the critic also names the real classes
                    class_loss = F.cross_entropy(real_logits, labels)
                    loss = loss + run.class_loss_weights[0] * class_loss
                    means.add(class_loss_real=class_loss, class_accuracy_real=(
                        real_logits.argmax(1) == labels).float().mean())
                stepped = speed.update(self.critic_optimizer, loss, critic)
                constraint.project(critic)  # weight clipping; a no-op for a penalty
                if stepped:
                    means.add(critic_loss=critic_loss,
                              wasserstein=real_scores.mean() - fake_scores.mean())
                if stepped and penalty is not None:
                    norms = penalty.grad_norm  # ‖∇D(x̂)‖ at each interpolate
                    means.add(penalty=penalty.value, grad_norm=norms.mean(),
                              lipschitz_violation=(norms > 1).float().mean())
                    means.add_max(grad_norm_max=norms.max())

            # Lines 11-12: a generator update on its own latent batch. The critic's weights get no
            # gradients: only its input does.
            critic.requires_grad_(False)
            labels = self.random_labels(generator_m)
            fake_scores, fake_logits = speed.generator_scores(self.latent(generator_m), labels)
            generator_loss = objective.generator_loss(fake_scores)
            if fake_logits is not None:  # AC-GAN: samples of class y should be named y
                class_loss = F.cross_entropy(fake_logits, labels)
                generator_loss = generator_loss + run.class_loss_weights[1] * class_loss
                means.add(class_loss_fake=class_loss, class_accuracy_fake=(
                    fake_logits.argmax(1) == labels).float().mean())
            stepped = speed.update(self.generator_optimizer, generator_loss, generator)
            critic.requires_grad_(True)
            if self.ema_generator is not None:
                update_moving_average(self.ema_generator, generator, run.ema_decay)
            self.step += 1
            if stepped:
                means.add(generator_loss=generator_loss)
            if run.heldout_every and self.step % run.heldout_every == 0:
                means.add(**self.heldout_losses(real))

            requested = self.stop_requested  # read once: a signal may land any time
            if self.stop_sync:  # a request after the read is kept for the next step
                requested = self.stop_sync(requested)
                if requested is not None:
                    self.stop_requested = requested
            stopping = requested is not None
            last = self.step == run.steps or stopping
            metrics = None
            if self.step % run.log_every == 0 or last:
                now = time.perf_counter()
                if self.metrics_sync:
                    self.metrics_sync(means)
                metrics = means.pop()
                _refuse_non_finite(self.step, metrics)
                metrics = {"step": self.step, **metrics,
                           "lr_generator": self.generator_optimizer.param_groups[0]["lr"],
                           "lr_critic": self.critic_optimizer.param_groups[0]["lr"],
                           "gen_steps_per_s": (self.step - last_log_step) / (now - clock)}
                clock, last_log_step = now, self.step
                logged = metrics
                if self.folder:
                    self.folder.append_metrics(metrics)
                self._notify("step_logged", metrics=metrics)
            if progress:
                progress.advance(self.step, metrics)
            if self.folder and (self.step % run.checkpoint_every == 0 or last):
                self.save_checkpoint(randomness.capture())
            if self.folder and (self.step % run.sample_every == 0 or last):
                self.save_samples()
            if stopping:
                break
        return logged

    @torch.no_grad()
    def heldout_losses(self, train_batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """The critic loss on a training batch and on a fixed held-out real batch, against the
        same fake batch (WGAN-GP Figure 5b: a growing gap means the critic overfits). The fake
        batch comes from the fixed latent points, so no random stream of training is touched."""
        if self.heldout_batch is None:
            self.heldout_batch = self.parts.data.held_out(len(train_batch), device=self.device)
        fake = self.sample(len(train_batch), latent=self.fixed_latent[:len(train_batch)])
        self.critic.eval()  # batch-norm statistics must not learn from held-out data
        try:
            fake_scores = self.critic(fake)
            return {name: self.parts.objective.critic_loss(self.critic(real), fake_scores)
                    for name, real in (("critic_loss_train_batch", train_batch),
                                       ("critic_loss_heldout_batch", self.heldout_batch))}
        finally:
            self.critic.train()

    def save_samples(self) -> Path | None:
        """A picture of generated samples (with held-out real ones) for the current step."""
        assert self.folder is not None
        data, path = self.parts.data, self.folder.sample_path(self.step)
        latent = self.fixed_latent[: 1000 if data.spec.kind == "points" else 64]
        generated = data.decode(self.sample(len(latent), latent=latent))
        real = data.decode(data.held_out(len(latent), device=self.device))
        drawn = save_picture(data.spec.kind, generated, path, real=real,
                             title=f"step {self.step}")
        if not drawn:
            return None
        self._notify("samples_saved", path=path)
        return path

    def state(self, random_state: randomness.RandomState | None = None
              ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue exactly where training is now (`random_state`: the
        streams' state when called from inside the loop, where they are installed)."""
        tensors = {**checkpoint.prefixed(self.generator.state_dict(), "generator"),
                   **checkpoint.prefixed(self.critic.state_dict(), "critic")}
        if self.ema_generator is not None:
            tensors.update(checkpoint.prefixed(self.ema_generator.state_dict(), "ema"))
        g_tensors, g_meta = checkpoint.optimizer_state(self.generator_optimizer, "optim.generator")
        c_tensors, c_meta = checkpoint.optimizer_state(self.critic_optimizer, "optim.critic")
        rng_tensors, rng_meta = random_state or self.random_state
        tensors.update(g_tensors | c_tensors | rng_tensors)
        metadata = {"step": self.step, "batches_drawn": self.batches_drawn,
                    "config": self.config.to_toml(), "rng": rng_meta,
                    "optim.generator": g_meta, "optim.critic": c_meta}
        return tensors, metadata

    def load_state(self, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
        checkpoint.load_module(self.generator, checkpoint.unprefixed(tensors, "generator"),
                               "generator")
        checkpoint.load_module(self.critic, checkpoint.unprefixed(tensors, "critic"), "critic")
        if self.ema_generator is not None:
            checkpoint.load_module(self.ema_generator, checkpoint.unprefixed(tensors, "ema"), "ema")
        checkpoint.load_optimizer_state(self.generator_optimizer, tensors,
                                        metadata["optim.generator"], "optim.generator")
        checkpoint.load_optimizer_state(self.critic_optimizer, tensors, metadata["optim.critic"],
                                        "optim.critic")
        self.random_state = ({k: t for k, t in tensors.items() if k.startswith("rng.")},
                             metadata["rng"])
        self.step, self.batches_drawn = metadata["step"], metadata["batches_drawn"]

    def save_checkpoint(self, random_state: randomness.RandomState | None = None) -> Path:
        """Write a checkpoint, refusing weights that are no longer finite: the last good
        checkpoint must stay the newest."""
        assert self.folder is not None
        for net in ("generator", "critic"):
            if not all(p.isfinite().all() for p in getattr(self, net).parameters()):
                raise WganKitError(f"step {self.step}: {net} weights became non-finite; lower "
                                   "run.lr (the last checkpoint is kept)")
        path = self.folder.checkpoint_path(self.step)
        checkpoint.save(path, *self.state(random_state))
        self.folder.prune_checkpoints(self.run.keep_checkpoints, self.run.archive_every)
        self._notify("checkpoint_saved", path=path)
        return path

    def _notify(self, hook: str, **arguments: Any) -> None:
        """Call a lifecycle hook of every plugin, on random streams of its own: whatever a hook
        draws, the run's streams (and so its results) stay as they were."""
        if self.hooks is None:
            return
        streams = randomness.capture()
        try:
            getattr(self.hooks, hook)(trainer=self, **arguments)
        finally:
            randomness.restore(streams)


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


def _refuse_non_finite(step: int, metrics: dict[str, float]) -> None:
    bad = [name for name, value in metrics.items() if not math.isfinite(value)]
    if bad:
        raise WganKitError(f"step {step}: {', '.join(bad)} became non-finite; lower run.lr, "
                           "or check the data for NaN/Inf (the last checkpoint is kept)")
