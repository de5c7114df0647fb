"""The one way a run is launched: `wgan-kit run`, `Trainer.train` and every rank of a data-parallel
run go through here.

Before anything is written, every part is built, the run folder checked, the preflight made and
the data stream started at the run's batch size: whatever can be known before training fails
there (as `WganKitError`), so a refused run leaves no folder. Then the folder is created (by rank
0 alone when there are several processes), preflight.json written, SIGINT and SIGTERM made to stop
the run after the current step with a checkpoint, and the run trained with its progress shown.
The `RunResult` says how it ended; a resumed run with no steps left writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomllib
import torch

from ..core import checkpoint
from ..core.config import resolve_settings
from ..core.metrics import RunResult
from ..core.protocols import Progress
from ..core.registry import load_registry_with
from ..core.run_folder import RunFolder
from ..errors import WganKitError
from . import distributed
from .composition import build, resume
from .interrupts import passing_signals_to, stop_gracefully
from .preflight import Preflight, run_preflight
from .progress import BarProgress, LineProgress

if TYPE_CHECKING:
    from ..core.engine import Trainer
    from ..core.registry import Registry
    from ..core.settings import RunConfig

PYTHON_RESUME = "wgan_kit.resume({folder!r}).train()"  # how a stopped run is continued
CLI_RESUME = "wgan-kit run --resume {folder}"


@dataclasses.dataclass(frozen=True)
class Launch:
    """The run's I/O choices. `progress`: a `Progress`, or "bar" / "lines" for the built-in ones
    (shown by rank 0 alone); `preflight`: True, False (skipped, and said so) or None (skipped
    quietly); `resume_command`: the hint printed when a signal stops the run."""

    out: Path | None = None
    overwrite: bool = False
    preflight: bool | None = True
    progress: Progress | Literal["bar", "lines"] | None = None
    nproc: int = 1
    threads: int | None = None
    handle_signals: bool = True
    resume_command: str = PYTHON_RESUME
    plugin_files: tuple[Path, ...] = ()


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a rank builds, sent to the processes of a data-parallel run: resolved settings (as
    their TOML) for a new run, or a folder to resume with the changes allowed (steps, device)."""

    settings: str | None = None
    resume: Path | None = None
    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def trainer(self, registry: Registry, device: str | None, *, main: bool,
                choices: Launch) -> Trainer:
        if self.resume is not None:
            return resume(self.resume, registry=registry, **{**self.changes, "device": device})
        settings = resolve_settings(registry, config=tomllib.loads(self.settings),
                                    run={"device": device})
        if main and choices.out is not None:
            RunFolder.check(choices.out, overwrite=choices.overwrite)
        return build(settings, hooks=registry.hooks.hook)


def launch(settings: RunConfig | None, choices: Launch, registry: Registry | None, *,
           resume_from: Path | None = None, changes: Mapping[str, Any] | None = None
           ) -> RunResult:
    """Run `settings` (resolved), or the run in folder `resume_from` with `changes` (steps,
    device): in this process, in the ranks torchrun started (its environment says so), or in
    `choices.nproc` processes started here (which load their own `registry`)."""
    plan = Plan(settings.to_toml() if settings is not None else None, resume_from,
                dict(changes or {}))
    if choices.nproc > 1:
        if settings is not None:  # what every rank would refuse, refused once, before any starts
            distributed.check_split(settings.run.batch_size, choices.nproc)
            if choices.out is not None:
                RunFolder.check(choices.out, overwrite=choices.overwrite)
        return _spawn_ranks(plan, choices)
    registry = registry or load_registry_with(choices.plugin_files)
    rank = distributed.from_environment()
    if rank is not None:
        return _train_rank(rank, plan, choices, registry)
    if resume_from is not None:
        trainer = resume(resume_from, registry=registry, **plan.changes)
    else:
        if choices.out is not None:
            RunFolder.check(choices.out, overwrite=choices.overwrite)
        trainer = build(settings, hooks=registry.hooks.hook)
    return train_here(trainer, choices)


