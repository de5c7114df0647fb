"""The `wgan-kit` command line. torch loads only inside the commands that train or sample."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import typing
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import WganKitError

app = typer.Typer(
    help="Train Wasserstein GANs (WGAN-GP, WGAN with clipping) and their baselines from plugins.\n\n"
         "Start with `wgan-kit run`: WGAN-GP on the 8-Gaussians toy set, about two minutes on a CPU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
plugins_app = typer.Typer(help="List the installed plugins and show their options.",
                          no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
stdout = Console()


def _fail(problems: list[str]) -> typer.Exit:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return typer.Exit(2)


def _registry():
    from .registry import load_registry

    return load_registry()


@app.command(epilog="""**Examples**

`wgan-kit run`  —  WGAN-GP on 8 Gaussians, the toy code's settings

`wgan-kit run --gen mlp --critic mlp --constraint clip`  —  the original WGAN (weight clipping)

`wgan-kit run --data swissroll --steps 5000 --set constraint.weight=1`

`wgan-kit run --config runs/X/config.toml`  —  repeat a run;  `--resume runs/X` continues it
""")
def run(
    gen: Annotated[Optional[str], typer.Option(help="Generator plugin, e.g. mlp.")] = None,
    critic: Annotated[Optional[str], typer.Option(help="Critic plugin, e.g. mlp.")] = None,
    constraint: Annotated[Optional[str], typer.Option(
        help="Lipschitz constraint: gp (WGAN-GP), clip (WGAN), ...")] = None,
    objective: Annotated[Optional[str], typer.Option(help="Objective, e.g. wgan.")] = None,
    data: Annotated[Optional[str], typer.Option(
        help="Data source: 8gaussians, 25gaussians, swissroll, ...")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Generator steps to train for.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Samples per step (m).")] = None,
    n_critic: Annotated[Optional[int], typer.Option(
        help="Critic steps per generator step.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Makes a CPU run repeatable.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Run folder [default: runs/<date-time>-<gen>-<constraint>].")] = None,
    config: Annotated[Optional[Path], typer.Option(
        help="A TOML file of settings, e.g. a run's config.toml.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="section.key=value, repeatable; e.g. --set gen.hidden=256 "
                      "(sections: run, gen, critic, constraint, objective, data).")] = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue the run in this folder from its last checkpoint.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run in --out.")] = False,
    quiet: Annotated[bool, typer.Option(help="Plain log lines instead of a live bar.")] = False,
    threads: Annotated[Optional[int], typer.Option(
        min=1, max=1024, help="CPU threads for torch [default: torch's choice].")] = None,
    precision: Annotated[Optional[str], typer.Option(
        help="fp32, bf16 (autocast; fast on recent CPUs and GPUs) or fp16 (CUDA, with a "
             "gradient scaler).")] = None,
    compile_: Annotated[Optional[bool], typer.Option(
        "--compile/--no-compile", help="torch.compile the generator and the critic's plain "
                                       "passes (the penalty's pass stays eager).")] = None,
    nproc: Annotated[int, typer.Option(
        min=1, max=1024, help="Processes, one per device, training data-parallel (gloo on CPU, "
                              "nccl on CUDA); `torchrun -m wgan_kit run` works too.")] = 1,
) -> None:
    """Train a GAN: n_critic critic steps per generator step (Algorithm 1 of WGAN and WGAN-GP).

    Settings come, lowest first, from the defaults, the chosen plugins' published settings,
    `--config`, the flags above and `--set`. The run folder gets config.toml, metrics.jsonl,
    safetensors checkpoints and pictures of samples.
    """
    arguments = dict(locals())
    from .run_folder import RunFolder

    rank = None
    if nproc > 1 or "WORLD_SIZE" in os.environ:
        from . import distributed

        rank = distributed.from_environment()
        if rank is None and nproc > 1:
            return _spawn_ranks(nproc, {**arguments, "nproc": 1})
    main = rank is None or rank.is_main
    try:
        if rank is not None:
            device = distributed.join(rank, device)
            threads = threads or distributed.threads_per_rank(rank, device)
        flags = {"steps": steps, "batch_size": batch_size, "n_critic": n_critic, "seed": seed,
                 "device": device, "precision": precision, "compile": compile_}
        named = {"gen": gen, "critic": critic, "constraint": constraint, "objective": objective,
                 "data": data}
        if resume is not None:
            given = [f"--{k.replace('_', '-')}" for k, v in {**flags, **named}.items()
                     if v is not None and k not in ("steps", "device")]
            given += [flag for flag, v in (("--config", config), ("--set", set_), ("--out", out),
                                           ("--overwrite", overwrite)) if v]
            if given:
                raise WganKitError(f"--resume continues a run as it was configured; drop "
                                   f"{', '.join(given)} (only --steps and --device may change)")
            from .composition import resume as resume_run

            with distributed.main_first(rank) if rank else contextlib.nullcontext():
                trainer = resume_run(resume, steps=steps, device=device)
        else:
            from .composition import build, resolve_layers

            resolved = resolve_layers(_layers(named, flags, config, set_), _registry())
            out = out or Path("runs") / (f"{datetime.now():%Y%m%d-%H%M%S}-"
                                         f"{resolved.name_of('gen')}-"
                                         f"{resolved.name_of('constraint')}")
            if main:
                RunFolder.check(out, overwrite=overwrite)
            trainer = build(resolved)
        if rank is not None:
            distributed.shard(trainer, rank)  # rank 0 alone keeps the run folder
            out = out if rank.is_main else None
        from .interrupts import EXIT_STATUS, stop_gracefully
        from .progress import BarProgress, LineProgress

        _set_threads(threads)
        progress = (None if not main else
                    LineProgress() if quiet or not sys.stderr.isatty() else BarProgress())
        try:
            with stop_gracefully(trainer):
                try:
                    trainer.train(out, overwrite=overwrite, progress=progress)
                finally:
                    if progress:
                        progress.stop()
        except KeyboardInterrupt:
            if main:
                print(f"stopped at once; continue from the last checkpoint with: wgan-kit run "
                      f"--resume {trainer.folder.path if trainer.folder else out}",
                      file=sys.stderr)
            raise typer.Exit(130) from None
        if trainer.stop_requested is not None:
            if main:
                print(f"stopped at step {trainer.step}; continue with: wgan-kit run --resume "
                      f"{trainer.folder.path if trainer.folder else out}", file=sys.stderr)
            raise typer.Exit(EXIT_STATUS[trainer.stop_requested])
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    finally:
        if rank is not None:
            distributed.leave()


def _spawn_ranks(nproc: int, arguments: dict[str, Any]) -> None:
    """`run --nproc N`: N processes on this machine, each running `run` as torchrun would."""
    import torch.multiprocessing

    from .distributed import free_port

    try:
        torch.multiprocessing.start_processes(_run_rank, args=(nproc, free_port(), arguments),
                                              nprocs=nproc, start_method="spawn")
    except torch.multiprocessing.ProcessExitedException as exc:
        raise typer.Exit(exc.exit_code if exc.exit_code and exc.exit_code > 0 else 1) from None


def _run_rank(index: int, nproc: int, port: int, arguments: dict[str, Any]) -> None:
    from .distributed import launch_environment

    os.environ.update(launch_environment(index, nproc, port))
    try:
        run(**arguments)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)


def _layers(named: dict[str, Any], flags: dict[str, Any], config: Optional[Path],
            set_: Optional[list[str]]) -> list[dict[str, dict[str, Any]]]:
    """The settings layers of `run`'s (and `bench`'s) flags, lowest first."""
    from .config import load_toml, parse_assignments

    layers = [load_toml(config)] if config else []
    layers.append({s: {"name": v} for s, v in named.items() if v is not None})
    layers.append({"run": {k: v for k, v in flags.items() if v is not None}})
    layers.append(parse_assignments(set_ or []))
    return layers


def _set_threads(threads: Optional[int]) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


@app.command(epilog="""**Examples**

