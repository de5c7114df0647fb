"""The flags that choose and configure a run, for `run`, `check` and `bench`: each declared once,
as a field of `RunFlags` carrying its Typer option, and read into one `RunFlags` value."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.models import OptionInfo

from ..core.config import SECTIONS, RunSettings

if TYPE_CHECKING:
    from ..core.registry import Registry
    from ..core.config import RunConfig

# `--threads`, for every command that runs torch.
Threads = Annotated[Optional[int], typer.Option(
    "--threads", min=1, max=1024, help="CPU threads for torch [default: torch's choice].")]

# `--plugin`, for every command that composes or reopens a run.
Plugins = Annotated[Optional[list[Path]], typer.Option(
    "--plugin", help="A Python file to load as a plugin for this run (repeatable), e.g. one that "
                     "registers an objective.")]


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """The shared flags of one command line, in the order `--help` lists them; None: not given.
    A field named as a section (`gen`) names its plugin, one named as a `RunSettings` field
    (`batch_size`) sets that run setting."""

    gen: Annotated[Optional[str], typer.Option("--gen", help="Generator plugin, e.g. mlp.")] = None
    critic: Annotated[Optional[str], typer.Option("--critic",
                                                  help="Critic plugin, e.g. mlp.")] = None
    constraint: Annotated[Optional[str], typer.Option(
        "--constraint", help="Lipschitz constraint: gp (WGAN-GP), clip (WGAN), ...")] = None
    objective: Annotated[Optional[str], typer.Option("--objective",
                                                     help="Objective, e.g. wgan.")] = None
    data: Annotated[Optional[str], typer.Option(
        "--data", help="Data source: 8gaussians, 25gaussians, swissroll, ...")] = None
    recipe: Annotated[Optional[str], typer.Option(
        "--recipe", help="Start from published settings: wgan-gp, wgan-clip, dcgan, lsgan, ... "
                         "(`wgan-kit recipes list`).")] = None
    steps: Annotated[Optional[int], typer.Option("--steps",
                                                 help="Generator steps to train for.")] = None
    batch_size: Annotated[Optional[int], typer.Option("--batch-size",
                                                      help="Samples per step (m).")] = None
    n_critic: Annotated[Optional[int], typer.Option(
        "--n-critic", help="Critic steps per generator step.")] = None
    seed: Annotated[Optional[int], typer.Option("--seed",
                                                help="Makes a CPU run repeatable.")] = None
    device: Annotated[Optional[str], typer.Option("--device",
                                                  help="auto, cpu, cuda or cuda:N.")] = None
    config: Annotated[Optional[Path], typer.Option(
        "--config", help="A TOML file of settings, e.g. a run's config.toml.")] = None
    assignments: Annotated[Optional[list[str]], typer.Option(
        "--set", help="section.key=value, repeatable; e.g. --set gen.hidden=256 "
                      "(sections: run, gen, critic, constraint, objective, data).")] = None
    threads: Threads = None
    plugin: Plugins = None
    precision: Annotated[Optional[str], typer.Option(
        "--precision", help="fp32, bf16 (autocast; fast on recent CPUs and GPUs), fp16 (CUDA, "
                            "with a gradient scaler) or auto (bf16 where the device has it "
                            "natively, else fp32).")] = None
    compile: Annotated[Optional[bool], typer.Option(
        "--compile/--no-compile", help="torch.compile the generator and the critic's plain passes "
                                       "(the penalty's pass stays eager).")] = None

    def registry(self) -> Registry:
        from ..core.registry import load_registry_with

        return load_registry_with(self.plugin or [])

    def names(self) -> dict[str, str | None]:
        """The plugin named for each part (`--gen mlp`), None where none is."""
        return {part: getattr(self, part) for part in PART_FLAGS}

    def resolve(self, registry: Registry) -> RunConfig:
        """The settings these flags choose, resolved in the one order (wgan_kit/core/layers.py)."""
        from ..core.layers import parse_assignments, resolve_config

        return resolve_config(registry, recipe=self.recipe, config=self.config,
                                names=self.names(),
                                run={key: getattr(self, key) for key in RUN_FLAGS},
                                overrides=parse_assignments(self.assignments or []))

    def given(self, *, besides: tuple[str, ...] = ()) -> list[str]:
        """The flags given, as typed (`--batch-size`), other than those named in `besides`."""
        return [SPELLING[name] for name in SPELLING if name not in besides
                and getattr(self, name) not in (None, [])]


# Each field's annotation, its Typer option included.
ANNOTATIONS: dict[str, Any] = typing.get_type_hints(RunFlags, include_extras=True)
PART_FLAGS = tuple(name for name in ANNOTATIONS if name in SECTIONS)
RUN_FLAGS = tuple(name for name in ANNOTATIONS if name in RunSettings.model_fields)


def _spelling(annotation: Any) -> str:
    """The flag as typed, from its option's declaration: `--set`, `--compile`."""
    option = next(a for a in typing.get_args(annotation) if isinstance(a, OptionInfo))
    # In `Annotated`, Typer keeps an option's first name where a default would go.
    declared = [d for d in (option.default, *(option.param_decls or ())) if isinstance(d, str)]
    return declared[0].partition("/")[0]


SPELLING = {name: _spelling(annotation) for name, annotation in ANNOTATIONS.items()}


def with_run_flags(*, steps: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared flags (all but --steps when `steps` is False), before its own;
    it receives them as its first argument, a `RunFlags`."""
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                annotation=annotation)
              for name, annotation in ANNOTATIONS.items() if steps or name != "steps"]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        # Typer makes a command's options from its signature, one parameter per option, and has
        # no way to fill a dataclass; so the wrapper below shows Typer the fields as parameters,
        # then gathers them into a `RunFlags`.
        hints = typing.get_type_hints(command, include_extras=True)
        own = [parameter.replace(annotation=hints[name], kind=inspect.Parameter.KEYWORD_ONLY)
               for name, parameter in list(inspect.signature(command).parameters.items())[1:]]

        @functools.wraps(command)
        def with_flags(**arguments: Any) -> Any:
            flags = RunFlags(**{p.name: arguments.pop(p.name) for p in shared})
            return command(flags, **arguments)

        del with_flags.__wrapped__  # Typer reads the signature below, not the command's
        with_flags.__signature__ = inspect.Signature([*shared, *own])  # type: ignore[attr-defined]
        with_flags.__annotations__ = {p.name: p.annotation for p in (*shared, *own)}
        return with_flags

    return decorate


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)
