"""Composing a run from names (or the user's own objects) into a `Trainer`, for the CLI and Python
alike; wgan_kit/training/launch.py runs it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..core import checkpoint
from ..core.config import (
    RESUMABLE,
    dotted_layer,
    refuse_changes_on_resume,
    resolve_settings,
)
from ..core.engine import Trainer
from ..core.protocols import (
    ClassifyingCritic,
    Critic,
    DataSource,
    Generator,
    LabelledSource,
    LipschitzConstraint,
    Objective,
    Parts,
    SampleSpec,
    prepare_critic,
)
from ..core.randomness import seed_everything
from ..core.registry import Registry, load_registry
from ..core.run_folder import RunFolder
from ..core.settings import SECTIONS, RunConfig
from ..errors import WganKitError
from .acceleration import batch_coupled_modules

if TYPE_CHECKING:
    from pluggy import HookRelay

PROTOCOLS = {"gen": Generator, "critic": Critic, "constraint": LipschitzConstraint,
             "objective": Objective, "data": DataSource}


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
    settings = resolve_settings(
        registry, recipe=recipe, config=config, run=run, objects=objects,
        names={section: value for section, value in given.items() if isinstance(value, str)},
        overrides=dotted_layer(options or {}, "options"))
    return build(settings, objects, hooks=registry.hooks.hook)


def build(config: RunConfig, objects: Mapping[str, Any] | None = None, *,
          hooks: HookRelay | None = None) -> Trainer:
    """Instantiate every part of `config` (or take the given objects) and the optimizers; the
    trainer calls the plugins' lifecycle `hooks` (a registry's `hooks.hook`)."""
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
    return Trainer(parts, config, device, hooks)


def resume(path: str | Path, *, registry: Registry | None = None, **run: Any) -> Trainer:
    """The run in folder `path`, at its last checkpoint; nothing in the folder changes until it
    trains. Keyword arguments may change `steps` (to train further: fewer steps than are done
    is refused) and `device`; anything else would no longer be the same run."""
    refuse_changes_on_resume(sorted(set(run) - set(RESUMABLE)))
    folder = RunFolder.open(path)
    registry = registry or load_registry()
    trainer = build(resolve_settings(registry, config=folder.config, run=run),
                    hooks=registry.hooks.hook)
    tensors, metadata = checkpoint.load(folder.latest_checkpoint())
    trainer.load_state(tensors, metadata)
    if run.get("steps") is not None and run["steps"] < trainer.step:
        raise WganKitError(f"--steps {run['steps']}: {folder.path} is already at step "
                           f"{trainer.step}; give --steps above {trainer.step} to train further, "
                           "or leave --steps out")
    trainer.folder = folder  # written to only when it trains (Trainer.fit)
    return trainer


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
    if coupled:
        raise WganKitError(
            f"critic: batch normalization ({coupled[0]}) with constraint "
            f"{config.name_of('constraint')!r}, which penalises each sample's gradient; batch "
            "norm couples the samples (WGAN-GP Section 4, 'No critic batch normalization'): "
            "use critic.norm=layer, or a constraint such as clip")