`wgan-kit bench`  —  the default run's speed on this machine

`wgan-kit bench --precision bf16 --batch-size 64 --json`
""")
def bench(
    gen: Annotated[Optional[str], typer.Option(help="Generator plugin, e.g. mlp.")] = None,
    critic: Annotated[Optional[str], typer.Option(help="Critic plugin, e.g. mlp.")] = None,
    constraint: Annotated[Optional[str], typer.Option(
        help="Lipschitz constraint: gp (WGAN-GP), clip (WGAN), ...")] = None,
    objective: Annotated[Optional[str], typer.Option(help="Objective, e.g. wgan.")] = None,
    data: Annotated[Optional[str], typer.Option(
        help="Data source whose sample shape the synthetic batches take.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Samples per step (m).")] = None,
    n_critic: Annotated[Optional[int], typer.Option(
        help="Critic steps per generator step.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seeds weights and batches.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    config: Annotated[Optional[Path], typer.Option(
        help="A TOML file of settings, e.g. a run's config.toml.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="section.key=value, repeatable, as for `run`.")] = None,
    threads: Annotated[Optional[int], typer.Option(
        min=1, max=1024, help="CPU threads for torch [default: torch's choice].")] = None,
    precision: Annotated[Optional[str], typer.Option(help="fp32, bf16 or fp16.")] = None,
    compile_: Annotated[Optional[bool], typer.Option(
        "--compile/--no-compile", help="torch.compile the safe passes (see `run`).")] = None,
    gen_steps: Annotated[int, typer.Option(min=1, max=10**7,
                                           help="Generator steps to time.")] = 20,
    warmup: Annotated[int, typer.Option(min=0, max=10**7,
                                        help="Generator steps before timing.")] = 3,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Time generator steps of a composition, as `run` would train it, on synthetic batches of
    its data source's shape (so data loading is not measured). Writes nothing."""
    try:
        from .benchmark import SyntheticData, measure
        from .composition import build, resolve_layers

        flags = {"batch_size": batch_size, "n_critic": n_critic, "seed": seed, "device": device,
                 "precision": precision, "compile": compile_}
        named = {"gen": gen, "critic": critic, "constraint": constraint, "objective": objective,
                 "data": data}
        resolved = resolve_layers(_layers(named, flags, config, set_), _registry())
        source = resolved.parts["data"]
        synthetic = SyntheticData(source.component.factory(source.options).spec)
        _set_threads(threads)
        trainer = build(resolved, {"data": synthetic})
        result = {"gen": resolved.name_of("gen"), "critic": resolved.name_of("critic"),
                  "constraint": resolved.name_of("constraint"),
                  "data": f"synthetic, shaped as {source.component.name}",
                  **measure(trainer, gen_steps=gen_steps, warmup=warmup)}
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    if json_:
        print(json.dumps(result))
        return
    table = Table("measure", "value", title="wgan-kit bench")
    for key, value in result.items():
        table.add_row(key, str(value))
    stdout.print(table)


