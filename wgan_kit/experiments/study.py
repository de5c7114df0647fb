"""A sweep's bookkeeping in Optuna: the study, its sampler and pruner, its plan and its workers.

The study lives in Optuna's journal file (`DIR/sweep.journal` by default: what Optuna recommends
for several workers on one machine, where SQLite's lock makes them fail with "database is locked"),
or in a database at any SQLAlchemy URL, to share it between machines (PostgreSQL; an SQLite
`DIR/sweep.db` of an older sweep stays readable). It holds the checked sweep file (so a worker
that joins needs only the URL), every trial's settings, state, value and error. A grid is enqueued whole when the sweep starts, and
workers pop queued trials one at a time (Optuna changes a trial from WAITING to RUNNING atomically),
so no grid point runs twice however many workers share it.

A running trial keeps a lease in its user attributes (`worker` = host:pid, `alive` = time), renewed
every `LEASE_RENEW_S`. A trial whose worker is gone (same host, no such process) or silent for
`LEASE_S` is marked failed and queued again with the same settings and run folder: the next worker
resumes it from its last checkpoint. That is how a killed sweep continues where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from wgan_kit import WganKitError

from .spec import Range, SweepSpec

if TYPE_CHECKING:
    import optuna

SPEC_FILE = "sweep.json"
LEASE_RENEW_S = 10.0
LEASE_S = 120.0  # a trial silent this long has lost its worker
SPEC_ATTR = "wgan_kit_sweep"
JOURNAL = "journal:///"  # the URL of an Optuna journal file: journal:///absolute/path


def require_optuna() -> ModuleType:
    """Optuna, or the line that says how to install it (the `sweep` extra)."""
    try:
        import optuna
    except ModuleNotFoundError:
        raise WganKitError("sweeps need Optuna: pip install 'wgan-kit[sweep]'") from None
    return optuna


def default_storage(out: Path) -> str:
    return f"{JOURNAL}{(out / 'sweep.journal').resolve()}"


def storage(url: str) -> optuna.storages.BaseStorage:
    """`journal:///PATH` (Optuna's journal file, appended to under a file lock), else a database
    URL."""
    import optuna

    if url.startswith(JOURNAL):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix(JOURNAL)))
    # SQLite under several processes: wait for the file's lock instead of failing at once.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine)


def sampler(spec: SweepSpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """Each worker's own sampler (seeded apart, so that two workers do not draw the same trials).
    A grid's trials are all queued, so its sampler never chooses."""
    import optuna

    seed = spec.sweep.sampler_seed + worker
    if spec.sweep.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    import optuna

    if spec.sweep.pruner is None:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=spec.sweep.pruner.startup_trials,
                                       n_warmup_steps=spec.sweep.pruner.warmup_steps)


def create(spec: SweepSpec, out: Path) -> str:
    """Start the sweep in folder `out` (or continue the one there); returns its storage URL."""
    optuna = require_optuna()

    out = out.expanduser()
    earlier = recorded(out, spec)
    if earlier is not None:
        return earlier["storage"]
    url = spec.sweep.storage or default_storage(out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=spec.sweep.name, storage=storage(url),
                                direction=spec.sweep.direction, load_if_exists=True)
    if SPEC_ATTR not in study.user_attrs:  # not a sweep that another machine started already
        study.set_user_attr(SPEC_ATTR, spec.model_dump(mode="json"))
        if spec.sweep.sampler == "grid":
            for settings in spec.grid():
                study.enqueue_trial(settings, user_attrs={"planned": True})
    _write_record(out, url, spec)
    return url


def recorded(out: Path, spec: SweepSpec) -> dict[str, Any] | None:
    """What `out/sweep.json` says of the sweep `spec` in `out` (None: a new folder); a folder of
    another sweep, or of anything else, is refused."""
    marker = out / SPEC_FILE
    if marker.exists():
        earlier = json.loads(marker.read_text(encoding="utf-8"))
        if earlier["spec"] != spec.model_dump(mode="json"):
            name = earlier["spec"]["sweep"]["name"]
            raise WganKitError(f"--out {out}: holds another sweep ({name}); continue it with its "
                               "own sweep file, or choose a new --out")
        return earlier
    if out.exists() and any(out.iterdir()):
        raise WganKitError(f"--out {out}: exists and is not a sweep folder; choose a new one")
    return None


def record(out: Path, url: str, spec: SweepSpec) -> None:
    """Write `out/sweep.json` (the storage and the sweep file) unless it is there: what `wgan-kit
    sweep status` and `report` read, on the machine that started the sweep and on those that
    joined it."""
    if recorded(out, spec) is None:
        out.mkdir(parents=True, exist_ok=True)
        _write_record(out, url, spec)


def _write_record(out: Path, url: str, spec: SweepSpec) -> None:
    (out / SPEC_FILE).write_text(json.dumps({"storage": url, "spec": spec.model_dump(mode="json")},
                                            indent=2) + "\n", encoding="utf-8")


