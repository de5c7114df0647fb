"""Nothing lost on a crash, a kill or a signal: tested with real processes and real files."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wgan_kit.core.checkpoint import load

SMALL = ["--batch-size", "16", "--set", "gen.hidden=16", "--set", "critic.hidden=16",
         "--set", "run.log_every=1"]


def wgan_kit_command() -> str:
    return shutil.which("wgan-kit") or pytest.fail("wgan-kit is not installed on PATH")


def start_run(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([wgan_kit_command(), "run", "--out", str(out), *SMALL, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the run")
        time.sleep(0.05)


def logged_steps(out: Path) -> int:
    metrics = out / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_finishes_the_step_writes_a_checkpoint_and_says_how_to_resume(tmp_path, number,
                                                                               status):
    out = tmp_path / "run"
    process = start_run(out, "--steps", "100000", "--set", "run.checkpoint_every=100000")
    wait_for(lambda: logged_steps(out) >= 3)
    process.send_signal(number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert f"continue with: wgan-kit run --resume {out}" in stderr
    [checkpoint] = (out / "checkpoints").iterdir()
    tensors, metadata = load(checkpoint)
    assert checkpoint.name == f"step-{metadata['step']:08d}.safetensors"
    assert metadata["step"] >= 3


@pytest.mark.parametrize("number, status, to_group", [
    (signal.SIGINT, 130, True),  # a terminal's Ctrl-C: the launcher and each rank get it
    (signal.SIGTERM, 143, True),  # e.g. `timeout`, or a scheduler stopping the process group
    (signal.SIGTERM, 143, False),  # `kill` of the launcher alone
])
def test_a_signal_stops_every_rank_of_a_multi_process_run_at_one_step(tmp_path, number, status,
                                                                       to_group):
    out = tmp_path / "run"
    command = [wgan_kit_command(), "run", "--nproc", "2", "--out", str(out), *SMALL,
               "--steps", "100000", "--set", "run.checkpoint_every=100000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    wait_for(lambda: logged_steps(out) >= 3)
    (os.killpg if to_group else os.kill)(process.pid, number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr
    assert stderr.count("finishing step") == 1  # rank 0 speaks for both
    assert f"continue with: wgan-kit run --resume {out}" in stderr
    assert "Terminating process" not in stderr and "Traceback" not in stderr
    [checkpoint] = (out / "checkpoints").iterdir()
    assert load(checkpoint)[1]["step"] >= 3


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    out = tmp_path / "run"
    # Wide nets make a step long enough for the second signal to land inside it.
    process = start_run(out, "--steps", "100000", "--set", "gen.hidden=1024", "--set",
                        "critic.hidden=1024", "--batch-size", "512")
    wait_for(lambda: logged_steps(out) >= 1)
    process.send_signal(signal.SIGINT)
    seen = ""
    while "finishing step" not in seen:  # the first signal is handled: the step goes on
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    # A hint to resume only where there is a checkpoint to resume from.
    if any((out / "checkpoints").glob("*.safetensors")):
        assert f"stopped at once; continue from the last checkpoint with: wgan-kit run " \
               f"--resume {out}" in stderr
    else:
        assert "stopped at once, before the first checkpoint" in stderr


def test_kill_9_then_resume_continues_from_the_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    process = start_run(out, "--steps", "100000", "--set", "run.checkpoint_every=5")
    wait_for(lambda: (out / "checkpoints").exists() and any(
        p.suffix == ".safetensors" for p in (out / "checkpoints").iterdir()))
    process.kill()
    process.wait(timeout=30)
    newest = max(load(p)[1]["step"] for p in (out / "checkpoints").glob("*.safetensors"))
    done = subprocess.run([wgan_kit_command(), "run", "--resume", str(out), "--steps",
                           str(newest + 3)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"training from step {newest} to {newest + 3}" in done.stderr
    assert load(out / "checkpoints" / f"step-{newest + 3:08d}.safetensors")[1]["step"] == newest + 3


WRITER = """
import sys, torch
from pathlib import Path
from wgan_kit.core.checkpoint import save
path = Path(sys.argv[1])
i = 0
while True:
    i += 1
    save(path, {"x": torch.full((1_000_000,), float(i))}, {"i": i})
    print(i, flush=True)