@app.command(epilog="**Example**\n\n`wgan-kit sample runs/X --n 500 --out samples.png`")
def sample(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder.")],
    out: Annotated[Path, typer.Option(help="Output: .png (a picture) or .safetensors "
                                           "(the raw samples under the key 'samples').")],
    n: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many samples.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the latent points.")] = 0,
) -> None:
    """Draw samples from a run's last checkpoint."""
    try:
        if out.suffix not in (".png", ".safetensors"):
            raise WganKitError(f"--out {out}: unknown format {out.suffix or '(none)'!r}; "
                               "use .png or .safetensors")
        if out.exists():
            raise WganKitError(f"--out {out}: already exists; choose another name")
        import torch

        from . import checkpoint
        from .composition import resume as resume_run
        from .pictures import save_picture

        trainer = resume_run(run_dir)
        latent = torch.randn(n, trainer.generator.latent_dim,
                             generator=torch.Generator().manual_seed(seed)).to(trainer.device)
        samples = trainer.sample(n, latent=latent)
        if out.suffix == ".safetensors":
            checkpoint.save(out, {"samples": samples}, {"step": trainer.step})
        else:
            data = trainer.parts.data
            real = data.decode(data.held_out(n, device=trainer.device))
            if not save_picture(data.spec.kind, data.decode(samples), out, real=real,
                                title=f"{run_dir.name}, step {trainer.step}"):
                raise WganKitError(f"--out {out}: no picture for samples of kind "
                                   f"{data.spec.kind!r}; use .safetensors")
        print(f"wrote {n} samples to {out}", file=sys.stderr)
    except WganKitError as exc:
        raise _fail(exc.problems) from None


@plugins_app.command("list")
def plugins_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                 ) -> None:
    """Every installed component (kind, name, package, version, summary) and every plugin
    module that failed to load, with the reason."""
    registry = _registry()
    rows = [{"kind": c.kind, "name": c.name, "package": c.package, "version": c.version,
             "summary": c.summary, "status": "ok"} for c in registry.components()]
    rows += [{"kind": "plugin", "name": p.module, "package": p.package, "version": p.version,
              "summary": p.error, "status": "error"} for p in registry.plugins
             if p.status != "ok"]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table("kind", "name", "package", "version", "summary", "status")
    for row in rows:
        style = "red" if row["status"] != "ok" else None
        table.add_row(*(row[k] for k in ("kind", "name", "package", "version", "summary",
                                         "status")), style=style)
    stdout.print(table)


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


@plugins_app.command("show")
def plugins_show(
    name: Annotated[str, typer.Argument(help="A component name, e.g. gp or pkg:gp.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The options of a component: type, default and description."""
    from .registry import KINDS

    registry = _registry()
    found, problems = [], []
    for kind in KINDS:
        try:
            found.append(registry.get(kind, name))
        except WganKitError as exc:
            problems += exc.problems
    if not found:
        unknown = [p for p in problems if "several packages" in p] or [
            f"no component named {name!r}; `wgan-kit plugins list` shows what is installed"]
        raise _fail(unknown)
    described = [{"kind": c.kind, "name": c.name, "package": c.package, "summary": c.summary,
                  "options": [{"name": key, "type": _type_name(field.annotation),
                               "default": field.default, "description": field.description or ""}
                              for key, field in c.options.model_fields.items()],
                  "suggests": dict(c.suggests)} for c in found]
    if json_:
        print(json.dumps(described, indent=2, default=str))
        return
    for entry in described:
        stdout.print(f"[bold]{entry['kind']} {entry['name']}[/bold] ({entry['package']}): "
                     f"{entry['summary']}")
        table = Table("option", "type", "default", "description")
        for option in entry["options"]:
            table.add_row(option["name"], option["type"], repr(option["default"]),
                          option["description"])
        stdout.print(table if entry["options"] else "  no options")
        if entry["suggests"]:
            stdout.print("  suggests: " + ", ".join(f"{k}={v!r}"
                                                    for k, v in entry["suggests"].items()))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
