"""`wgan-kit run`, `bench` and `check`: the shared flags in, one library call, the outcome out."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..errors import WganKitError
from .app import app, fail, stdout
from .flags import RunFlags, set_threads, with_run_flags

# What --resume may be given with.
RESUMABLE_FLAGS = ("steps", "device", "precision", "threads", "plugin")


@app.command(epilog="""**Examples**

`wgan-kit run`  —  WGAN-GP on 8 Gaussians, the toy code's settings

`wgan-kit run --gen mlp --critic mlp --constraint clip`  —  the original WGAN (weight clipping)

`wgan-kit run --recipe dcgan`  —  the DCGAN baseline with its paper's settings (`wgan-kit recipes list`)

`wgan-kit run --data swissroll --steps 5000 --set constraint.weight=1`

`wgan-kit run --config runs/X/config.toml`  —  repeat a run;  `--resume runs/X` continues it
""")
@with_run_flags()
def run(
    flags: RunFlags,
    out: Annotated[Optional[Path], typer.Option(
        help="Run folder [default: runs/DATE-TIME-GEN-CONSTRAINT, e.g. "
             "runs/20250314-093000-mlp-gp].")] = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue the run in this folder from its last checkpoint.")] = None,
    from_step: Annotated[Optional[int], typer.Option(
        min=0, help="With --resume: continue from the checkpoint of this step instead (when the "
                    "newest is damaged); the later checkpoints are replaced as it trains.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run in --out.")] = False,
    quiet: Annotated[bool, typer.Option(help="Plain log lines instead of a live bar.")] = False,
    preflight: Annotated[bool, typer.Option(
        help="Check the run on a tiny batch first (`wgan-kit check`) and refuse it on a failure."
    )] = True,
    nproc: Annotated[int, typer.Option(
        min=1, max=1024, help="Processes, one per device, training data-parallel (gloo on CPU, "
                              "nccl on CUDA); `torchrun -m wgan_kit run` works too.")] = 1,
) -> None:
    """Train a GAN: n_critic critic steps per generator step (Algorithm 1 of WGAN and WGAN-GP).

    Settings come, lowest first, from the defaults, the chosen plugins' published settings,
    `--recipe`, `--config`, the named flags (`--gen`, `--steps`, ...) and `--set`. The run folder
    gets config.toml, metrics.jsonl, safetensors checkpoints, pictures of samples and
    preflight.json.
    """
    from ..training.interrupts import EXIT_STATUS
    from ..training.composition import Plan
    from ..training.launch import CLI_RESUME, Launch, launch

    try:
        registry = flags.registry()
        choices = Launch(out=out, overwrite=overwrite, preflight=preflight, nproc=nproc,
                         progress="lines" if quiet or not sys.stderr.isatty() else "bar",
                         threads=flags.threads, resume_command=CLI_RESUME,
                         plugin_files=tuple(flags.plugin or ()))
        if from_step is not None and resume is None:
            raise WganKitError(f"--from-step {from_step}: picks the checkpoint a resumed run "
                               "continues from; give it with --resume RUN")
        if resume is not None:
            from ..core.layers import parts_named_as_recorded, refuse_changes_on_resume

            kept = parts_named_as_recorded(resume, flags.names(), registry)
            refuse_changes_on_resume(flags.given(besides=RESUMABLE_FLAGS + kept) + [
                flag for flag, value in (("--out", out), ("--overwrite", overwrite)) if value])
            changes = {"steps": flags.steps, "device": flags.device,
                       "precision": flags.precision}
            result = launch(Plan.resuming(resume, changes, from_step=from_step), choices,
                            registry)
        else:
            config = flags.resolve(registry)
            default = Path("runs") / (f"{datetime.now():%Y%m%d-%H%M%S}-{config.name_of('gen')}-"
                                      f"{config.name_of('constraint')}")
            result = launch(Plan.new(config), dataclasses.replace(choices, out=out or default),
                            registry)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    except KeyboardInterrupt:  # a second Ctrl-C; the launch said what is left
        raise typer.Exit(130) from None
    if not result.finished:
        raise typer.Exit(EXIT_STATUS[result.stopped_by])


@app.command(epilog="""**Examples**

`wgan-kit bench`  —  the default run's speed on this machine

`wgan-kit bench --precision bf16 --batch-size 64 --json`
""")
@with_run_flags(steps=False)
def bench(
    flags: RunFlags,
    gen_steps: Annotated[int, typer.Option(min=1, max=10**7,
                                           help="Generator steps to time.")] = 20,
    warmup: Annotated[int, typer.Option(min=0, max=10**7,
                                        help="Generator steps before timing.")] = 3,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Time generator steps of a composition, as `run` would train it, on synthetic batches of
    its data source's shape (so data loading is not measured). Writes nothing."""
    try:
        config = flags.resolve(flags.registry())
        from ..evaluation.benchmark import bench_composition

        set_threads(flags.threads)
        result = bench_composition(config, gen_steps=gen_steps, warmup=warmup)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    if json_:
        print(json.dumps(result))
        return
    table = Table("measure", "value", title="wgan-kit bench")
    for key, value in result.items():
        table.add_row(key, str(value))
    stdout.print(table)


@app.command(epilog="""**Examples**

`wgan-kit check`  —  the checks `wgan-kit run` makes, for the default run

`wgan-kit check --constraint clip --set critic.norm=batch --json`
""")
@with_run_flags()
def check(
    flags: RunFlags,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run the preflight alone: the checks `wgan-kit run` makes on a tiny batch before training
    (batch coupling, double backward, penalty norm, shapes and ranges, first steps, device).

    Takes the flags of `run` that choose and configure it. Exits 1 when the run would be refused
    (a failed check, or parts that cannot be built together), 2 when the flags themselves are
    wrong (as every command does).
    """
    try:
        registry = flags.registry()
        config = flags.resolve(registry)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    try:
        from ..training.composition import build
        from ..training.preflight import run_preflight

        trainer = build(config, hooks=registry.hooks.hook)
        set_threads(flags.threads)
        report = run_preflight(trainer, registry)
    except WganKitError as exc:
        fail(exc.problems)
        raise typer.Exit(1) from None
    if json_:
        print(report.to_json())
    else:
        styles = {"pass": "green", "warn": "yellow", "fail": "bold red"}
        table = Table("check", "status", "measured", "advice")
        for c in report.checks:
            table.add_row(c.name, Text(c.status, style=styles[c.status]), c.measured, c.advice)
        stdout.print(table)
        stdout.print(report.summary())
    if report.failures:
        raise typer.Exit(1)