def train(trainer: Trainer, *, out: str | Path | None = None, overwrite: bool = False,
          progress: Progress | Literal["bar", "lines"] | None = None,
          preflight: bool | None = None, nproc: int = 1, handle_signals: bool = True
          ) -> RunResult:
    """`Trainer.train`: with `out`, a new run folder gets the config, metrics, checkpoints,
    pictures and preflight.json; a resumed trainer continues in its own folder; without either,
    nothing is written. `preflight` (default: on when `out` starts a folder) checks the run first
    and refuses a doomed one with `WganKitError` before anything is written. Ctrl-C or SIGTERM
    stop the run after the current step with a checkpoint and a hint to resume
    (`handle_signals=False` leaves the handlers to your program). `nproc=N` trains data-parallel
    in N processes, as `wgan-kit run --nproc N` does, and then loads the result into `trainer`."""
    out = Path(out).expanduser() if out is not None else None
    if preflight is None:  # on for a new run folder, else skipped without a word
        preflight = True if out is not None else None
    choices = Launch(out=out, overwrite=overwrite, preflight=preflight, progress=progress,
                     nproc=nproc, handle_signals=handle_signals)
    if nproc == 1:
        return train_here(trainer, choices)
    problems = [f"{section}: given as a Python object, which the other processes cannot rebuild; "
                "name a registered component for nproc > 1" for section in trainer.config.objects]
    if out is None and trainer.folder is None:
        problems.append("nproc: a data-parallel run needs out= (its ranks hand the trained "
                        "weights back through the run folder)")
    if progress is not None and not isinstance(progress, str):
        problems.append("progress: with nproc > 1, rank 0 shows it; pass 'bar', 'lines' or None")
    if problems:
        raise WganKitError(problems)
    settings = dataclasses.replace(trainer.config, run=trainer.run)
    if out is None:  # continue the trainer's own run folder
        result = launch(None, choices, None, resume_from=trainer.folder.path,
                        changes={"steps": trainer.run.steps})
    else:
        result = launch(settings, choices, None)
    trainer.folder = RunFolder.open(result.folder)
    trainer.load_state(*checkpoint.load(trainer.folder.latest_checkpoint()))
    return result


def train_here(trainer: Trainer, choices: Launch, rank: distributed.Rank | None = None
               ) -> RunResult:
    """Train `trainer` in this process (one rank of several when `rank` is given)."""
    main = rank is None or rank.is_main
    if choices.threads:
        torch.set_num_threads(choices.threads)
    out = choices.out if main else None
    if trainer.step >= trainer.run.steps:  # e.g. a finished run resumed: nothing to do or write
        if main and trainer.folder is not None:
            print(f"nothing to train: the run is already at step {trainer.step} of "
                  f"{trainer.run.steps}; give more steps (--steps N, N > {trainer.step}) to "
                  "train further", file=sys.stderr)
        return RunResult({}, step=trainer.step, folder=trainer.folder and trainer.folder.path)
    if out is not None:
        RunFolder.check(out, overwrite=choices.overwrite)
    report = None
    if choices.preflight:  # on every rank, before sharding: its steps need no collectives
        report = run_preflight(trainer, hooks=trainer.hooks)
        _refuse_on_failure(report, show=main)  # nothing is written yet
    elif choices.preflight is False and main:
        print("preflight: skipped", file=sys.stderr)
    if rank is not None:
        distributed.shard(trainer, rank)
        if not main:
            trainer.folder = None  # rank 0 alone keeps the run folder
    _open_stream(trainer)  # the last thing that can fail before the folder is written
    if out is not None:
        trainer.folder = RunFolder.create(out, overwrite=choices.overwrite)
    if report is not None and trainer.folder is not None:
        trainer.folder.preflight.write_text(report.to_json() + "\n", encoding="utf-8")
    progress = _progress(choices.progress) if main else None
    handled = choices.handle_signals and threading.current_thread() is threading.main_thread()
    trainer.stop_requested = None

    def stopped_at_once() -> str:
        if trainer.folder and trainer.folder.checkpoint_steps():
            hint = choices.resume_command.format(folder=str(trainer.folder.path))
            return f"stopped at once; continue from the last checkpoint with: {hint}"
        return "stopped at once, before the first checkpoint"

    stopping = (stop_gracefully(trainer, announce=main, stopped_at_once=stopped_at_once)
                if handled else contextlib.nullcontext())
    try:
        with stopping:
            try:
                metrics = trainer.fit(progress)
            finally:
                if isinstance(progress, (BarProgress, LineProgress)):
                    progress.stop()
    except KeyboardInterrupt:  # a second Ctrl-C or SIGTERM: the last checkpoint kept
        if main:
            print(stopped_at_once(), file=sys.stderr)
        raise
    folder = trainer.folder.path if trainer.folder else None
    if trainer.stop_requested is not None and main:
        hint = (f"continue with: {choices.resume_command.format(folder=str(folder))}" if folder
                else "nothing was written")
        print(f"stopped at step {trainer.step}; {hint}", file=sys.stderr)
    return RunResult(metrics, step=trainer.step, folder=folder, stopped_by=trainer.stop_requested)


