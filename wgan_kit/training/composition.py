"""Composing a run from names (or the user's own objects) into a `Trainer`, for the CLI and Python
alike: an `Engine` (wgan_kit/core/engine/) that trains itself through the launch path
(wgan_kit/training/launch.py), and the `Plan` by which each process of a launch builds its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomllib

import torch
from torch import nn

from ..core import checkpoint
from ..core.layers import (
    RESUMABLE,
    dotted_layer,
    refuse_changes_on_resume,
    resolve_config,
)
from ..core.engine import Engine
from ..core.engine.acceleration import batch_coupled_modules
from ..core.engine.metrics import RunResult
from ..core.protocols import (
    ClassifyingCritic,
    Critic,
    DataSource,
    Generator,
    LabelledSource,
    LipschitzConstraint,
    Objective,
    Parts,
    Progress,
    SampleSpec,
    prepare_critic,
)
from ..core.randomness import seed_everything
from ..core.registry import Registry, load_registry
from ..core.run_folder import RunFolder
from ..core.config import SECTIONS, RunConfig
from ..errors import WganKitError
from .launch import Launch, launch, train_here

if TYPE_CHECKING:
    from pluggy import HookRelay

PROTOCOLS = {"gen": Generator, "critic": Critic, "constraint": LipschitzConstraint,
             "objective": Objective, "data": DataSource}


class Trainer(Engine):
    """A composed run that trains itself as `wgan-kit run` does (`train`); `fit` is the loop
    alone, with no checks, folder or signal handling."""

    def train(self, out: str | Path | None = None, *, overwrite: bool = False,
              progress: Progress | Literal["bar", "lines"] | None = None,
              preflight: bool | None = None, nproc: int = 1, handle_signals: bool = True
              ) -> RunResult:
        """Train until `run.steps`: the last logged metrics, in a dict that also says how the run
        ended. With `out`, a new run folder gets the config, metrics, checkpoints, pictures and
        preflight.json; a resumed trainer continues in its own folder; without either, nothing
        is written. `preflight` (default: on when `out` starts a folder) checks the run first and
        refuses a doomed one with `WganKitError` before anything is written. Ctrl-C or SIGTERM
        stop the run after the current step with a checkpoint and a hint to resume
        (`handle_signals=False` leaves the handlers to your program). `nproc=N` trains
        data-parallel in N processes, as `wgan-kit run --nproc N` does, and then loads the
        result into this trainer."""
        out = Path(out).expanduser() if out is not None else None
        if preflight is None:  # on for a new run folder, else skipped without a word
            preflight = True if out is not None else None
        choices = Launch(out=out, overwrite=overwrite, preflight=preflight, progress=progress,
                         nproc=nproc, handle_signals=handle_signals)
        if nproc == 1:
            return train_here(self, choices)
        problems = [f"{section}: given as a Python object, which the other processes cannot "
                    "rebuild; name a registered component for nproc > 1"
                    for section in self.config.objects]
        if out is None and self.folder is None:
            problems.append("nproc: a data-parallel run needs out= (its ranks hand the trained "
                            "weights back through the run folder)")
        if progress is not None and not isinstance(progress, str):
            problems.append("progress: with nproc > 1, rank 0 shows it; pass 'bar', 'lines' or "
                            "None")
        if problems:
            raise WganKitError(problems)
        if out is not None:
            plan = Plan.new(self.config)
        else:  # continue this run's folder, from the checkpoint this trainer is at
            at = self.step if self.step in self.folder.checkpoint_steps() else None
            plan = Plan.resuming(self.folder.path, {"steps": self.run.steps,
                                                    "precision": self.run.precision},
                                 from_step=at)
        result = launch(plan, choices)
        folder = RunFolder.open(result.folder)
        self.load_state(*checkpoint.load(folder.latest_checkpoint()))
        self.launch_as(folder=folder)
        return result


@dataclasses.dataclass(frozen=True)
class Plan:
    """How each process of a launch gets its trainer (wgan_kit.training.launch.Plan): resolved
    config (as its TOML) for a new run, or a folder to resume (from the checkpoint of step
    `from_step`, None: the newest) with the changes allowed (`RESUMABLE`: steps, device,
    precision). Plain data, so that it pickles to spawned processes."""

    toml: str | None = None
    resume: Path | None = None
    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    from_step: int | None = None
    # In the process that made the plan: the resolved config itself, not sent to others.
    config: RunConfig | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, config: RunConfig) -> Plan:
        return cls(toml=config.to_toml(), config=config)

    @classmethod
    def resuming(cls, folder: str | Path, changes: Mapping[str, Any] | None = None, *,
                 from_step: int | None = None) -> Plan:
        return cls(resume=Path(folder), changes=dict(changes or {}), from_step=from_step)

    @property
    def batch_size(self) -> int | None:
        return None if self.toml is None else self._run()["batch_size"]

    @property
    def device(self) -> str | None:
        return self.changes.get("device") if self.toml is None else self._run()["device"]

    def engine(self, registry: Registry, device: str | None) -> Trainer:
        if self.resume is not None:
            given = {"device": device} if device is not None else {}
            return resume(self.resume, registry=registry, from_step=self.from_step,
                          **{**self.changes, **given})
        config = (self.config if self.config is not None and device is None
                  else resolve_config(registry, config=tomllib.loads(self.toml),
                                        run={"device": device}))
        return build(config, hooks=registry.hooks.hook)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "config": None}  # other processes rebuild it from the TOML

    def _run(self) -> dict[str, Any]:
        return tomllib.loads(self.toml)["run"]


def compose(*, gen: str | nn.Module | None = None, critic: str | nn.Module | None = None,
            constraint: str | LipschitzConstraint | None = None,
            objective: str | Objective | None = None, data: str | DataSource | None = None,
            recipe: str | None = None, config: str | Path | None = None,
            options: Mapping[str, Any] | None = None, registry: Registry | None = None,
            **run: Any) -> Trainer:
    """A ready-to-train run.

    Each part is a registered name (`"mlp"`, `"gp"`, `"pkg:name"`) or an object meeting its
    protocol; unnamed parts come from `config` (a TOML file), the `recipe` (`"wgan-gp"`,
    `"dcgan"`, ...: a named preset of published settings) or the defaults. `options` sets plugin
    options by dotted key (`{"gen.hidden": 256, "constraint.weight": 1}`); keyword arguments set
    `run` settings (`steps=500, batch_size=64`). Both win over `config`, which wins over `recipe`.
    """
    given = {"gen": gen, "critic": critic, "constraint": constraint, "objective": objective,
             "data": data}
    objects = {section: value for section, value in given.items()
               if value is not None and not isinstance(value, str)}
    registry = registry or load_registry()
    config = resolve_config(
        registry, recipe=recipe, config=config, run=run, objects=objects,
        names={section: value for section, value in given.items() if isinstance(value, str)},
        overrides=dotted_layer(options or {}, "options"))
    return build(config, objects, hooks=registry.hooks.hook)


def build(config: RunConfig, objects: Mapping[str, Any] | None = None, *,
          hooks: HookRelay | None = None, folder: RunFolder | None = None) -> Trainer:
    """Instantiate every part of `config` (or take the given objects) and the optimizers; the
    trainer calls the plugins' lifecycle `hooks` (a registry's `hooks.hook`) and continues the
    run in `folder`, if given."""
    objects = dict(objects or {})
    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
        # TF32 matmuls on Ampere and newer, as torch already does for cuDNN's convolutions.
        torch.backends.cuda.matmul.allow_tf32 = True

    problems: list[str] = []

    def make(section: str, *args: Any) -> Any:
        """The part of `section`; its refusal is collected, so every part says what is wrong."""
        if section in objects:
            return objects[section]
        part = config.parts[section]
        try:
            return part.component.factory(part.options, *args)
        except WganKitError as exc:
            problems.extend(exc.problems)
            return None

    data = make("data")
    spec = _spec_for_nets(data, config) if data is not None else None
    generator, critic = (make("gen", spec), make("critic", spec)) if spec else (None, None)
    constraint, objective = make("constraint"), make("objective")
    if problems:
        raise WganKitError(problems)
    parts = Parts(generator=generator, critic=critic, constraint=constraint, objective=objective,
                  data=data)
    _check_protocols(parts)
    if config.run.conditional:
        _check_conditional_nets(parts, spec, config)
    parts.critic = prepare_critic(parts.constraint, parts.critic)
    _refuse_batch_coupled_critic(parts.critic, parts.constraint, config)
    parts.generator.to(device)
    parts.critic.to(device)
    return Trainer(parts, config, device, hooks, folder=folder)


def resume(path: str | Path, *, registry: Registry | None = None, from_step: int | None = None,
           best: bool = False, **run: Any) -> Trainer:
    """The run in folder `path`, at its last checkpoint, or at the checkpoint of step
    `from_step` (when the newest is damaged: training from there replaces the checkpoints,
    pictures and metrics after it), or with `best` at best.safetensors, the step that scored
    best while training (run.eval_every; refused in one line when the run kept none); nothing in
    the folder changes until it trains. Keyword
    arguments may change `steps` (to train further: fewer steps than are done is refused),
    `device` and `precision`; anything else would no longer be the same run."""
    refuse_changes_on_resume(sorted(set(run) - set(RESUMABLE)))
    folder = RunFolder.open(path)
    registry = registry or load_registry()
    # The folder is written to only when the trainer trains (Engine.fit).
    trainer = build(resolve_config(registry, config=folder.config, run=run),
                    hooks=registry.hooks.hook, folder=folder)
    trainer.load_state(*(checkpoint.load(folder.best_checkpoint()) if best
                         else _load_checkpoint(folder, from_step)))
    if run.get("steps") is not None and run["steps"] < trainer.step:
        raise WganKitError(f"--steps {run['steps']}: {folder.path} is already at step "
                           f"{trainer.step}; give --steps above {trainer.step} to train further, "
                           "or leave --steps out")
    return trainer


def _load_checkpoint(folder: RunFolder, step: int | None
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The checkpoint of `step` (None: the newest); when it cannot be read, the refusal says
    which earlier one to resume from."""
    path = folder.checkpoint_at(step)
    try:
        return checkpoint.load(path)
    except WganKitError as exc:
        this = step if step is not None else folder.checkpoint_steps()[-1]
        earlier = [s for s in folder.checkpoint_steps() if s < this]
        if not earlier:
            raise
        steps = ", ".join(map(str, earlier))
        raise WganKitError([f"{problem}; resume from an earlier checkpoint: --from-step "
                            f"{earlier[-1]} (Python: from_step={earlier[-1]}); earlier ones are "
                            f"at steps {steps}" for problem in exc.problems]) from None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise WganKitError(f"run.device: {name!r}, but torch sees {count} CUDA device(s); "
                               "use --device cpu or --device auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise WganKitError("run.device: 'mps' is not available here; use --device cpu or auto")
    return device


def _spec_for_nets(data: DataSource, config: RunConfig) -> SampleSpec:
    """The data's spec as the nets see it: naming the classes in a conditional run only, since a
    net built for classes takes them (the generator) or names them (the critic)."""
    if not config.run.conditional:
        return dataclasses.replace(data.spec, num_classes=None)
    if not data.spec.num_classes or not isinstance(data, LabelledSource):
        raise WganKitError(f"run.conditional: data {config.name_of('data')!r} has no class "
                           "labels; use a labelled source (its spec names num_classes and it "
                           "has labelled_batches), or run.conditional=false")
    return data.spec


def _check_conditional_nets(parts: Parts, spec: SampleSpec, config: RunConfig) -> None:
    problems = []
    if getattr(parts.generator, "num_classes", None) != spec.num_classes:
        problems.append(f"gen: {config.name_of('gen')!r} takes no class (run.conditional needs "
                        "a generator with num_classes that takes (z, labels)); choose one that "
                        "does, or run.conditional=false")
    if not isinstance(parts.critic, ClassifyingCritic):
        problems.append(f"critic: {config.name_of('critic')!r} names no classes (run.conditional "
                        "needs a critic with classify(x) -> (scores, class logits)); choose one "
                        "that does, or run.conditional=false")
    if problems:
        raise WganKitError(problems)


def _check_protocols(parts: Parts) -> None:
    problems = []
    for section, value in zip(SECTIONS, (parts.generator, parts.critic, parts.constraint,
                                         parts.objective, parts.data)):
        if not isinstance(value, PROTOCOLS[section]):
            problems.append(f"{section}: {type(value).__name__} does not meet the "
                            f"{PROTOCOLS[section].__name__} protocol (see wgan_kit.core.protocols)")
        elif section in ("gen", "critic") and not isinstance(value, nn.Module):
            problems.append(f"{section}: {type(value).__name__} must be a torch.nn.Module")
    every = getattr(parts.constraint, "penalty_every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        problems.append(f"constraint: penalty_every must be a positive int, got {every!r}")
    if problems:
        raise WganKitError(problems)


def _refuse_batch_coupled_critic(critic: nn.Module, constraint: LipschitzConstraint,
                                 config: RunConfig) -> None:
    """WGAN-GP Section 4: a penalty on per-sample gradients is invalid when the critic mixes the
    samples of a batch, as batch normalization does."""
    if not constraint.penalises_input_gradients:
        return
    coupled = batch_coupled_modules(critic)
    if not coupled:
        return
    part = config.parts.get("critic")
    if part is not None and "norm" in part.component.options.model_fields:
        fix = "use critic.norm=layer"  # a net with a choice of normalization, as the built-ins
    else:  # the user's own module, or a plugin's net without that choice
        net = (f"your critic ({config.objects['critic']})" if "critic" in config.objects
               else f"critic {config.name_of('critic')!r}")
        fix = (f"take batch normalization out of {net}, or use a per-sample one there "
               "(nn.LayerNorm, nn.GroupNorm(1, channels))")
    raise WganKitError(
        f"critic: batch normalization ({coupled[0]}) with constraint "
        f"{config.name_of('constraint')!r}, which penalises each sample's gradient; batch "
        "norm couples the samples (WGAN-GP Section 4, 'No critic batch normalization'): "
        f"{fix}, or a constraint such as clip")
