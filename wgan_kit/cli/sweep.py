"""`wgan-kit sweep SPEC.toml --out DIR`, `sweep --join URL --out DIR` and `sweep status DIR`: the
flags in, one call of wgan_kit.experiments, the trials table out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from ..errors import WganKitError
from .app import app, fail, stdout

START = "start"  # the command `wgan-kit sweep SPEC ...` runs


class SweepGroup(TyperGroup):
    """`wgan-kit sweep ARGS` is `wgan-kit sweep start ARGS` unless ARGS name another command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [START, *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(
    cls=SweepGroup, no_args_is_help=True,
    help="Run many trainings over settings and seeds (grid, random or TPE search through Optuna), "
         "each trial an ordinary run folder, and compare them in one table.",
    epilog="""**Examples**

`wgan-kit sweep examples/toy_lambda_sweep.toml --out runs/lambda`  —  λ × seeds on 25 Gaussians,
then the table of trials, the best one and the spread over seeds

`wgan-kit sweep status runs/lambda --json`  —  the table at any time (also runs/lambda/trials.csv)

`wgan-kit report runs/lambda`  —  the sweep's page: the metric against each setting, the best
trials' curves and samples

Several machines: start with `--storage postgresql://HOST/DB`, then on each other machine
`wgan-kit sweep --join postgresql://HOST/DB --out runs/lambda`.
""")
app.add_typer(sweep_app, name="sweep")


@sweep_app.command(START, epilog="""**Examples**

`wgan-kit sweep examples/toy_lambda_sweep.toml --out runs/lambda --jobs 2 --threads 1`

`wgan-kit sweep examples/toy_lambda_sweep.toml --out runs/lambda`  —  again, after Ctrl-C: the
finished trials are kept and the stopped one resumes from its checkpoint

`wgan-kit sweep examples/toy_lambda_sweep.toml --out runs/lambda --retry-failed`  —  again, the
failed trials run once more

`wgan-kit sweep --join journal:///runs/lambda/sweep.journal --out runs/lambda`  —  one more worker
on this machine (on others: a database server, `--storage postgresql://...`)
""")
def start(
    out: Annotated[Path, typer.Option(help="The sweep folder: trial-NNN run folders, "
                                           "sweep.journal, trials.csv and trials.json.")],
    spec: Annotated[Optional[Path], typer.Argument(
        metavar="SPEC.toml", help="The sweep file: [sweep] (metric, direction, sampler, seeds, "
                                  "settings to vary) and the run tables of a config.")] = None,
    join: Annotated[Optional[str], typer.Option(
        help="Work on the sweep stored at this URL (postgresql://USER:PASSWORD@HOST/DB, or "
             "journal:///PATH on a disk both machines see), started on another machine.")
    ] = None,
    name: Annotated[Optional[str], typer.Option(
        help="With --join: the sweep's name, when the database holds several.")] = None,
    jobs: Annotated[Optional[int], typer.Option(
        min=1, max=256, help="Trials at once on this machine [default: the file's jobs].")
    ] = None,
    storage: Annotated[Optional[str], typer.Option(
        help="Database URL for the study, e.g. postgresql://HOST/DB, so that other machines can "
             "--join [default: Optuna's journal file DIR/sweep.journal].")] = None,
    threads: Annotated[Optional[int], typer.Option(
        min=1, max=1024, help="torch threads per trial [default: the file's, else cores / jobs]."
    )] = None,
    quiet: Annotated[bool, typer.Option(help="No line per finished trial; the table alone.")
                     ] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Run the failed trials again (from their last checkpoint where "
                               "they have one); without it a continued sweep keeps them failed.")
    ] = False,
) -> None:
    """Run a sweep, or continue the one in --out where it stopped; then print its table."""
    from ..training.interrupts import EXIT_STATUS

    hint = (f"wgan-kit sweep --join {join} --out {out}" if join is not None
            else f"wgan-kit sweep {spec} --out {out}")
    try:
        from ..experiments import join_sweep, load_sweep, run_sweep, sweep_status

        problems = _combination_problems(spec, join, name=name, jobs=jobs, storage=storage)
        if problems:
            raise WganKitError(problems)
        if join is not None:
            ended = join_sweep(join, out, name=name, threads=threads, quiet=quiet,
                               continue_with=hint, retry_failed=retry_failed)
        else:
            ended = run_sweep(load_sweep(spec, storage=storage), out, jobs=jobs,
                              threads=threads, quiet=quiet, continue_with=hint,
                              retry_failed=retry_failed)
        _show(*sweep_status(out))
    except WganKitError as exc:
        raise fail(exc.problems) from None
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, the last checkpoint kept
        print(f"stopped; continue with: {hint}", file=sys.stderr)
        raise typer.Exit(130) from None
    if not ended.finished:
        print(f"sweep stopped by {ended.stopped_by.name}; continue with: {hint}", file=sys.stderr)
        raise typer.Exit(EXIT_STATUS[ended.stopped_by])


def _combination_problems(spec: Path | None, join: str | None, **given: Any) -> list[str]:
    """A sweep is started from a file or joined at a URL; each takes its own flags."""
    if spec is None and join is None:
        return ["name a sweep file (wgan-kit sweep SPEC.toml --out DIR) or a sweep to join "
                "(wgan-kit sweep --join URL --out DIR)"]
    if spec is not None and join is not None:
        return [f"{spec} and --join: start a sweep from a file or join one, not both"]
    if join is None:
        return [f"--{flag}: only with --join" for flag in ("name",) if given[flag] is not None]
    return [f"--{flag}: not with --join (the sweep joined has its own)"
            for flag in ("jobs", "storage") if given[flag] is not None]


@sweep_app.command(epilog="**Examples**\n\n`wgan-kit sweep status runs/lambda`\n\n"
                          "`wgan-kit sweep status runs/lambda --json`")
def status(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A sweep folder.")],
    json_: Annotated[bool, typer.Option("--json", help="Print trials.json's content.")] = False,
) -> None:
    """The trials of a sweep so far (finished, running, failed, pruned), the best one and the
    spread over seeds; rewrites DIR/trials.csv and DIR/trials.json."""
    try:
        from ..experiments import summary, sweep_status

        table, spec = sweep_status(folder)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    if json_:
        print(json.dumps(summary(table, spec), indent=2))
        return
    _show(table, spec)


def _show(table: Any, spec: Any) -> None:
    from ..experiments import rich_summary

    for shown in rich_summary(table, spec):
        stdout.print(shown)
