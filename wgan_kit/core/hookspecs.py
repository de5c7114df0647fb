"""The hooks a wgan-kit plugin can implement, and what they return.

A plugin is a module named by an entry point in the group `wgan_kit`; it implements hooks with
`@wgan_kit.hookimpl`, taking any subset of a hook's arguments by name. `register_components` adds
components; the others follow a training run's life (`Trainer.train`), in this order:

    run_started → (step_logged | checkpoint_saved | samples_saved)* → run_finished

Lifecycle hooks run in the training process, between steps; they draw from their own random
streams, so a hook cannot change a run's results. An exception in a hook stops the run. Each hook
is documented for plugin authors in CONTRIBUTING.md ("Lifecycle hooks").

Each lifecycle hook gets the run as `trainer`, a read-only `wgan_kit.core.protocols.RunView`
(step, config, folder, parts, device); the contract names no engine. Types are imported only for
type checking, so this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from .components import Component, Recipe
    from .protocols import RunView

hookspec = pluggy.HookspecMarker("wgan_kit")
hookimpl = pluggy.HookimplMarker("wgan_kit")


@dataclass(frozen=True)
class Check:
    """The outcome of one preflight check.

    `status` is "pass", "warn" (the run starts; the warning is printed and recorded) or "fail" (the
    run is refused). `measured` says what the check saw; `advice` is one line, the reason and the
    fix, and stays empty on a pass.
    """

    name: str
    status: Literal["pass", "warn", "fail"]
    measured: str
    advice: str = ""


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
def run_started(trainer: RunView) -> None:
    """Training starts, or resumes (then `trainer.step` is the step it resumes from).

    `trainer.config` is the resolved configuration and `trainer.folder` the run folder (None when
    the run writes nothing).
    """


@hookspec
def step_logged(trainer: RunView, metrics: dict[str, float]) -> None:
    """A logged step's metrics, as written to metrics.jsonl: every `run.log_every` generator steps
    and at the last. `metrics["step"]` is the generator step; the others are means since the
    previous logged step (`critic_loss`, `wasserstein`, `generator_loss`, `penalty`, ...)."""


@hookspec
def checkpoint_saved(trainer: RunView, path: Path) -> None:
    """A checkpoint of `trainer.step` was written to `path` (a safetensors file)."""


@hookspec
def samples_saved(trainer: RunView, path: Path) -> None:
    """A picture of generated samples at `trainer.step` was written to `path` (a PNG file)."""


@hookspec
def run_finished(trainer: RunView, metrics: dict[str, float]) -> None:
    """Training ended at `run.steps`, or earlier at the step a Ctrl-C or SIGTERM asked it to stop
    after (`trainer.step` says which); `metrics` are the last logged ones. Not called when training
    stops on an error or a second signal."""


@hookspec
def preflight_checks(trainer: RunView) -> list[Check]:
    """Checks of your own, run with wgan-kit's before every `wgan-kit run` and by `wgan-kit check`.

    Return one `Check` per thing you checked, for the parts of `trainer` that are yours (look at
    `trainer.parts`, `trainer.config` and `trainer.device`), and `[]` for runs that do not use your
    components. Work on copies (`copy.deepcopy(trainer.critic)`) and on a tiny batch, so that the
    run trains exactly as it would have without the check, and keep it well under a second. A
    "fail" refuses the run with your advice; a hook that raises is reported as a warning naming
    your package.
    """
