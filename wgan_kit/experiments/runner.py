"""Running a sweep's trials: each an ordinary run folder under the sweep folder.

A trial is `wgan_kit.compose(options=...)` then `trainer.train(out=DIR/trial-NNN)`, or
`wgan_kit.resume(DIR/trial-NNN)` when an earlier attempt left a checkpoint there; so `wgan-kit
eval`, `sample`, `report` and `--resume` work on every trial. The intermediate metric reaches
Optuna's pruner through a `step_logged` hook in the trial's own registry: the hook sees each logged
line as it is written, in the training thread, and stops a hopeless run through the documented
path (an exception in a hook stops the run), with no watcher polling metrics.jsonl from outside.

Trackers (wgan-kit-mlflow, wgan-kit-wandb, ...) tag a trial's run with the sweep and trial
through the environment: `WGAN_KIT_SWEEP` and `WGAN_KIT_TRIAL` are set while a trial runs. Each
worker process runs one trial at a time, so the variables are the trial's.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import wgan_kit
from wgan_kit import hookimpl

from . import study as studies
from .internals import RunFolder, evaluate
from .spec import EVAL_PREFIX, SweepSpec

if TYPE_CHECKING:
    import optuna

PRUNING_PACKAGE = "wgan-kit sweep"  # the trial's own hook, in its registry only
SWEEP_VARIABLE = "WGAN_KIT_SWEEP"
TRIAL_VARIABLE = "WGAN_KIT_TRIAL"


class TrialFailed(Exception):
    """A trial ended without its metric (recorded as the trial's error)."""


def pruning_plugin(trial: optuna.Trial, spec: SweepSpec) -> ModuleType:
    """A plugin module whose `step_logged` reports the intermediate metric to the trial and stops
    the run when the pruner says so."""
    import optuna

    plugin = ModuleType("wgan_kit_sweep_trial")
    pruning = spec.sweep.pruner
    if pruning is None:
        return plugin
    sign = -1.0 if (pruning.direction or spec.sweep.direction) != spec.sweep.direction else 1.0

    @hookimpl
    def step_logged(metrics: dict[str, float]) -> None:
        if pruning.metric not in metrics:
            return
        step = int(metrics["step"])
        trial.report(sign * metrics[pruning.metric], step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"{pruning.metric} at step {step} was worse than the "
                                     "median of earlier trials")

    plugin.step_logged = step_logged  # type: ignore[attr-defined]
    return plugin


def run_trial(trial: optuna.Trial, spec: SweepSpec, out: Path) -> tuple[float, dict[str, float]]:
    """Train (or resume) one trial; its metric and, for an eval metric, every eval score."""
    settings = studies.suggest(trial, spec)
    folder = out / studies.folder_name(trial)
    trial.set_user_attr("folder", folder.name)
    registry = wgan_kit.load_registry()  # the installed plugins (trackers too), and for this
    registry.load_module(pruning_plugin(trial, spec), package=PRUNING_PACKAGE)  # trial alone
    os.environ[SWEEP_VARIABLE], os.environ[TRIAL_VARIABLE] = spec.sweep.name, str(trial.number)
    try:
        if RunFolder(folder).checkpoint_steps():
            trainer = wgan_kit.resume(folder, registry=registry)
            logged = trainer.train()
        else:
            trainer = wgan_kit.compose(options=spec.options(settings), registry=registry)
            logged = trainer.train(out=folder, overwrite=True)  # an attempt killed before its
            # first checkpoint left only a config and some metrics lines behind
    finally:
        del os.environ[SWEEP_VARIABLE], os.environ[TRIAL_VARIABLE]
    metric = spec.sweep.metric
    if not metric.startswith(EVAL_PREFIX):
        if metric not in logged:
            raise TrialFailed(f"the run logged no {metric!r}; it logged {', '.join(logged)}")
        return logged[metric], {}
    scores = {s.key: s.value for s in evaluate(trainer, spec.sweep.eval_n, run=str(folder)).scores}
    key = metric.removeprefix(EVAL_PREFIX)
    if key not in scores:  # an image score names its extractor: fid -> classifier_fid
        key = next((k for k in scores if k.rpartition("_")[2] == key), key)
    if key not in scores:
        raise TrialFailed(f"eval gave no {key!r}; it gave {', '.join(scores)}")
    return scores[key], scores


def work(url: str, out: Path, *, name: str | None = None, worker: int = 0,
         threads: int | None = None) -> int:
    """Run trials of the sweep at `url` until none is left; returns how many this worker ran.
    Trial folders go under `out`."""
    import optuna
    import torch
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study, spec = studies.load(url, name, worker=worker)
    torch.set_num_threads(threads or spec.sweep.threads or
                          max(1, (os.cpu_count() or 1) // spec.sweep.jobs))
    out.mkdir(parents=True, exist_ok=True)
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
            return done
        trial = study.ask()
        if spec.sweep.sampler == "grid" and not trial.user_attrs.get("planned"):
            trial.set_user_attr("unused", True)  # another worker took the last grid point
            study.tell(trial, state=TrialState.FAIL)
            continue
        lease = studies.take(trial)
        try:
            value, scores = run_trial(trial, spec, out)
        except optuna.TrialPruned as exc:
            trial.set_user_attr("pruned", str(exc))
            study.tell(trial, state=TrialState.PRUNED)
        except Exception as exc:  # the trial's failure is recorded; the sweep goes on
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}".splitlines()[0])
            study.tell(trial, state=TrialState.FAIL)
        else:
            if scores:
                trial.set_user_attr("eval", scores)
            study.tell(trial, value)
        finally:
            lease.set()
        done += 1


def run_sweep(spec: SweepSpec, out: str | Path, *, jobs: int | None = None) -> str:
    """Run (or continue) the sweep `spec` in folder `out` until every trial is done, with
    `jobs` worker processes (default: the file's `jobs`); returns the storage URL."""
    out = Path(out).expanduser()
    url = studies.create(spec, out)
    jobs = jobs or spec.sweep.jobs
    if jobs == 1:
        work(url, out, name=spec.sweep.name)
        return url
    threads = spec.sweep.threads or max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # no forked torch state in the workers
    workers = [context.Process(target=work, args=(url, out),
                               kwargs={"name": spec.sweep.name, "worker": i, "threads": threads})
               for i in range(jobs)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    return url


def join_sweep(url: str, out: str | Path, *, name: str | None = None,
               worker: int | None = None) -> int:
    """Work on the sweep another machine started at database `url`, with trial folders under
    `out`; returns how many trials this worker ran."""
    return work(url, Path(out).expanduser(), name=name,
                worker=os.getpid() if worker is None else worker)

