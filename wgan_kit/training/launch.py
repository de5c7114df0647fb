"""The one way a run is launched: `wgan-kit run`, `Trainer.train`, sweeps and every rank of a
data-parallel run go through here, above the engine (wgan_kit/core/engine/).

Before anything is written, every part is built, the run folder checked, the preflight made and
the data stream started at the run's batch size: whatever can be known before training fails
there (as `WganKitError`), so a refused run leaves no folder. Then the folder is created (by rank
0 alone when there are several processes), preflight.json written, SIGINT and SIGTERM made to stop
the run after the current step with a checkpoint, and the run trained with its progress shown.
A new run says which of its parts' own defaults another component's suggestion replaced (the toy
sets' λ = 0.1 over gp's 10), in one line per component. The `RunResult` says how it ended; a
resumed run with no steps left writes nothing. What the launch decides for a process (its
folder, its rank, how pictures are drawn, how the run is scored while it trains) reaches the
engine in one call, `Engine.launch_as`. Which engine each process trains comes from a `Plan`
(wgan_kit/training/composition.py builds one from settings or a run folder).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import torch

from ..core.engine.metrics import RunResult
from ..core.protocols import Progress
from ..core.registry import load_registry_with
from ..core.run_folder import RunFolder
from ..errors import WganKitError
from ..evaluation.pictures import save_picture
from ..evaluation.training_score import training_scorer
from . import distributed
from .interrupts import passing_signals_to, stop_gracefully
from .preflight import Preflight, run_preflight
from .progress import BarProgress, LineProgress

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.registry import Registry

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


class Plan(Protocol):
    """Which engine each process of a run trains: built from resolved settings, or resumed from a
    run folder (`wgan_kit.training.composition.Plan`). It reaches spawned processes by pickle."""

    @property
    def batch_size(self) -> int | None:
        """The global batch, where it is known before anything is built (None when resuming)."""

    @property
    def device(self) -> str | None:
        """The device the run asks for ("auto", "cpu", "cuda:1", ...; None: the folder's)."""

    def engine(self, registry: Registry, device: str | None) -> Engine:
        """This process's engine, on `device` (None: the plan's own)."""


def launch(plan: Plan, choices: Launch, registry: Registry | None = None) -> RunResult:
    """Train the run `plan` gives: in this process, in the ranks torchrun started (its environment
    says so), or in `choices.nproc` processes started here (which load their own registry)."""
    if choices.nproc > 1:
        if plan.batch_size is not None:  # what every rank would refuse, refused before any starts
            distributed.check_split(plan.batch_size, choices.nproc)
        return _spawn_ranks(plan, choices)
    registry = registry or load_registry_with(choices.plugin_files)
    rank = distributed.from_environment()
    if rank is not None:
        return _train_rank(rank, plan, choices, registry)
    return train_here(plan.engine(registry, None), choices)


def train_here(engine: Engine, choices: Launch, rank: distributed.Rank | None = None
               ) -> RunResult:
    """Train `engine` in this process (one rank of several when `rank` is given)."""
    main = rank is None or rank.is_main
    if choices.threads:
        torch.set_num_threads(choices.threads)
    if engine.step >= engine.run.steps:  # e.g. a finished run resumed: nothing to do or write
        if main and engine.folder is not None:
            print(f"nothing to train: the run is already at step {engine.step} of "
                  f"{engine.run.steps}; give more steps (--steps N, N > {engine.step}) to "
                  "train further", file=sys.stderr)
        return RunResult({}, step=engine.step, folder=engine.folder and engine.folder.path)
    # The launch's one check of a new folder; rank 0 alone writes the run folder.
    new_folder = (RunFolder.check(choices.out, overwrite=choices.overwrite)
                  if main and choices.out is not None else None)
    report = None
    if choices.preflight:  # on every rank, before sharding: its steps need no collectives
        report = run_preflight(engine, hooks=engine.hooks)
        _refuse_on_failure(report, show=main)  # nothing is written yet
    elif choices.preflight is False and main:
        print("preflight: skipped", file=sys.stderr)
    parallel = distributed.shard(engine, rank) if rank is not None else None
    folder = new_folder or (engine.folder if main else None)
    # Scored while it trains (run.eval_every) by the process that keeps the folder alone.
    scorer = training_scorer(engine) if folder is not None and engine.run.eval_every else None
    engine.launch_as(folder=folder, parallel=parallel, pictures=save_picture, scorer=scorer)
    _open_stream(engine)  # the last thing that can fail before the folder is written
    if new_folder is not None:
        new_folder.create()
        for by, settings in engine.config.defaults_replaced().items():  # recorded in config.toml
            print(f"suggested by {by}, over the parts' own defaults: {', '.join(settings)}",
                  file=sys.stderr)
    if report is not None and folder is not None:
        folder.preflight.write_text(report.to_json() + "\n", encoding="utf-8")
    progress = _progress(choices.progress) if main else None
    handled = choices.handle_signals and threading.current_thread() is threading.main_thread()

    def stopped_at_once() -> str:
        if folder and folder.checkpoint_steps():
            return ("stopped at once; continue from the last checkpoint with: "
                    f"{_continue_command(folder, choices)}")
        return "stopped at once, before the first checkpoint"

    stopping = (stop_gracefully(engine, announce=main, stopped_at_once=stopped_at_once)
                if handled else contextlib.nullcontext())
    try:
        with stopping:
            try:
                metrics = engine.fit(progress)
            finally:
                if isinstance(progress, (BarProgress, LineProgress)):
                    progress.stop()
    except KeyboardInterrupt:  # a second Ctrl-C or SIGTERM: the last checkpoint kept
        if main:
            print(stopped_at_once(), file=sys.stderr)
        raise
    except distributed.PeerLost as exc:  # a data-parallel run cannot go on with a rank missing
        raise WganKitError(f"{exc.problems[0]} during step {engine.step + 1}; "
                           f"{_where_to_continue(folder, choices)}") from None
    path = folder.path if folder else None
    if engine.stop_requested is not None and main:
        hint = (f"continue with: {_continue_command(folder, choices)}" if folder
                else "nothing was written")
        print(f"stopped at step {engine.step}; {hint}", file=sys.stderr)
    return RunResult(metrics, step=engine.step, folder=path, stopped_by=engine.stop_requested)


def _where_to_continue(folder: RunFolder | None, choices: Launch) -> str:
    """Where a run stopped by a lost peer continues: its last checkpoint, named by the rank that
    keeps the run folder."""
    if folder is None:
        return "the first process (rank 0) keeps the run folder and says where to continue"
    steps = folder.checkpoint_steps()
    if not steps:
        return (f"it stopped before its first checkpoint; start it again with --out "
                f"{folder.path} --overwrite")
    return (f"its last checkpoint is step {steps[-1]}: continue with "
            f"`{_continue_command(folder, choices)}` (on every node) once all of them can start")


def _continue_command(folder: RunFolder, choices: Launch) -> str:
    """The command (or Python call) that continues the run in `folder`."""
    return choices.resume_command.format(folder=str(folder.path))


def _open_stream(engine: Engine) -> None:
    """Start the run's data stream at its batch size: a failure is the data's problem, said in
    one line, while nothing is written yet."""
    try:
        engine.open_stream()
    except WganKitError:
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise WganKitError(f"data: {engine.config.name_of('data')!r} cannot give a batch of "
                           f"{engine.batch_size}: {message}") from None


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
        device = distributed.join(rank, plan.device)
        choices = dataclasses.replace(
            choices, threads=choices.threads or distributed.threads_per_rank(rank, device))
        registry = registry or load_registry_with(choices.plugin_files)
        resuming = plan.batch_size is None  # rank 0 first: it may repair the folder's files
        with distributed.main_first(rank) if resuming else contextlib.nullcontext():
            engine = plan.engine(registry, device)
        result = train_here(engine, choices, rank)
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
