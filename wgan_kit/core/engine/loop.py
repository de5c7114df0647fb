"""Algorithm 1 of WGAN (Arjovsky et al.) and WGAN-GP (Gulrajani et al.), read top to bottom.

n_critic critic steps, each on a fresh real batch and a fresh latent batch, then one generator step
on its own latent batch, then `after_step` (log, checkpoint, pictures, stop). The objective supplies
the losses, the constraint its penalty (WGAN-GP) or projection (WGAN); a data-parallel run adds only
`engine.parallel`. The state it reads and advances is an `Engine`'s (engine.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint, randomness
from ..protocols import project_weights
from .metrics import RunningMeans, refuse_non_finite
from .optimizers import critic_steps, learning_rate, update_moving_average, warmed_up_decay

if TYPE_CHECKING:
    from ..config import RunSettings
    from ..protocols import Parts, Progress, RunScore
    from ..run_folder import RunFolder
    from .acceleration import Acceleration
    from .parallel import DataParallel

# Real samples, each batch with a conditional run's labels (else None).
Batches = Iterator[tuple[torch.Tensor, torch.Tensor | None]]


class LoopState(Protocol):
    """What the loop reads and advances: an `Engine` meets it."""

    parts: Parts
    folder: RunFolder | None
    parallel: DataParallel
    acceleration: Acceleration
    generator_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer
    ema_generator: nn.Module | None
    step: int  # generator steps done
    batches_drawn: int
    critic_updates: int
    train_seconds: float  # logged as train_seconds: the steps' time, not logging's or scoring's
    best: dict[str, Any] | None  # the best score so far (run.eval_every), as best.safetensors

    @property
    def run(self) -> RunSettings: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def stop_requested(self) -> signal.Signals | None: ...

    def request_stop(self, received: signal.Signals) -> None: ...

    def latent(self, n: int) -> torch.Tensor: ...

    def random_labels(self, n: int) -> torch.Tensor | None: ...

    def heldout_losses(self, train_batch: torch.Tensor) -> dict[str, torch.Tensor]: ...

    def save_checkpoint(self, random_state: randomness.RandomState | None = None) -> Path: ...

    def save_samples(self) -> Path | None: ...

    def score(self) -> RunScore | None: ...

    def state(self, random_state: randomness.RandomState | None = None
              ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def notify(self, hook: str, **arguments: Any) -> None: ...


def algorithm_1(engine: LoopState, real_batches: Batches, progress: Progress | None
                ) -> dict[str, float]:
    """Train until `run.steps` (or a stop request); the last logged metrics."""
    run, generator, critic = engine.run, engine.parts.generator, engine.parts.critic
    constraint, objective = engine.parts.constraint, engine.parts.objective
    penalty_every = getattr(constraint, "penalty_every", 1)  # lazy regularisation's k
    speed, parallel = engine.acceleration, engine.parallel
    m = engine.batch_size
    generator_m = run.generator_batch_size or m
    means = RunningMeans()
    logged: dict[str, float] = {}
    clock = (time.perf_counter(), engine.step)  # when, and at which step, the last line was logged
    while engine.step < run.steps:
        parallel.seed_step(engine.step)
        # This generator step's α for both nets: constant, or Appendix F's linear decay.
        alpha = learning_rate(run, engine.step)
        for group in (*engine.critic_optimizer.param_groups,
                      *engine.generator_optimizer.param_groups):
            group["lr"] = alpha

        # Algorithm 1, lines 2-10: n_critic critic updates.
        for _ in range(critic_steps(run, engine.step)):
            real, labels = next(real_batches)  # labels: a conditional run's real classes
            engine.batches_drawn += 1
            # Counted also when a scaler skips the step: the schedule depends on the step alone.
            penalised = engine.critic_updates % penalty_every == 0
            engine.critic_updates += 1
            with speed.casting_once():  # the critic's weights, for both of its passes
                with torch.no_grad():  # the critic step needs no graph through the generator
                    fake = speed.generate(engine.latent(m), labels, like=real)
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
            stepped = speed.update(engine.critic_optimizer, loss, critic, parallel)
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
        labels = engine.random_labels(generator_m)
        fake_scores, fake_logits = speed.generator_scores(engine.latent(generator_m), labels)
        generator_loss = objective.generator_loss(fake_scores)
        if fake_logits is not None:  # AC-GAN: samples of class y should be named y
            class_loss = F.cross_entropy(fake_logits, labels)
            generator_loss = generator_loss + run.class_loss_weights[1] * class_loss
            means.add(class_loss_fake=class_loss, class_accuracy_fake=(
                fake_logits.argmax(1) == labels).float().mean())
        stepped = speed.update(engine.generator_optimizer, generator_loss, generator, parallel)
        critic.requires_grad_(True)
        if engine.ema_generator is not None:
            update_moving_average(engine.ema_generator, generator,
                                  warmed_up_decay(run.ema_decay, engine.step))
        engine.step += 1
        if stepped:
            means.add(generator_loss=generator_loss)

        metrics, stop = after_step(engine, means, real, progress, clock)
        if metrics is not None:
            logged, clock = metrics, (time.perf_counter(), engine.step)
        if stop:
            break
    return logged


def after_step(engine: LoopState, means: RunningMeans, real: torch.Tensor,
               progress: Progress | None, clock: tuple[float, int]
               ) -> tuple[dict[str, float] | None, bool]:
    """What follows each generator step, in one place: the held-out losses, the run's score, a
    log line, a checkpoint, the best checkpoint and pictures when they are due (and at the last
    step). Returns the line logged (if any) and whether to stop now."""
    run, step = engine.run, engine.step
    if run.heldout_every and step % run.heldout_every == 0:
        means.add(**engine.heldout_losses(real))
    requested = engine.parallel.agree_on_stop(engine.stop_requested)  # read once: a signal may
    if requested is not None:  # land any time; one after the read is kept for the next step
        engine.request_stop(requested)
    last = step == run.steps or requested is not None
    # The run's score (run.eval_every), by the process that keeps the folder alone, between the
    # step's collectives, so the other ranks skip none. A scored step is a logged step on every
    # rank, and the score is taken after the line's clock stops: train_seconds counts training
    # alone, to the step whose score it is.
    scored = bool(run.eval_every) and (step % run.eval_every == 0 or last)
    metrics, score = None, None
    if step % run.log_every == 0 or last or scored:
        engine.parallel.sync_metrics(means)
        metrics = means.pop()  # waits for the device: the interval's steps are done
        now, (then, last_logged_step) = time.perf_counter(), clock
        engine.train_seconds += now - then
        refuse_non_finite(step, metrics)
        metrics = {"step": step, **metrics,
                   "lr_generator": engine.generator_optimizer.param_groups[0]["lr"],
                   "lr_critic": engine.critic_optimizer.param_groups[0]["lr"],
                   "gen_steps_per_s": (step - last_logged_step) / (now - then),
                   "train_seconds": engine.train_seconds}
        score = engine.score() if scored and engine.folder else None
        if score is not None:
            metrics[score.name] = score.value
        if engine.folder:
            engine.folder.append_metrics(metrics)
        engine.notify("step_logged", metrics=metrics)
    if progress:
        progress.advance(step, metrics)
    if engine.folder and (step % run.checkpoint_every == 0 or last):
        engine.save_checkpoint(randomness.capture())
    if score is not None:
        keep_if_best(engine, score, randomness.capture())
    if engine.folder and (step % run.sample_every == 0 or last):
        engine.save_samples()
    return metrics, requested is not None


def keep_if_best(engine: LoopState, score: RunScore, random_state: randomness.RandomState
                 ) -> Path | None:
    """Write best.safetensors (a full checkpoint, its score and step in its metadata `best`) when
    `score` beats the best so far; the path written, else None."""
    if not score.beats(None if engine.best is None else engine.best["value"]):
        return None
    tensors, metadata = engine.state(random_state)
    engine.best = {"step": engine.step, "name": score.name, "value": score.value,
                   "lower_is_better": score.lower_is_better}
    checkpoint.save(engine.folder.best, tensors, {**metadata, "best": engine.best})
    return engine.folder.best