"""


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "step.safetensors"
    rng = random.Random(0)
    for _ in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                  stdout=subprocess.PIPE, text=True)
        writer.stdout.readline()  # at least one complete write
        time.sleep(rng.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        tensors, metadata = load(path)
        assert torch.equal(tensors["x"], torch.full((1_000_000,), float(metadata["i"])))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert all(name.endswith(".tmp") for name in leftovers)  # never mistaken for a checkpoint


def test_an_unwritable_output_folder_is_reported_before_training(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere; the permission check cannot fail here")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    done = subprocess.run([wgan_kit_command(), "run", "--out", str(locked / "run")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot write" in done.stderr


# An objective that, once the file named by WGAN_KIT_TEST_HANG exists, blocks inside native code
# for good: a second lock of a held pthread mutex, called through ctypes with the GIL released,
# as a hung kernel would. No Python signal handler runs in the main thread after that.
STUCK_OBJECTIVE = """
import ctypes, os
from wgan_kit import Component, NoOptions, hookimpl

libc = ctypes.CDLL(None)
mutex = ctypes.create_string_buffer(64)  # zeroed: PTHREAD_MUTEX_INITIALIZER on Linux

class Stuck:
    def critic_loss(self, real, fake):
        if os.path.exists(os.environ["WGAN_KIT_TEST_HANG"]):
            libc.pthread_mutex_lock(mutex)
            libc.pthread_mutex_lock(mutex)  # never returns
        return fake.mean() - real.mean()

    def generator_loss(self, fake):
        return -fake.mean()

@hookimpl
def register_components(register):
    register(Component("objective", "stuck", lambda options: Stuck(), NoOptions, "Hangs."))
"""


def stuck_run(tmp_path: Path, *args: str) -> tuple[list[str], dict[str, str], Path]:
    plugin, hang = tmp_path / "stuck.py", tmp_path / "hang-now"
    plugin.write_text(STUCK_OBJECTIVE)
    command = [wgan_kit_command(), "run", "--plugin", str(plugin), "--objective", "local:stuck",
               "--steps", "100000", *SMALL, *args]
    return command, {**os.environ, "WGAN_KIT_TEST_HANG": str(hang)}, hang


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the hang is a Linux pthread one")
@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_step_stuck_in_native_code_stops_at_the_second_signal(tmp_path, number, status):
    out = tmp_path / "run"
    command, env, hang = stuck_run(tmp_path, "--out", str(out), "--set", "run.checkpoint_every=1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    wait_for(lambda: logged_steps(out) >= 2)
    hang.touch()
    time.sleep(1.0)  # the step is stuck now
    process.send_signal(number)
    time.sleep(1.5)  # a second SIGTERM within a second would be taken for the same one
    process.send_signal(number)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == status, stderr
    assert "stopped at once; continue from the last checkpoint with: wgan-kit run --resume" \
           in stderr and "did not return from native code" in stderr
    assert load(max((out / "checkpoints").glob("*.safetensors")))[1]["step"] >= 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the hang is a Linux pthread one")
def test_a_preflight_check_that_never_finishes_is_named_and_nothing_is_written(tmp_path):
    out = tmp_path / "run"
    command, env, hang = stuck_run(tmp_path, "--out", str(out), "--set", "run.preflight_limit=1")
    hang.touch()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: preflight: the check 'first steps' did not finish in 1 s")
    assert not out.exists()


def test_a_slow_preflight_check_in_python_is_refused_with_its_name(tmp_path, monkeypatch):
    import wgan_kit
    from wgan_kit.builtins.wasserstein import WassersteinObjective

    class Slow(WassersteinObjective):
        def critic_loss(self, real_scores, fake_scores):
            time.sleep(60)  # interrupted by the limit's signal
            return super().critic_loss(real_scores, fake_scores)

    trainer = wgan_kit.compose(objective=Slow(), steps=2, batch_size=8, preflight_limit=1,
                               options={"gen.hidden": 8, "critic.hidden": 8})
    started = time.monotonic()
    with pytest.raises(wgan_kit.WganKitError, match="the check 'first steps' did not finish in 1 s"):
        trainer.train(out=tmp_path / "run")
    assert time.monotonic() - started < 30
    assert not (tmp_path / "run").exists()
