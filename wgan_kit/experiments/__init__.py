"""Sweeps: many runs over settings and seeds, searched and recorded by Optuna.

    from wgan_kit.experiments import load_sweep, run_sweep, sweep_status
    spec = load_sweep("examples/toy_lambda_sweep.toml")   # every problem at once, nothing written
    run_sweep(spec, "runs/lambda")                        # DIR/trial-NNN run folders, its journal
    table, spec = sweep_status("runs/lambda")             # rows; also DIR/trials.csv, trials.json
    write_sweep_report(table, spec, Path("runs/lambda"), Path("lambda.html"))

A killed sweep continues when `run_sweep` is called again on its folder; `join_sweep(URL, DIR)`
adds a worker on another machine to a sweep whose storage is a shared database.
"""

from __future__ import annotations

from pathlib import Path

from .report import write_sweep_report
from .runner import SWEEP_VARIABLE, TRIAL_VARIABLE, SweepRun, join_sweep, run_sweep
from .spec import SweepSpec, check_sweep, load_sweep
from .table import (
    TrialRow,
    best,
    rich_summary,
    rich_table,
    rows,
    spread_over_seeds,
    summary,
    write,
)


def is_sweep_folder(path: str | Path) -> bool:
    """Whether `path` is a sweep's folder (`wgan-kit report` draws the sweep's page for it)."""
    from .study import SPEC_FILE

    return (Path(path).expanduser() / SPEC_FILE).is_file()


def sweep_status(out: str | Path) -> tuple[list[TrialRow], SweepSpec]:
    """The trials of the sweep in folder `out` as rows, written to `out/trials.csv` and
    `out/trials.json` too."""
    from . import study

    out = Path(out).expanduser()
    current, spec = study.status(out)
    table = rows(current)
    write(table, spec, out)
    return table, spec


__all__ = ["SWEEP_VARIABLE", "TRIAL_VARIABLE", "SweepRun", "SweepSpec", "TrialRow", "best",
           "check_sweep", "is_sweep_folder", "join_sweep", "load_sweep", "rich_summary",
           "rich_table", "rows", "run_sweep", "spread_over_seeds", "summary", "sweep_status",
           "write", "write_sweep_report"]
