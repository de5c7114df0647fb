"""The training loop: Algorithm 1 of WGAN (Arjovsky et al.) and WGAN-GP (Gulrajani et al.).

`Trainer._loop` reads top to bottom as the papers' pseudocode: n_critic critic steps, each on a fresh
real batch and a fresh latent batch, then one generator step on its own latent batch, then
`_after_step` (log, checkpoint, pictures, stop). The objective supplies the losses, the constraint
its penalty (WGAN-GP) or projection (WGAN); a data-parallel run adds only `self.parallel`.
`fit` is the loop alone; `train` goes through the launch path (wgan_kit/training/launch.py).
"""

from __future__ import annotations

import copy
import itertools
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WganKitError
from ..evaluation.pictures import save_picture
from ..training.acceleration import Acceleration
from . import checkpoint, randomness
from .metrics import RunningMeans, RunResult, heldout_losses, refuse_non_finite
from .optimizers import (
    critic_steps,
    learning_rate,
    make_optimizer,
    update_moving_average,
    warmed_up_decay,
)
from .parallel import DataParallel, SingleProcess
from .protocols import LabelledSource, Parts, Progress, project_weights
from .run_folder import RunFolder
from .settings import RunConfig

if TYPE_CHECKING:
    from pluggy import HookRelay


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
        self.critic_updates = 0  # critic updates done: when a lazy penalty (penalty_every) applies
        self.folder: RunFolder | None = None
        self.hooks = hooks  # the plugins' lifecycle hooks (wgan_kit.core.hookspecs), if any
        self.random_state = randomness.capture()  # this run's own streams of z, ε and data noise
        self.parallel: DataParallel = SingleProcess()  # a data-parallel rank's: distributed.Ranks
        self.stop_requested: signal.Signals | None = None  # set by a signal handler: stop cleanly
        # Pictures use the same latent points throughout, so that they show progress, not noise.
        fixed = torch.Generator().manual_seed(self.run.seed)
        self.fixed_latent = torch.randn(1000, parts.generator.latent_dim, generator=fixed).to(device)
        self.heldout_batch: torch.Tensor | None = None  # real samples the critic never trains on
        self._stream: Iterator[tuple[torch.Tensor, torch.Tensor | None]] | None = None  # opened
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
              progress: Progress | Literal["bar", "lines"] | None = None,
              preflight: bool | None = None, nproc: int = 1, handle_signals: bool = True
              ) -> RunResult:
        """Train until `run.steps`, as `wgan-kit run` does (preflight, clean stops, `nproc`
        processes; see `wgan_kit.training.launch.train`): the last logged metrics, in a dict that
        also says how the run ended."""
        from ..training.launch import train  # the launch path builds on this engine

        return train(self, out=out, overwrite=overwrite, progress=progress, preflight=preflight,
                     nproc=nproc, handle_signals=handle_signals)

    def fit(self, progress: Progress | None = None) -> dict[str, float]:
        """The loop alone: train until `run.steps` in the trainer's folder (if any), with no checks
        and no signal handling; returns the last logged metrics."""
        if self.folder is not None:  # steps logged after the checkpoint are logged again
            self.folder.forget_metrics_after(self.step)
            self.folder.write_config(self.config.to_toml())
        real_batches = self.acceleration.batches(self._stream or self.real_batches())
        self._stream = None
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

    def open_stream(self) -> None:
        """Start the data stream at the run's batch size and draw its next batch (on the run's
        own random streams), so that data which cannot serve this run (fewer samples than a batch,
        unreadable files) fails before anything is written; `fit` continues this very stream."""
        with randomness.installed(self.random_state) as final_state:
            stream = self.real_batches()
            try:
                first = next(stream)
            except StopIteration:
                raise WganKitError(f"data: {self.config.name_of('data')!r} gave no batch of "
                                   f"{self.run.batch_size}") from None
        self.random_state = final_state[0]
        self._stream = itertools.chain([first], stream)

    def real_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """The data's stream from where training has got to, each batch with its labels in a
        conditional run (else None)."""
        data, run = self.parts.data, self.run
        stream = {"seed": run.seed, "device": self.device, "skip": self.batches_drawn}
        if self.num_classes is None:
            return ((batch, None) for batch in data.batches(run.batch_size, **stream))
        if not isinstance(data, LabelledSource):  # build() refuses it; a hand-built Trainer may not
            raise WganKitError("run.conditional: the data source has no labelled_batches")
        return data.labelled_batches(run.batch_size, **stream)

    def _loop(self, real_batches: Iterator[tuple[torch.Tensor, torch.Tensor | None]],
              progress: Progress | None) -> dict[str, float]:
        run, generator, critic = self.run, self.generator, self.critic
        constraint, objective = self.parts.constraint, self.parts.objective
        penalty_every = getattr(constraint, "penalty_every", 1)  # lazy regularisation's k
        speed, parallel = self.acceleration, self.parallel
        m, generator_m = run.batch_size, run.generator_batch_size or run.batch_size
        means = RunningMeans()
        self._logged, self._clock = {}, (time.perf_counter(), self.step)
        while self.step < run.steps:
            parallel.seed_step(self.step)
            # This generator step's α for both nets: constant, or Appendix F's linear decay.
            alpha = learning_rate(run, self.step)
            for group in (*self.critic_optimizer.param_groups,
                          *self.generator_optimizer.param_groups):
                group["lr"] = alpha

            # Algorithm 1, lines 2-10: n_critic critic updates.
            for _ in range(critic_steps(run, self.step)):
                real, labels = next(real_batches)  # labels: a conditional run's real classes
                self.batches_drawn += 1
                # Counted also when a scaler skips the step: the schedule depends on the step alone.
                penalised = self.critic_updates % penalty_every == 0
                self.critic_updates += 1
                with speed.casting_once():  # the critic's weights, for both of its passes
                    with torch.no_grad():  # the critic step needs no graph through the generator
                        fake = speed.generate(self.latent(m), labels, like=real)
                    real_scores, fake_scores, real_logits = speed.critic_scores(
                        real, fake, classify=labels is not None)
                    critic_loss = objective.critic_loss(real_scores, fake_scores)
                    penalty = (constraint.penalty(speed.penalty_critic, real, fake)
                               if penalised else None)
                loss = critic_loss if penalty is None else critic_loss + penalty.value
                if real_logits is not None:  # AC-GAN: the critic also names the real classes
                    class_loss = F.cross_entropy(real_logits, labels)
                    loss = loss + run.class_loss_weights[0] * class_loss
                    means.add(class_loss_real=class_loss, class_accuracy_real=(
                        real_logits.argmax(1) == labels).float().mean())
                stepped = speed.update(self.critic_optimizer, loss, critic, parallel)
                project_weights(constraint, critic)  # weight clipping; nothing for a penalty
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
            stepped = speed.update(self.generator_optimizer, generator_loss, generator, parallel)
            critic.requires_grad_(True)
            if self.ema_generator is not None:
                update_moving_average(self.ema_generator, generator,
                                      warmed_up_decay(run.ema_decay, self.step))
            self.step += 1
            if stepped:
                means.add(generator_loss=generator_loss)

            if self._after_step(means, real, progress):
                break
        return self._logged

    def _after_step(self, means: RunningMeans, real: torch.Tensor, progress: Progress | None
                    ) -> bool:
        """What follows each generator step: the held-out losses, a log line, a checkpoint and
        pictures when they are due (and at the last step), and whether to stop now."""
        run = self.run
        if run.heldout_every and self.step % run.heldout_every == 0:
            means.add(**self.heldout_losses(real))
        requested = self.parallel.agree_on_stop(self.stop_requested)  # read once: a signal may
        if requested is not None:  # land any time; one after the read is kept for the next step
            self.stop_requested = requested
        last = self.step == run.steps or requested is not None
        metrics = None
        if self.step % run.log_every == 0 or last:
            now, (clock, last_log_step) = time.perf_counter(), self._clock
            self.parallel.sync_metrics(means)
            metrics = means.pop()
            refuse_non_finite(self.step, metrics)
            metrics = {"step": self.step, **metrics,
                       "lr_generator": self.generator_optimizer.param_groups[0]["lr"],
                       "lr_critic": self.critic_optimizer.param_groups[0]["lr"],
                       "gen_steps_per_s": (self.step - last_log_step) / (now - clock)}
            self._logged, self._clock = metrics, (now, self.step)
            if self.folder:
                self.folder.append_metrics(metrics)
            self._notify("step_logged", metrics=metrics)
        if progress:
            progress.advance(self.step, metrics)
        if self.folder and (self.step % run.checkpoint_every == 0 or last):
            self.save_checkpoint(randomness.capture())
        if self.folder and (self.step % run.sample_every == 0 or last):
            self.save_samples()
        return requested is not None

    def heldout_losses(self, train_batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """WGAN-GP Figure 5b's critic losses on a training and a fixed held-out real batch."""
        if self.heldout_batch is None:
            self.heldout_batch = self.parts.data.held_out(len(train_batch), device=self.device)
        fake = self.sample(len(train_batch), latent=self.fixed_latent[:len(train_batch)])
        return heldout_losses(self.critic, self.parts.objective, train_batch, self.heldout_batch,
                              fake)

    def save_samples(self) -> Path | None:
        """A picture of generated samples (with held-out real ones) for the current step."""
        data, path = self.parts.data, self.folder.sample_path(self.step)
        latent = self.fixed_latent[: 1000 if data.spec.kind == "points" else 64]
        if not save_picture(data.spec.kind, data.decode(self.sample(len(latent), latent=latent)),
                            path, real=data.decode(data.held_out(len(latent), device=self.device)),
                            title=f"step {self.step}"):
            return None
        self._notify("samples_saved", path=path)
        return path

    def state(self, random_state: randomness.RandomState | None = None
              ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue exactly where training is now (`random_state`: the
        streams' state when called from inside the loop, where they are installed)."""
        return checkpoint.training_state(
            *self._saved(), random_state or self.random_state,
            {"step": self.step, "batches_drawn": self.batches_drawn,
             "critic_updates": self.critic_updates,
             "config": self.config.to_toml()})

    def load_state(self, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
        self.random_state = checkpoint.load_training_state(*self._saved(), tensors, metadata)
        self.step, self.batches_drawn = metadata["step"], metadata["batches_drawn"]
        # Checkpoints from before the count have none; every critic update drew one batch.
        self.critic_updates = metadata.get("critic_updates", self.batches_drawn)

    def _saved(self) -> tuple[dict[str, nn.Module], dict[str, torch.optim.Optimizer]]:
        """The nets and optimizers a checkpoint holds, by name."""
        nets = {"generator": self.generator, "critic": self.critic}
        return ({**nets, "ema": self.ema_generator} if self.ema_generator is not None else nets,
                {"optim.generator": self.generator_optimizer,
                 "optim.critic": self.critic_optimizer})

    def save_checkpoint(self, random_state: randomness.RandomState | None = None) -> Path:
        """Write a checkpoint (refused when the weights are no longer finite: the last good
        checkpoint must stay the newest) and keep the run's share of the older ones."""
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
