"""`mlflow`: a lifecycle-hook plugin that logs each run to MLflow.

Every run that writes a folder becomes an MLflow run: its parameters are the resolved
configuration, flattened (`run.lr`, `gen.name`, `constraint.weight`, ...), its metrics every
logged line of metrics.jsonl at its generator step, its artifacts the sample pictures
(`samples/`) and, when training reaches `run.steps`, the final checkpoint (`checkpoints/`).

Where: `MLFLOW_TRACKING_URI` when set (any MLflow store or server), else an SQLite store beside
the run folder, `<runs>/mlflow.db`, with artifacts in `<runs>/mlartifacts/`, so every run under
one folder (a sweep's trials too) lands in one store: `mlflow ui --backend-store-uri
sqlite:///runs/mlflow.db`. The experiment is `MLFLOW_EXPERIMENT_NAME`, else the sweep's name for a
sweep's trial, else "wgan-kit". A trial of a sweep is tagged `sweep` and `trial` (from
`WGAN_KIT_SWEEP` / `WGAN_KIT_TRIAL`, which wgan-kit's sweeps set); a resumed run continues its
MLflow run. MLflow is imported when a run starts, never when plugins are listed.

Several runs may start at once on one store (a sweep's trials with `jobs` > 1): MLflow creates a
new SQLite store's tables on first use, and two processes doing so at once break each other
("table _alembic_tmp_params already exists"). So a process opens an SQLite store, and creates the
experiment, holding a file lock beside it (`<runs>/mlflow.db.lock`): the first creates the store,
the others wait and find it made. MLflow's INFO lines ("Creating initial MLflow database
tables...") are quieted, to keep wgan-kit's progress readable; `MLFLOW_LOGGING_LEVEL` chooses
otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from wgan_kit import hookimpl

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from wgan_kit import Trainer

WGAN_KIT_PLUGIN_API = ">=1,<2"
FOLDER_TAG = "wgan_kit.run_folder"
SQLITE = "sqlite:///"
LOCK_WAIT_S = 300.0  # long enough for another process to create a store, short of hanging


class Tracked:
    """One wgan-kit run's MLflow run, and the newest checkpoint to upload when it finishes."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.checkpoint: Path | None = None


_runs: WeakKeyDictionary[Trainer, Tracked] = WeakKeyDictionary()


def flattened(tables: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A config's tables as MLflow parameters: one `section.key` each."""
    return {f"{section}.{key}": str(value) for section, table in tables.items()
            for key, value in table.items() if value is not None}


def tracking_uri(folder: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or \
        f"sqlite:///{(folder.parent / 'mlflow.db').resolve()}"


def experiment_id(client: MlflowClient, folder: Path) -> str:
    name = (os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("WGAN_KIT_SWEEP")
            or "wgan-kit")
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    # A local store keeps artifacts beside it, not in ./mlruns of wherever training started.
    location = None if "MLFLOW_TRACKING_URI" in os.environ else \
        (folder.parent / "mlartifacts").resolve().as_uri()
    from mlflow.exceptions import MlflowException

    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:  # a process we hold no lock with (a server's store) made it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextlib.contextmanager
def creating(uri: str) -> Iterator[None]:
    """Hold the lock beside an SQLite store while inside: one process at a time creates its tables
    and experiments. A server, or any other database, needs none from here."""
    if not uri.startswith(SQLITE):
        yield
        return
    from filelock import FileLock  # torch's own dependency, so there wherever wgan-kit is

    database = Path(uri.removeprefix(SQLITE))
    database.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{database}.lock", timeout=LOCK_WAIT_S):
        yield


def quiet_mlflow() -> None:
    """MLflow's loggers at WARNING, unless `MLFLOW_LOGGING_LEVEL` asks for another level."""
    if not os.environ.get("MLFLOW_LOGGING_LEVEL"):
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)


def opened(folder: Path) -> tuple[MlflowClient, str]:
    """The store for the run in `folder`, created if new, and the id of its experiment."""
    from mlflow import MlflowClient

    quiet_mlflow()  # after MLflow's import, which sets its loggers' level
    uri = tracking_uri(folder)
    with creating(uri):
        client = MlflowClient(uri)
        return client, experiment_id(client, folder)  # the store is made on its first use


@hookimpl
def run_started(trainer: Trainer) -> None:
    if trainer.folder is None:
        return
    from mlflow.entities import Param

    folder = trainer.folder.path.resolve()
    client, experiment = opened(folder)
    earlier = client.search_runs([experiment], f"tags.`{FOLDER_TAG}` = '{folder}'",
                                 order_by=["attributes.start_time DESC"], max_results=1)
    if trainer.step > 0 and earlier:  # a resumed run goes on in its own MLflow run
        run_id = earlier[0].info.run_id
        client.update_run(run_id, status="RUNNING")
    else:
        tags = {FOLDER_TAG: str(folder), "mlflow.runName": folder.name}
        if os.environ.get("WGAN_KIT_SWEEP"):
            tags |= {"sweep": os.environ["WGAN_KIT_SWEEP"],
                     "trial": os.environ.get("WGAN_KIT_TRIAL", "")}
        run_id = client.create_run(experiment, tags=tags, run_name=folder.name).info.run_id
        params = [Param(k, v) for k, v in flattened(trainer.config.to_dict()).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            client.log_batch(run_id, params=params[start:start + 100])
    _runs[trainer] = Tracked(client, run_id)


@hookimpl
def step_logged(trainer: Trainer, metrics: dict[str, float]) -> None:
    tracked = _runs.get(trainer)
    if tracked is None:
        return
    from mlflow.entities import Metric

    now, step = int(time.time() * 1000), int(metrics["step"])
    tracked.client.log_batch(tracked.run_id, metrics=[
        Metric(name, float(value), now, step) for name, value in metrics.items() if name != "step"])


@hookimpl
def samples_saved(trainer: Trainer, path: Path) -> None:
    tracked = _runs.get(trainer)
    if tracked is not None:
        tracked.client.log_artifact(tracked.run_id, str(path), artifact_path="samples")


@hookimpl
def checkpoint_saved(trainer: Trainer, path: Path) -> None:
    tracked = _runs.get(trainer)
    if tracked is not None:
        tracked.checkpoint = path


@hookimpl
def run_finished(trainer: Trainer) -> None:
    tracked = _runs.pop(trainer, None)
    if tracked is None:
        return
    if tracked.checkpoint is not None and tracked.checkpoint.exists():
        tracked.client.log_artifact(tracked.run_id, str(tracked.checkpoint),
                                    artifact_path="checkpoints")
    tracked.client.set_terminated(tracked.run_id, "FINISHED")