def load(url: str, name: str | None = None, *, worker: int = 0
         ) -> tuple[optuna.Study, SweepSpec]:
    """The study at `url` (the only one there, or `name`) and its sweep file."""
    optuna = require_optuna()

    names = [s.study_name for s in optuna.get_all_study_summaries(storage(url))]
    if name is None and len(names) == 1:
        name = names[0]
    if not names:
        raise WganKitError(f"--join {url}: holds no sweep; start one there with wgan-kit sweep "
                           f"SPEC.toml --storage {url} --out DIR")
    if name not in names:
        raise WganKitError(f"--join {url}: holds the sweeps {', '.join(names)}; name one with "
                           "--name")
    probe = optuna.load_study(study_name=name, storage=storage(url))
    spec = SweepSpec.model_validate(probe.user_attrs[SPEC_ATTR])
    study = optuna.load_study(study_name=name, storage=storage(url),
                              sampler=sampler(spec, worker), pruner=pruner(spec))
    return study, spec


def status(out: Path) -> tuple[optuna.Study, SweepSpec]:
    """The sweep in folder `out`."""
    marker = out.expanduser() / SPEC_FILE
    if not marker.is_file():
        raise WganKitError(f"{out}: not a sweep folder (no {SPEC_FILE} in it)")
    recorded = json.loads(marker.read_text(encoding="utf-8"))
    spec = SweepSpec.model_validate(recorded["spec"])
    study, _ = load(recorded["storage"], spec.sweep.name)
    return study, spec


def suggest(trial: optuna.Trial, spec: SweepSpec) -> dict[str, Any]:
    """The trial's settings: its queued values, or the sampler's choice on each axis."""
    settings = {}
    for key, axis in spec.axes.items():
        if isinstance(axis, Range):
            suggest_number = trial.suggest_int if axis.integer else trial.suggest_float
            step = {"step": axis.step} if axis.step is not None else {}
            settings[key] = suggest_number(key, axis.low, axis.high, log=axis.log, **step)
        else:
            settings[key] = trial.suggest_categorical(key, axis)
    return settings


# --- leases -------------------------------------------------------------------------------------

def _alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


@contextlib.contextmanager
def held(trial: optuna.Trial) -> Iterator[None]:
    """Hold `trial` for this process while inside; on leaving, the lease's last renewal is
    written before the trial is told its outcome (a finished trial takes no more writes)."""
    # The renewal first: a worker that reads the lease between the two writes must not find a
    # holder with no renewal, which would look abandoned (it is re-queued, then run twice).
    trial.set_user_attr("alive", time.time())
    trial.set_user_attr("worker", worker_name())
    done = threading.Event()

    def renew() -> None:
        while not done.wait(LEASE_RENEW_S):
            trial.set_user_attr("alive", time.time())

    renewing = threading.Thread(target=renew, daemon=True, name=f"lease-{trial.number}")
    renewing.start()
    try:
        yield
    finally:
        done.set()
        renewing.join()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def requeue_abandoned(study: optuna.Study) -> list[int]:
    """Queue again the running trials whose worker is gone; returns their numbers."""
    from optuna.trial import TrialState

    requeued = []
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        renewed = trial.user_attrs.get("alive", started)
        if worker is None:  # popped, not yet taken: give its worker time to write the lease
            abandoned = now - renewed > LEASE_S
        else:
            abandoned = not _alive(worker) or now - renewed > LEASE_S
        if abandoned and requeue(study, trial):
            requeued.append(trial.number)
    return requeued


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    """End the running attempt `trial` and queue its settings and run folder again, for the next
    worker to resume from its last checkpoint; False when another worker did so first."""
    from optuna.trial import TrialState

    try:
        study.tell(trial.number, state=TrialState.FAIL)
    except Exception:  # another worker requeued it first
        return False
    _enqueue_again(study, trial)
    return True


def retry_failed(study: optuna.Study) -> list[str]:
    """Queue again every trial whose latest attempt failed (an error, NaN), with its settings and
    run folder: the next worker resumes it from its last checkpoint, or starts it anew where it
    has none. Returns their folders."""
    from optuna.trial import TrialState

    latest: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False):
        if not trial.user_attrs.get("unused"):
            latest[folder_name(trial)] = trial
    failed = [trial for trial in latest.values()
              if trial.state == TrialState.FAIL and "error" in trial.user_attrs]
    for trial in failed:
        _enqueue_again(study, trial)
    return [folder_name(trial) for trial in failed]


def _enqueue_again(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """A new attempt at `trial`: its settings, its run folder, its number in the table."""
    study.enqueue_trial(trial.params or trial.system_attrs.get("fixed_params", {}),
                        user_attrs={"planned": trial.user_attrs.get("planned", False),
                                    "folder": folder_name(trial),
                                    "trial": trial.user_attrs.get("trial", trial.number),
                                    "resumes": trial.number})


def folder_name(trial: optuna.trial.FrozenTrial | optuna.Trial) -> str:
    """A trial's run folder, kept by the attempts that resume it."""
    return trial.user_attrs.get("folder") or f"trial-{trial.number:03d}"
