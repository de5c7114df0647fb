"""What `wandb` records, read back from the offline run's own files: the transaction log
(`run-<id>.wandb`, LevelDB-style records of W&B's protobuf `Record`s, which `wandb sync` would
upload) and the files beside it. Offline by default: no account, no network."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wandb.proto import wandb_internal_pb2

import wgan_kit
from wgan_kit_wandb import RUN_FOLDER

TINY = {"gen.hidden": 8, "critic.hidden": 8}
SHORT = {"steps": 4, "batch_size": 16, "log_every": 2, "checkpoint_every": 2, "sample_every": 2,
         "heldout_every": 0}
BLOCK = 32 * 1024  # the log's block size; a record's chunks never cross one
FULL, LAST = 1, 4  # chunk types that end a record


@pytest.fixture(autouse=True)
def offline_and_at_home_in_tmp(monkeypatch, tmp_path):
    for name in ("WANDB_MODE", "WANDB_PROJECT", "WGAN_KIT_SWEEP", "WGAN_KIT_TRIAL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home" / name.lower()))


def records(path: Path) -> Iterator[wandb_internal_pb2.Record]:
    """The records of a W&B transaction log: a 7-byte header, then chunks (CRC, length, type)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, pending = 7, b""
    while position + 7 <= len(data):
        if BLOCK - position % BLOCK < 7:  # a block's tail too short for a header is padding
            position += BLOCK - position % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def offline_runs(folder: Path) -> list[Path]:
    return sorted((folder / "wandb").glob("offline-run-*"))


def finished_log(run: Path, wait_s: float = 60.0) -> list[wandb_internal_pb2.Record]:
    """The records of an offline run, once W&B's service has written them all: `run.finish()`
    returns before the service's writer has flushed the log, which ends with an `exit` record."""
    deadline = time.monotonic() + wait_s
    while True:
        found = list(records(next(run.glob("run-*.wandb"))))
        if any(r.WhichOneof("record_type") == "exit" for r in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def logged(run: Path) -> dict[str, list]:
    """The run record, the history rows and the artifacts of one offline run."""
    found: dict[str, list] = {"run": [], "history": [], "artifact": []}
    for record in finished_log(run):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            found["history"].append({"/".join(i.nested_key) or i.key: json.loads(i.value_json)
                                     for i in record.history.item})
        elif kind in found:
            found[kind].append(getattr(record, kind))
    return found


def test_found_through_its_entry_point_as_a_hook_plugin():
    registry = wgan_kit.load_registry(strict=True)
    [record] = [p for p in registry.plugins if p.package == "wgan-kit-wandb"]
    assert (record.module, record.status) == ("wgan_kit_wandb", "ok")


def test_a_run_is_logged_offline_with_config_metrics_samples_and_checkpoint(tmp_path):
    out = tmp_path / "a"
    wgan_kit.compose(options=TINY, **SHORT).train(out=out)
    [run] = offline_runs(out)
    found = logged(run)
    [started] = found["run"]
    assert started.display_name == "a" and list(started.tags) == []
    config = {i.key: json.loads(i.value_json) for i in started.config.update}
    assert (config["run.steps"], config["constraint.name"], config["gen.hidden"]) == (4, "wgan-kit:gp", 8)
    rows = [row for row in found["history"] if "wasserstein" in row]
    assert [row["_step"] for row in rows] == [2, 4]
    pictures = [row["samples/path"] for row in found["history"] if "samples/path" in row]
    assert len(pictures) == 2 and all((run / "files" / p).is_file() for p in pictures)
    [artifact] = found["artifact"]
    assert (artifact.name, artifact.type) == ("a-checkpoint", "model")
    assert [e.path for e in artifact.manifest.contents] == ["step-00000004.safetensors"]


def test_an_offline_run_reads_back_with_wandb_leet(tmp_path):
    # What the README tells a user: `wandb leet inspect --summary --json <run>/wandb`.
    out = tmp_path / "a"
    wgan_kit.compose(options=TINY, **SHORT).train(out=out)
    finished_log(offline_runs(out)[0])  # the service has written the whole log
    shown = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--summary",
                            "--json", str(out / "wandb")],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert (run["name"], run["state"], run["step"]) == ("a", "finished", 4)
    assert run["config"]["constraint.name"] == "wgan-kit:gp" and "wasserstein" in run["summary"]


def test_a_sweep_trial_is_grouped_and_tagged(tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_KIT_SWEEP", "toy-lambda")
    monkeypatch.setenv("WGAN_KIT_TRIAL", "3")
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train(out=tmp_path / "trial-003")
    [started] = logged(offline_runs(tmp_path / "trial-003")[0])["run"]
    assert started.run_group == "toy-lambda"
    assert list(started.tags) == ["sweep:toy-lambda", "trial:3"]


def test_a_resumed_run_continues_its_wandb_run(tmp_path):
    out = tmp_path / "a"
    wgan_kit.compose(options=TINY, **{**SHORT, "steps": 2}).train(out=out)
    wgan_kit.resume(out, steps=4).train()
    first, second = offline_runs(out)
    assert RUN_FOLDER.fullmatch(first.name)["id"] == RUN_FOLDER.fullmatch(second.name)["id"]
    steps = [row["_step"] for row in logged(second)["history"] if "wasserstein" in row]
    assert steps == [4]
