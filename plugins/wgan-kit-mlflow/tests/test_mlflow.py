"""What `mlflow` records, read back through MLflow's own client from a real local SQLite store:
the flattened config as parameters, each logged line's metrics at its step, the sample pictures
and the final checkpoint as artifacts, the sweep and trial as tags; a resumed run goes on in the
same MLflow run; processes that start at once on a fresh store all reach it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

import wgan_kit
from wgan_kit_mlflow import opened

TINY = {"gen.hidden": 8, "critic.hidden": 8}
SHORT = {"steps": 4, "batch_size": 16, "log_every": 2, "checkpoint_every": 2, "sample_every": 2,
         "heldout_every": 0}


@pytest.fixture(autouse=True)
def no_outside_mlflow(monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WGAN_KIT_SWEEP",
                 "WGAN_KIT_TRIAL"):
        monkeypatch.delenv(name, raising=False)


def only_run(uri: str, experiment: str = "wgan-kit"):
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return client, run


def test_found_through_its_entry_point_as_a_hook_plugin():
    registry = wgan_kit.load_registry(strict=True)
    [record] = [p for p in registry.plugins if p.package == "wgan-kit-mlflow"]
    assert (record.module, record.status) == ("wgan_kit_mlflow", "ok")


def test_a_run_lands_in_a_store_beside_its_folder_with_params_metrics_and_artifacts(tmp_path):
    wgan_kit.compose(options=TINY, **SHORT).train(out=tmp_path / "runs" / "a")
    client, run = only_run(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    assert run.info.status == "FINISHED" and run.info.run_name == "a"
    assert run.data.params["run.steps"] == "4" and run.data.params["constraint.name"] == "wgan-kit:gp"
    assert run.data.params["gen.hidden"] == "8"
    history = client.get_metric_history(run.info.run_id, "wasserstein")
    assert [m.step for m in history] == [2, 4]
    samples = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert samples == ["samples/step-00000002.png", "samples/step-00000004.png"]
    [checkpoint] = client.list_artifacts(run.info.run_id, "checkpoints")
    assert checkpoint.path == "checkpoints/step-00000004.safetensors"
    assert (tmp_path / "runs" / "mlartifacts").is_dir()  # not ./mlruns of the working folder


def test_the_tracking_uri_sweep_and_trial_come_from_the_environment(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "lambda")
    monkeypatch.setenv("WGAN_KIT_SWEEP", "toy-lambda")
    monkeypatch.setenv("WGAN_KIT_TRIAL", "3")
    monkeypatch.chdir(tmp_path)
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train(out=tmp_path / "trial-003")
    _, run = only_run(uri, "lambda")
    assert (run.data.tags["sweep"], run.data.tags["trial"]) == ("toy-lambda", "3")
    assert not (tmp_path / "mlflow.db").exists()


def test_no_mlflow_info_lines_among_the_progress_lines(tmp_path, capfd):
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train(out=tmp_path / "runs" / "a")
    shown = capfd.readouterr().err
    assert "Creating initial MLflow database tables" not in shown and " INFO " not in shown


def test_a_resumed_run_continues_its_mlflow_run(tmp_path):
    out = tmp_path / "runs" / "a"
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train(out=out)
    wgan_kit.resume(out, steps=4).train()
    client, run = only_run(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "wasserstein")] == [2, 4]
    assert run.info.status == "FINISHED"


def test_a_run_without_a_folder_logs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train()
    assert list(tmp_path.iterdir()) == []


def open_the_store_and_start_a_run(folder: Path, ready: Any, outcomes: Any) -> None:
    """One of several processes that reach a fresh store at once, as a sweep's trials do."""
    ready.wait()
    try:
        client, experiment = opened(folder)
        client.create_run(experiment)
        outcomes.put("ok")
    except Exception as exc:
        outcomes.put(f"{type(exc).__name__}: {exc}".splitlines()[0])


def test_trials_that_start_at_once_on_a_fresh_store_all_reach_it(tmp_path):
    # What `wgan-kit sweep` with jobs = 2 ran into: two trials creating runs/mlflow.db at once
    # ("table _alembic_tmp_params already exists"), and lost.
    context = multiprocessing.get_context("spawn")
    starting, ready, outcomes = 4, context.Barrier(4), context.Queue()
    trials = [context.Process(target=open_the_store_and_start_a_run,
                              args=(tmp_path / "runs" / f"trial-{i:03d}", ready, outcomes))
              for i in range(starting)]
    for trial in trials:
        trial.start()
    for trial in trials:
        trial.join(timeout=300)
    assert sorted(outcomes.get(timeout=10) for _ in trials) == ["ok"] * starting
    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    assert len(client.search_runs([client.get_experiment_by_name("wgan-kit").experiment_id])) \
        == starting
