"""The engine: one training run's state, and `fit`, which trains it.

An `Engine` holds one run's state: its parts, their optimizers, the generator's moving average,
the counters and random streams a checkpoint keeps, and what the launch path decided (`launch_as`).
`fit` runs Algorithm 1 on it (`loop.py`, read top to bottom as the papers' pseudocode). What
surrounds the loop (checks, creating the run folder, signals, processes) is the launch path's,
above the engine (wgan_kit/training/launch.py).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ...errors import WganKitError
from .. import checkpoint, randomness
from ..config import RunConfig, RunSettings
from ..layers import architecture_differences, validate_options
from ..protocols import LabelledSource, Parts, PictureWriter, Progress, RunScore, Scorer
from ..run_folder import RunFolder
from .acceleration import Acceleration
from .loop import Batches, algorithm_1
from .metrics import heldout_losses
from .optimizers import make_optimizer
from .parallel import DataParallel, SingleProcess

if TYPE_CHECKING:
    from pluggy import HookRelay


class Engine:
    """A composed run: the parts, their optimizers, and where training has got to."""

    def __init__(self, parts: Parts, config: RunConfig, device: torch.device,
                 hooks: HookRelay | None = None, *, folder: RunFolder | None = None) -> None:
        self.parts = parts
        self.config = config
        self.device = device
        run = config.run
        self.acceleration = Acceleration(run, device, parts.generator, parts.critic)
        self.generator_optimizer = make_optimizer(parts.generator.parameters(), run, device)
        self.critic_optimizer = make_optimizer(parts.critic.parameters(), run, device,
                                               weight_decay=run.critic_weight_decay)
        # The moving average of the generator's weights (run.ema_decay > 0) draws every sample.
        self.ema_generator = (copy.deepcopy(parts.generator).requires_grad_(False)
                              if run.ema_decay > 0 else None)
        self.step = 0  # generator steps done
        self.batches_drawn = 0  # real batches consumed, so a resumed run continues the stream
        self.critic_updates = 0  # critic updates done: when a lazy penalty (penalty_every) applies
        self.train_seconds = 0.0  # time in Algorithm 1's steps, without logging and scoring
        self.hooks = hooks  # the plugins' lifecycle hooks (wgan_kit.core.hookspecs), if any
        self.random_state = randomness.capture()  # this run's own streams of z, ε and data noise
        # What the launch path decides (`launch_as`): where the run writes, which rank this is.
        self.folder = folder
        self.parallel: DataParallel = SingleProcess()
        self._pictures: PictureWriter | None = None
        self._scorer: Scorer | None = None
        # The best score so far (run.eval_every), as best.safetensors records it: step, name,
        # value, lower_is_better. Read from the run folder when training starts.
        self.best: dict[str, Any] | None = None
        self._stop_requested: signal.Signals | None = None
        # Pictures use the same latent points throughout, so that they show progress, not noise.
        fixed = torch.Generator().manual_seed(run.seed)
        self.fixed_latent = torch.randn(1000, parts.generator.latent_dim, generator=fixed).to(device)
        self.heldout_batch: torch.Tensor | None = None  # real samples the critic never trains on
        self._stream: Batches | None = None  # opened
        # A conditional run (AC-GAN) draws G(z, y) and trains the critic to name the classes.
        self.num_classes = parts.data.spec.num_classes if run.conditional else None

    @property
    def run(self) -> RunSettings:
        """The run's settings: always the config's own."""
        return self.config.run

    @property
    def batch_size(self) -> int:
        """This process's share of the batch m (all of it, unless data-parallel)."""
        return self.run.batch_size // self.parallel.world_size

    @property
    def stop_requested(self) -> signal.Signals | None:
        """The signal that asked the run to stop after its current step, if one did."""
        return self._stop_requested

    def request_stop(self, received: signal.Signals) -> None:
        """Stop after the current step, with a checkpoint (a signal handler calls it)."""
        self._stop_requested = received

    def launch_as(self, *, folder: RunFolder | None, parallel: DataParallel | None = None,
                  pictures: PictureWriter | None = None, scorer: Scorer | None = None) -> None:
        """What the launch path decides for this process, given once before `fit`: the folder
        the run writes (None: nothing, as on every rank but the first), its share of a
        data-parallel run, how pictures of samples are drawn (None: none are) and how the run
        is scored while it trains (None: it is not; run.eval_every). Any earlier stop request is
        forgotten."""
        self.folder = folder
        self.parallel = parallel or SingleProcess()
        self._pictures = pictures
        self._scorer = scorer
        self._stop_requested = None

    def change_run(self, **changes: Any) -> None:
        """Change run settings that leave the run the same run (`steps` to train in segments,
        `log_every`), checked as any setting is and kept in the config itself, so that what a
        checkpoint records is what ran."""
        problems: list[str] = []
        run = validate_options(RunSettings, {**self.run.model_dump(), **changes}, "run",
                               "the run", problems)
        if problems:
            raise WganKitError(problems)
        self.config = dataclasses.replace(self.config, run=run)

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

    def fit(self, progress: Progress | None = None) -> dict[str, float]:
        """The loop alone: train until `run.steps` in the trainer's folder (if any), with no checks
        and no signal handling; returns the last logged metrics."""
        if self.folder is not None:  # what was written after the checkpoint is written again
            self.folder.forget_after(self.step)
            self.folder.write_config(self.config.to_toml())
            self.best = self.folder.best_score()  # a resumed run keeps its best so far
        real_batches = self.acceleration.batches(self._stream or self.real_batches())
        self._stream = None
        if progress:
            progress.start(self.step, self.run.steps)
        self.notify("run_started")
        with randomness.installed(self.random_state) as final_state:
            try:
                logged = algorithm_1(self, real_batches, progress)
            except torch.OutOfMemoryError:
                raise WganKitError(f"out of memory on {self.device} at batch size "
                                   f"{self.batch_size}; try --batch-size "
                                   f"{max(self.batch_size // 2, 1)} or smaller nets") from None
        self.random_state = final_state[0]
        self.notify("run_finished", metrics=logged)
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
                                   f"{self.batch_size}") from None
        self.random_state = final_state[0]
        self._stream = itertools.chain([first], stream)

    def real_batches(self) -> Batches:
        """The data's stream from where training has got to, each batch with its labels in a
        conditional run (else None)."""
        data, m = self.parts.data, self.batch_size
        # Each rank of a data-parallel run draws its own stream: the run's seed plus its rank.
        stream = {"seed": self.run.seed + self.parallel.rank, "device": self.device,
                  "skip": self.batches_drawn}
        if self.num_classes is None:
            return ((batch, None) for batch in data.batches(m, **stream))
        if not isinstance(data, LabelledSource):  # build() refuses it; a hand-built engine may not
            raise WganKitError("run.conditional: the data source has no labelled_batches")
        return data.labelled_batches(m, **stream)

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
        if self._pictures is None or not self._pictures(
                data.spec.kind, data.decode(self.sample(len(latent), latent=latent)), path,
                real=data.decode(data.held_out(len(latent), device=self.device)),
                title=f"step {self.step}"):
            return None
        self.notify("samples_saved", path=path)
        return path

    def score(self) -> RunScore | None:
        """The run's score now, by the launch path's scorer (None without one), on random
        streams of its own: whatever it draws, the run's results stay as they were."""
        if self._scorer is None:
            return None
        with randomness.own_streams():
            return self._scorer(self)

    def state(self, random_state: randomness.RandomState | None = None
              ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue exactly where training is now (`random_state`: the
        streams' state when called from inside the loop, where they are installed)."""
        scalers = {net: scaler.state_dict()
                   for net, scaler in self.acceleration.scalers_by_net.items()}
        return checkpoint.training_state(
            *self._saved(), random_state or self.random_state,
            {"step": self.step, "batches_drawn": self.batches_drawn,
             "critic_updates": self.critic_updates, "train_seconds": self.train_seconds,
             "config": self.config.to_toml(), **({"grad_scalers": scalers} if scalers else {})})

    def load_state(self, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
        """Continue from a checkpoint's state; refused in one line when its weights are another
        architecture's (naming the settings that differ, from the config it records)."""
        try:
            self.random_state = checkpoint.load_training_state(*self._saved(), tensors, metadata)
        except checkpoint.MismatchedWeights as exc:
            differences = architecture_differences(metadata.get("config"), self.config)
            if not differences:  # the same settings: the nets' code changed since it was saved
                raise
            shown = "; ".join(differences[:4]) + (
                f"; and {len(differences) - 4} more" if len(differences) > 4 else "")
            raise checkpoint.MismatchedWeights(
                f"the checkpoint belongs to a different architecture: {shown}; load it with the "
                "run it was saved by (its folder, or its config.toml)") from None
        self.step, self.batches_drawn = metadata["step"], metadata["batches_drawn"]
        # Checkpoints from before the count have none; every critic update drew one batch.
        self.critic_updates = metadata.get("critic_updates", self.batches_drawn)
        self.train_seconds = metadata.get("train_seconds", 0.0)  # none before it was counted
        # fp16's gradient scalers continue at the scale they reached. A run resumed in another
        # precision has none and leaves the saved ones aside; one resumed in fp16 from a bf16 or
        # fp32 checkpoint (none saved) starts them afresh, as a new fp16 run does.
        for net, scaler in self.acceleration.scalers_by_net.items():
            if net in metadata.get("grad_scalers", {}):
                scaler.load_state_dict(metadata["grad_scalers"][net])

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
        self.notify("checkpoint_saved", path=path)
        return path

    def notify(self, hook: str, **arguments: Any) -> None:
        """Call a lifecycle hook of every plugin, on random streams of its own: whatever a hook
        draws, the run's streams (and so its results) stay as they were."""
        if self.hooks is None:
            return
        with randomness.own_streams():
            getattr(self.hooks, hook)(trainer=self, **arguments)
