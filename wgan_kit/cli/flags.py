"""The flags that choose and configure a run, defined once for `run`, `check` and `bench`, and read
into one `RunFlags` value."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from ..core.registry import Registry
    from ..core.settings import RunConfig

PART_FLAGS = ("gen", "critic", "constraint", "objective", "data")
RUN_FLAGS = ("steps", "batch_size", "n_critic", "seed", "device", "precision", "compile")

# `--threads`, for every command that runs torch.
Threads = Annotated[Optional[int], typer.Option(
    "--threads", min=1, max=1024, help="CPU threads for torch [default: torch's choice].")]

# `--plugin`, for every command that composes or reopens a run.
Plugins = Annotated[Optional[list[Path]], typer.Option(
    "--plugin", help="A Python file to load as a plugin for this run (repeatable), e.g. one that "
                     "registers an objective.")]

# Each shared flag: its parameter name (the RunFlags field) and its Typer annotation.
SHARED: dict[str, Any] = {
    "gen": Annotated[Optional[str], typer.Option("--gen", help="Generator plugin, e.g. mlp.")],
    "critic": Annotated[Optional[str], typer.Option("--critic", help="Critic plugin, e.g. mlp.")],
    "constraint": Annotated[Optional[str], typer.Option(
        "--constraint", help="Lipschitz constraint: gp (WGAN-GP), clip (WGAN), ...")],
    "objective": Annotated[Optional[str], typer.Option("--objective",
                                                       help="Objective, e.g. wgan.")],
    "data": Annotated[Optional[str], typer.Option(
        "--data", help="Data source: 8gaussians, 25gaussians, swissroll, ...")],
    "recipe": Annotated[Optional[str], typer.Option(
        "--recipe", help="Start from published settings: wgan-gp, wgan-clip, dcgan, lsgan, ... "
                         "(`wgan-kit recipes list`).")],
    "steps": Annotated[Optional[int], typer.Option("--steps",
                                                   help="Generator steps to train for.")],
    "batch_size": Annotated[Optional[int], typer.Option("--batch-size",
                                                        help="Samples per step (m).")],
    "n_critic": Annotated[Optional[int], typer.Option(
        "--n-critic", help="Critic steps per generator step.")],
    "seed": Annotated[Optional[int], typer.Option("--seed", help="Makes a CPU run repeatable.")],
    "device": Annotated[Optional[str], typer.Option("--device",
                                                    help="auto, cpu, cuda or cuda:N.")],
    "config": Annotated[Optional[Path], typer.Option(
        "--config", help="A TOML file of settings, e.g. a run's config.toml.")],
    "assignments": Annotated[Optional[list[str]], typer.Option(
        "--set", help="section.key=value, repeatable; e.g. --set gen.hidden=256 "
                      "(sections: run, gen, critic, constraint, objective, data).")],
    "threads": Threads,
    "plugin": Plugins,
    "precision": Annotated[Optional[str], typer.Option(
        "--precision", help="fp32, bf16 (autocast; fast on recent CPUs and GPUs), fp16 (CUDA, "
                            "with a gradient scaler) or auto (bf16 where the device has it "
                            "natively, else fp32).")],
    "compile": Annotated[Optional[bool], typer.Option(
        "--compile/--no-compile", help="torch.compile the generator and the critic's plain passes "
                                       "(the penalty's pass stays eager).")],
}
SPELLING = {"assignments": "--set"}  # flags not spelt as their field


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """The shared flags of one command line; None: not given."""

    gen: str | None = None
    critic: str | None = None
    constraint: str | None = None
    objective: str | None = None
    data: str | None = None
    recipe: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    n_critic: int | None = None
    seed: int | None = None
    device: str | None = None
    config: Path | None = None
    assignments: list[str] | None = None
    threads: int | None = None
    plugin: list[Path] | None = None
    precision: str | None = None
    compile: bool | None = None

    def registry(self) -> Registry:
        from ..core.registry import load_registry_with

        return load_registry_with(self.plugin or [])

    def settings(self, registry: Registry) -> RunConfig:
        """The settings these flags choose, resolved in the one order (wgan_kit/core/config.py)."""
        from ..core.config import parse_assignments, resolve_settings

        return resolve_settings(registry, recipe=self.recipe, config=self.config,
                                names={part: getattr(self, part) for part in PART_FLAGS},
                                run={key: getattr(self, key) for key in RUN_FLAGS},
                                overrides=parse_assignments(self.assignments or []))

    def given(self, *, besides: tuple[str, ...] = ()) -> list[str]:
        """The flags given, as typed (`--batch-size`), other than those named in `besides`."""
        return [SPELLING.get(name, f"--{name.replace('_', '-')}")
                for name in SHARED if name not in besides and getattr(self, name)
                not in (None, [])]


def with_run_flags(*, steps: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared flags (all but --steps when `steps` is False), before its own;
    it receives them as its first argument, a `RunFlags`."""
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                annotation=annotation)
              for name, annotation in SHARED.items() if steps or name != "steps"]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
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
