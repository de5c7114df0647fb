"""The hooks a wgan-kit plugin can implement.

A plugin is a module named by an entry point in the group `wgan_kit`; it implements hooks with
`@wgan_kit.hookimpl`, taking any subset of a hook's arguments by name. `register_components` adds
components; the others follow a training run's life (`Trainer.train`), in this order:

    run_started → (step_logged | checkpoint_saved | samples_saved)* → run_finished

Lifecycle hooks run in the training process, between steps; they draw from their own random
streams, so a hook cannot change a run's results. An exception in a hook stops the run. Each hook
is documented for plugin authors in CONTRIBUTING.md ("Lifecycle hooks").

Types are imported only for type checking, so this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from .engine import Trainer
    from .registry import Component, Recipe

hookspec = pluggy.HookspecMarker("wgan_kit")
hookimpl = pluggy.HookimplMarker("wgan_kit")


@hookspec
def register_components(register: Callable[[Component], None]) -> None:
    """Register generators, critics, constraints, objectives and data sources.

    Call `register(Component(...))` once per component. Keep the module that implements this hook
    light (pydantic options models and factories only): the factory imports the heavy code when a
    run actually uses the component, so listing plugins never imports torch.
    """


@hookspec
def register_recipes(register: Callable[[Recipe], None]) -> None:
    """Register recipes: named presets of published settings (`wgan-kit run --recipe NAME`).

    Call `register(Recipe(...))` once per recipe. A recipe is data (dotted settings, a summary and
    its source), so registering it costs nothing.
    """


@hookspec
def run_started(trainer: Trainer) -> None:
    """Training starts, or resumes (then `trainer.step` is the step it resumes from).

    `trainer.config` is the resolved configuration and `trainer.folder` the run folder (None when
    the run writes nothing).
    """


@hookspec
def step_logged(trainer: Trainer, metrics: dict[str, float]) -> None:
    """A logged step's metrics, as written to metrics.jsonl: every `run.log_every` generator steps
    and at the last. `metrics["step"]` is the generator step; the others are means since the
    previous logged step (`critic_loss`, `wasserstein`, `generator_loss`, `penalty`, ...)."""


@hookspec
def checkpoint_saved(trainer: Trainer, path: Path) -> None:
    """A checkpoint of `trainer.step` was written to `path` (a safetensors file)."""


@hookspec
def samples_saved(trainer: Trainer, path: Path) -> None:
    """A picture of generated samples at `trainer.step` was written to `path` (a PNG file)."""


@hookspec
def run_finished(trainer: Trainer, metrics: dict[str, float]) -> None:
    """`train()` reached `run.steps`; `metrics` are the last logged ones. Not called when training
    stops on an error."""