def _open_stream(trainer: Trainer) -> None:
    """Start the run's data stream at its batch size: a failure is the data's problem, said in
    one line, while nothing is written yet."""
    try:
        trainer.open_stream()
    except WganKitError:
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise WganKitError(f"data: {trainer.config.name_of('data')!r} cannot give a batch of "
                           f"{trainer.run.batch_size}: {message}") from None


def _refuse_on_failure(report: Preflight, *, show: bool) -> None:
    """Warnings on stderr (when `show`), then one problem per failed check: the run is refused."""
    if show:
        print(report.summary(), file=sys.stderr)
        for c in report.warnings:
            print(f"warning: preflight {c.name} ({c.measured}): {c.advice}", file=sys.stderr)
    if report.failures:
        raise WganKitError([f"preflight {c.name} ({c.measured}): {c.advice}"
                            for c in report.failures])


def _progress(choice: Progress | str | None) -> Progress | None:
    if choice == "bar":
        return BarProgress()
    if choice == "lines":
        return LineProgress()
    return choice  # type: ignore[return-value]


def _train_rank(rank: distributed.Rank, plan: Plan, choices: Launch,
                registry: Registry | None) -> RunResult:
    """One rank of a data-parallel run: join the group, build or resume, train, leave."""
    finished = False  # whether every rank reaches the end together (see distributed.leave)
    try:
        requested = (plan.changes.get("device") if plan.settings is None
                     else tomllib.loads(plan.settings)["run"]["device"])
        device = distributed.join(rank, requested)
        choices = dataclasses.replace(
            choices, threads=choices.threads or distributed.threads_per_rank(rank, device))
        registry = registry or load_registry_with(choices.plugin_files)
        with distributed.main_first(rank) if plan.resume else contextlib.nullcontext():
            trainer = plan.trainer(registry, device, main=rank.is_main, choices=choices)
        result = train_here(trainer, choices, rank)
        finished = result.finished
        return result
    finally:
        distributed.leave(finished=finished)


def _spawn_ranks(plan: Plan, choices: Launch) -> RunResult:
    """`nproc` processes on this machine, each a rank as torchrun would start it."""
    import torch.multiprocessing

    context = torch.multiprocessing.get_context("spawn")
    reports = context.SimpleQueue()
    ranks = torch.multiprocessing.start_processes(
        _rank_process, args=(choices.nproc, distributed.free_port(), plan, choices, reports),
        nprocs=choices.nproc, start_method="spawn", join=False)

    # A rank takes a repeated SIGTERM as the same request; torch would otherwise interrupt the
    # ranks a second time once this process ended.
    watching = (passing_signals_to(lambda: ranks.processes) if choices.handle_signals
                else contextlib.nullcontext())
    try:
        with watching:
            while not ranks.join():
                pass
    except torch.multiprocessing.ProcessExitedException as exc:
        problems = [p for kind, *rest in _drain(reports) if kind == "problems" for p in rest[0]]
        raise WganKitError(list(dict.fromkeys(problems)) or [
            f"--nproc: rank {exc.error_index} exited with status {exc.exit_code}"]) from None
    outcome = {kind: rest for kind, *rest in _drain(reports)}
    if "interrupted" in outcome:
        raise KeyboardInterrupt
    metrics, step, folder, stopped_by = outcome["ended"]
    return RunResult(metrics, step=step, folder=folder,
                     stopped_by=signal.Signals(stopped_by) if stopped_by else None)


def _drain(reports: Any) -> list[tuple[Any, ...]]:
    found = []
    while not reports.empty():
        found.append(reports.get())
    return found


def _rank_process(index: int, nproc: int, port: int, plan: Plan, choices: Launch,
                  reports: Any) -> None:
    """A process started by `_spawn_ranks`. It reports here how the run ended, rather than by its
    exit status, which torch would take for a failure and answer by killing the others."""
    os.environ.update(distributed.launch_environment(index, nproc, port))
    try:
        result = _train_rank(distributed.from_environment(), plan,
                             dataclasses.replace(choices, nproc=1), None)
    except WganKitError as exc:
        reports.put(("problems", exc.problems))
        sys.exit(2)  # a failed rank: torch stops the others
    except KeyboardInterrupt:
        if index == 0:
            reports.put(("interrupted",))
        return
    if index == 0:
        reports.put(("ended", dict(result), result.step, result.folder,
                     int(result.stopped_by) if result.stopped_by else 0))
