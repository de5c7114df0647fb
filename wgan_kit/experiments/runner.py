"""Running a sweep's trials: each an ordinary run folder under the sweep folder.

A trial goes through the launch path of `wgan-kit run` (wgan_kit/training/launch.py): its folder
is checked and its preflight made before anything is written, Ctrl-C or SIGTERM stop it after the
current step with a checkpoint, and a trial whose folder holds a checkpoint is resumed from it. So
`wgan-kit eval`, `sample`, `report` and `--resume` work on every trial, and a stopped sweep
continues where it stopped. The intermediate metric reaches Optuna's pruner through a
`step_logged` hook in the trial's own registry: the hook sees each logged line as it is written,
in the training thread, and stops a hopeless run by raising `optuna.TrialPruned`, and a run whose
score reached a time-to-quality sweep's target by raising `TargetReached` (an exception in a hook
stops the run; the launch path's own stop is for signals, and would report the trial as stopped,
to be continued), with no watcher polling metrics.jsonl from outside.

Trackers (wgan-kit-mlflow, wgan-kit-wandb, ...) tag a trial's run with the sweep and trial
through the environment: `WGAN_KIT_SWEEP` and `WGAN_KIT_TRIAL` are set while a trial runs. Each
worker process runs one trial at a time, so the variables are the trial's.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import wgan_kit
from wgan_kit import WganKitError, hookimpl

from . import study as studies
from .internals import (
    Launch,
    Plan,
    RunFolder,
    dotted_layer,
    evaluate,
    launch,
    passing_signals_to,
    read_metrics,
    resolve_config,
)
from .spec import EVAL_PREFIX, TARGET_METRICS, SweepSpec, storage_problems

if TYPE_CHECKING:
    import optuna

TRIAL_PACKAGE = "wgan-kit sweep"  # the trial's own hook, in its registry only
SWEEP_VARIABLE = "WGAN_KIT_SWEEP"
TRIAL_VARIABLE = "WGAN_KIT_TRIAL"


class TrialFailed(Exception):
    """A trial ended without its metric (recorded as the trial's error)."""


@dataclasses.dataclass(frozen=True)
class SweepRun:
    """How a call of `run_sweep` or `join_sweep` ended: `finished` (no trial left for this
    machine), or `stopped_by` a signal, the current trials left with a checkpoint to resume from
    when the sweep is run again; `url` is the sweep's storage."""

    url: str
    trials_run: int = 0
    stopped_by: signal.Signals | None = None

    @property
    def finished(self) -> bool:
        return self.stopped_by is None


class TargetReached(Exception):
    """The trial's score reached the sweep's target: it has its time to quality, and stops."""

    def __init__(self, step: int, seconds: float) -> None:
        super().__init__(f"step {step}")
        self.step, self.seconds = step, seconds


class BudgetSpent(Exception):
    """The trial trained the sweep's budget of seconds without reaching its target."""


class TrialStopped(Exception):
    """A signal stopped the trial after a checkpoint: the sweep stops, to continue later."""

    def __init__(self, number: signal.Signals) -> None:
        super().__init__(number.name)
        self.signal = number


def trial_plugin(trial: optuna.Trial, spec: SweepSpec) -> ModuleType:
    """A plugin module whose `step_logged` reports the intermediate metric to the trial and stops
    the run when the pruner says so, or when its score reaches the sweep's target."""
    import optuna

    plugin = ModuleType("wgan_kit_sweep_trial")
    pruning, target = spec.sweep.pruner, spec.sweep.target
    sign = -1.0 if pruning and (pruning.direction or spec.sweep.direction) != \
        spec.sweep.direction else 1.0

    @hookimpl
    def step_logged(metrics: dict[str, float]) -> None:
        step = int(metrics["step"])
        score = next((v for k, v in metrics.items() if k.startswith("eval_")), None)
        if spec.sweep.budget is not None and metrics["train_seconds"] > spec.sweep.budget:
            raise BudgetSpent(f"{metrics['train_seconds']:.3g} s by step {step}")
        if target is not None and score is not None and score <= target:
            raise TargetReached(step, metrics["train_seconds"])
        if pruning is None or pruning.metric not in metrics:
            return
        trial.report(sign * metrics[pruning.metric], step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"{pruning.metric} at step {step} was worse than the "
                                     "median of earlier trials")

    plugin.step_logged = step_logged  # type: ignore[attr-defined]
    return plugin


def run_trial(trial: optuna.Trial, spec: SweepSpec, out: Path, *, continue_with: str = ""
              ) -> tuple[float, dict[str, float]]:
    """Train (or resume) one trial through the launch path; its metric and, for an eval metric,
    every eval score. `continue_with` is the hint printed when a signal stops it."""
    settings = studies.suggest(trial, spec)
    folder = out / studies.folder_name(trial)
    trial.set_user_attr("folder", folder.name)
    registry = wgan_kit.load_registry()  # the installed plugins (trackers too), and for this
    registry.load_module(trial_plugin(trial, spec), package=TRIAL_PACKAGE)  # trial alone
    hint = continue_with.replace("{", "{{").replace("}", "}}") or Launch.resume_command
    os.environ[SWEEP_VARIABLE], os.environ[TRIAL_VARIABLE] = spec.sweep.name, str(trial.number)
    try:
        if RunFolder(folder).checkpoint_steps():
            logged = launch(Plan.resuming(folder), Launch(resume_command=hint), registry)
        else:  # an attempt stopped before its first checkpoint left only a config behind
            resolved = resolve_config(registry, overrides=dotted_layer(
                spec.options(settings), "sweep"))
            logged = launch(Plan.new(resolved),
                            Launch(out=folder, overwrite=True, resume_command=hint), registry)
    except TargetReached as reached:
        trial.set_user_attr("target", {"step": reached.step, "seconds": reached.seconds})
        return (reached.seconds if spec.sweep.metric == "seconds_to_target"
                else float(reached.step)), {}
    except BudgetSpent as spent:
        trial.set_user_attr("target", f"not reached in the budget: {spent}")
        return math.inf, {}
    finally:
        del os.environ[SWEEP_VARIABLE], os.environ[TRIAL_VARIABLE]
    if not logged.finished:
        raise TrialStopped(logged.stopped_by)
    if spec.sweep.metric in TARGET_METRICS:  # trained every step without reaching it
        trial.set_user_attr("target", "not reached")
        return math.inf, {}
    if not logged and read_metrics(RunFolder(folder)):  # resumed at its last step: trained
        logged = read_metrics(RunFolder(folder))[-1]  # nothing, so its last line is the end's
    metric = spec.sweep.metric
    if not metric.startswith(EVAL_PREFIX):
        if metric not in logged:
            raise TrialFailed(f"the run logged no {metric!r}; it logged {', '.join(logged)}")
        return logged[metric], {}
    trainer = wgan_kit.resume(folder, registry=registry)  # the weights at its last step
    scores = {s.key: s.value for s in evaluate(trainer, spec.sweep.eval_n, run=str(folder)).scores}
    key = metric.removeprefix(EVAL_PREFIX)
    if key not in scores:  # an image score names its extractor: fid -> classifier_fid
        key = next((k for k in scores if k.rpartition("_")[2] == key), key)
    if key not in scores:
        raise TrialFailed(f"eval gave no {key!r}; it gave {', '.join(scores)}")
    return scores[key], scores


def describe(trial: optuna.Trial | optuna.trial.FrozenTrial) -> str:
    """`trial-003 (constraint.weight=0.1, run.seed=1)`: a trial's line on stderr."""
    settings = ", ".join(f"{key}={value}" for key, value in trial.params.items())
    return f"{studies.folder_name(trial)} ({settings})"


def work(url: str, out: Path, *, name: str | None = None, worker: int = 0,
         threads: int | None = None, quiet: bool = False, continue_with: str = "") -> SweepRun:
    """Run trials of the sweep at `url` until none is left, or a signal stops the current one
    (with a checkpoint, queued again to be resumed). Trial folders go under `out`; unless
    `quiet`, a line on stderr says how each trial ended."""
    import optuna
    import torch
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, spec = studies.load(url, name, worker=worker)
    torch.set_num_threads(threads or spec.sweep.threads or
                          max(1, (os.cpu_count() or 1) // spec.sweep.jobs))
    studies.record(out, url, spec)  # a joining worker's folder, too, knows its sweep
    done = 0
    while True:
        studies.requeue_abandoned(study)
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        counted = [t for t in trials if not t.user_attrs.get("unused")]
        retried = {t.user_attrs.get("resumes") for t in counted}
        if not waiting and (spec.sweep.sampler == "grid" or
                            len([t for t in counted if t.number not in retried])
                            >= spec.planned_trials()):
            return SweepRun(url, done)
        trial = study.ask()
        if spec.sweep.sampler == "grid" and not trial.user_attrs.get("planned"):
            trial.set_user_attr("unused", True)  # another worker took the last grid point
            study.tell(trial, state=TrialState.FAIL)
            continue
        with studies.held(trial):
            try:
                value, scores = run_trial(trial, spec, out, continue_with=continue_with)
                ended: BaseException | None = None
            except Exception as exc:  # stopped, pruned or failed: told below, once let go
                ended = exc
        if isinstance(ended, TrialStopped):
            studies.requeue(study, study.get_trials(deepcopy=False)[trial.number])
            return SweepRun(url, done, ended.signal)
        if isinstance(ended, optuna.TrialPruned):
            trial.set_user_attr("pruned", str(ended))
            study.tell(trial, state=TrialState.PRUNED)
            line = f"pruned: {ended}"
        elif ended is not None:  # the trial's failure is recorded; the sweep goes on
            error = f"{type(ended).__name__}: {ended}".splitlines()[0]
            trial.set_user_attr("error", error)
            study.tell(trial, state=TrialState.FAIL)
            line = f"failed: {error}"
        else:
            if scores:
                trial.set_user_attr("eval", scores)
            study.tell(trial, value)
            line = f"{spec.sweep.metric} {value:.4g}"
        done += 1
        if not quiet:
            print(f"{describe(trial)}: {line}", file=sys.stderr, flush=True)


def requeue_failed(url: str, name: str | None = None, *, quiet: bool = False) -> list[str]:
    """Queue again the failed trials of the sweep at `url` (see `study.retry_failed`); unless
    `quiet`, a line on stderr names them."""
    study, _ = studies.load(url, name)
    folders = studies.retry_failed(study)
    if not quiet:
        print(f"retrying {len(folders)} failed trial{'s' * (len(folders) != 1)}"
              + (f": {', '.join(folders)}" if folders else ""), file=sys.stderr, flush=True)
    return folders


def run_sweep(spec: SweepSpec, out: str | Path, *, jobs: int | None = None,
              threads: int | None = None, quiet: bool = False,
              continue_with: str | None = None, retry_failed: bool = False) -> SweepRun:
    """Run (or continue) the sweep `spec` in folder `out` until every trial is done, with `jobs`
    worker processes (default: the file's `jobs`) of `threads` torch threads each (default: the
    file's, else the cores shared out). Ctrl-C or SIGTERM stop the current trials with a
    checkpoint: call it again to continue; `continue_with` is the hint printed then. A failed
    trial stays failed when the sweep is continued, unless `retry_failed`: then every failed
    trial runs again, from its last checkpoint where it has one."""
    out = Path(out).expanduser()
    url = studies.create(spec, out)
    if retry_failed:
        requeue_failed(url, spec.sweep.name, quiet=quiet)
    jobs = jobs or spec.sweep.jobs
    threads = threads or spec.sweep.threads or max(1, (os.cpu_count() or 1) // jobs)
    options = {"name": spec.sweep.name, "threads": threads, "quiet": quiet,
               "continue_with": continue_with or f"run_sweep(spec, {str(out)!r})"}
    if jobs == 1:
        return work(url, out, **options)
    context = multiprocessing.get_context("spawn")  # no forked torch state in the workers
    workers = [context.Process(target=_worker_process, args=(url, out, i), kwargs=options)
               for i in range(jobs)]
    for process in workers:
        process.start()
    with passing_signals_to(lambda: workers):
        for process in workers:
            process.join()
    stops = [p.exitcode - 128 for p in workers if p.exitcode and p.exitcode > 128]
    failed = [f"--jobs: worker {i} exited with status {p.exitcode}"
              for i, p in enumerate(workers) if p.exitcode and p.exitcode <= 128]
    if failed:
        raise WganKitError(failed)
    return SweepRun(url, stopped_by=signal.Signals(stops[0]) if stops else None)


def _worker_process(url: str, out: Path, worker: int, **options: Any) -> None:
    """One of `run_sweep`'s workers; its exit status is 128 + the signal that stopped it."""
    ended = work(url, out, worker=worker, **options)
    if ended.stopped_by is not None:
        sys.exit(128 + int(ended.stopped_by))


def join_sweep(url: str, out: str | Path, *, name: str | None = None,
               worker: int | None = None, threads: int | None = None, quiet: bool = False,
               continue_with: str | None = None, retry_failed: bool = False) -> SweepRun:
    """Work on the sweep another machine started at database `url`, with trial folders under
    `out`, until no trial is left (or a signal stops the current one, as in `run_sweep`);
    `retry_failed` queues its failed trials again first."""
    for prefix in ("sqlite:///", "journal:///"):  # a file: it must be there already
        if url.startswith(prefix) and not Path(url.removeprefix(prefix)).expanduser().is_file():
            raise WganKitError(f"--join {url}: no such file; the machine that started the "
                               "sweep names its storage in DIR/sweep.json")
    problems = storage_problems(url)
    if problems:
        raise WganKitError(problems)
    out = Path(out).expanduser()
    if retry_failed:
        requeue_failed(url, name, quiet=quiet)
    return work(url, out, name=name, worker=os.getpid() if worker is None else worker,
                threads=threads, quiet=quiet,
                continue_with=continue_with or f"join_sweep({url!r}, {str(out)!r})")
