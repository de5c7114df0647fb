"""torchrun across nodes, kept true: two torchrun node processes on this machine (c10d rendezvous,
gloo), as the README's multi-node lines run them on two machines sharing a file system."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from wgan_kit.training import distributed

TORCHRUN = Path(sys.executable).parent / "torchrun"
TINY = ["--batch-size", "16", "--set", "gen.hidden=16", "--set", "critic.hidden=16", "--quiet",
        "--device", "cpu"]
# A plugin whose run_finished hook records each rank's weights, to compare the ranks.
WEIGHTS_PLUGIN = '''
import hashlib, os
from pathlib import Path
from wgan_kit import hookimpl

@hookimpl
def run_finished(trainer, metrics):
    digest = hashlib.sha256()
    for net in (trainer.generator, trainer.critic):
        for tensor in net.state_dict().values():
            digest.update(tensor.detach().cpu().numpy().tobytes())
    folder = Path(os.environ["WEIGHTS_DIR"])
    (folder / f"rank-{os.environ['RANK']}.sha256").write_text(digest.hexdigest())
'''

pytestmark = pytest.mark.skipif(not TORCHRUN.is_file(), reason=f"no torchrun at {TORCHRUN}")


def start_node(node_rank: int, port: int, run_args: list[str], log: Path,
               env: dict[str, str] | None = None) -> subprocess.Popen:
    """One node: torchrun with one process, meeting the other node at 127.0.0.1:`port`."""
    command = [str(TORCHRUN), "--nnodes", "2", "--node-rank", str(node_rank),
               "--nproc-per-node", "1", "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", f"test-{port}",
               "-m", "wgan_kit", "run", *run_args]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
                            start_new_session=True)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def two_nodes(tmp_path: Path, name: str, run_args: list[str], env: dict[str, str] | None = None
              ) -> tuple[subprocess.Popen, subprocess.Popen, list[Path]]:
    """Node 0 first (it hosts the rendezvous), then node 1."""
    port = distributed.free_port()
    logs = [tmp_path / f"{name}-node{i}.log" for i in range(2)]
    first = start_node(0, port, run_args, logs[0], env)
    deadline = time.monotonic() + 60
    while not listening(port) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    return first, start_node(1, port, run_args, logs[1], env), logs


def finish(nodes: tuple[subprocess.Popen, subprocess.Popen, list[Path]]) -> list[str]:
    *processes, logs = nodes
    for process in processes:
        try:
            assert process.wait(timeout=300) == 0, logs[processes.index(process)].read_text()
        except subprocess.TimeoutExpired:
            stop(process)
            raise
    return [log.read_text() for log in logs]


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(c) for c in children.read_text().split()] if children.exists() else []
    return found + [d for child in found for d in descendants(child)]


def stop(process: subprocess.Popen) -> None:
    """Kill a node: its torchrun agent and the processes it started (in sessions of their own)."""
    for pid in [process.pid, *descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def final_weights(folder: Path) -> dict:
    newest = sorted((folder / "checkpoints").iterdir())[-1]
    return load_file(newest)


def test_two_nodes_train_one_run_folder_with_one_set_of_weights_and_resume_exactly(tmp_path):
    plugin = tmp_path / "rank_weights.py"
    plugin.write_text(WEIGHTS_PLUGIN)
    hashes = tmp_path / "hashes"
    hashes.mkdir()
    env = {"WEIGHTS_DIR": str(hashes)}
    out, whole = tmp_path / "shared" / "run", tmp_path / "shared" / "whole"

    first = finish(two_nodes(tmp_path, "first", [*TINY, "--steps", "2", "--out", str(out),
                                                 "--plugin", str(plugin)], env))
    assert sum(log.count("step 2/2") for log in first) == 1  # rank 0 alone reports
    ranks = sorted(p.name for p in hashes.iterdir())
    assert ranks == ["rank-0.sha256", "rank-1.sha256"]
    assert len({p.read_text() for p in hashes.iterdir()}) == 1  # the same weights on both ranks

    finish(two_nodes(tmp_path, "resumed", ["--resume", str(out), "--steps", "4", "--quiet",
                                           "--plugin", str(plugin)], env))
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step-00000002.safetensors", "step-00000004.safetensors"]
    assert len({p.read_text() for p in hashes.iterdir()}) == 1
    assert [p.name for p in (tmp_path / "shared").iterdir()] == ["run"]  # one run folder

    finish(two_nodes(tmp_path, "whole", [*TINY, "--steps", "4", "--out", str(whole)]))
    resumed, unbroken = final_weights(out), final_weights(whole)
    assert resumed.keys() == unbroken.keys()
    assert all(resumed[k].equal(unbroken[k]) for k in resumed), "resume is not exact"


def test_when_one_node_dies_the_other_stops_in_one_line_naming_the_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    first, second, logs = two_nodes(tmp_path, "dies", [
        *TINY, "--steps", "100000", "--set", "run.checkpoint_every=5", "--out", str(out)])
    try:
        deadline = time.monotonic() + 180
        while not (out / "checkpoints").is_dir() or not any((out / "checkpoints").iterdir()):
            assert time.monotonic() < deadline, logs[0].read_text()
            assert first.poll() is None and second.poll() is None, logs[0].read_text()
            time.sleep(0.5)
        stop(second)  # node 1's machine goes away: its torchrun and its rank
        started = time.monotonic()
        first.wait(timeout=120)  # not a hang
        assert time.monotonic() - started < 120
    finally:
        for process in (first, second):
            if process.poll() is None:
                stop(process)
    log = logs[0].read_text()
    ours = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(ours) == 1, log
    assert "another process of this run is gone" in ours[0]
    assert "its last checkpoint is step" in ours[0]
    step = int(ours[0].split("its last checkpoint is step ")[1].split(":")[0])
    assert (out / "checkpoints" / f"step-{step:08d}.safetensors").is_file()
    assert "wgan-kit run --resume" in ours[0]
    assert not any(line.startswith("[rank0]: Traceback") for line in log.splitlines())
