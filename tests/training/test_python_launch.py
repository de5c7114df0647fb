"""`Trainer.train` launches a run as `wgan-kit run` does: the preflight refuses a doomed composition
before any folder exists, preflight.json is written, a signal stops the run cleanly with a
checkpoint to resume from, and `nproc=2` trains the CLI's two-process run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import wgan_kit
from wgan_kit import WganKitError

TINY = {"gen.hidden": 16, "critic.hidden": 16}


@pytest.mark.parametrize("critic", [nn.Linear(2, 3), nn.Linear(3, 1)],
                         ids=["three-scores-per-sample", "wrong-input-size"])
def test_train_refuses_a_doomed_composition_before_any_folder_exists(tmp_path, critic):
    trainer = wgan_kit.compose(critic=critic, options={"gen.hidden": 16}, steps=2, batch_size=16)
    with pytest.raises(WganKitError) as refused:
        trainer.train(out=tmp_path / "run")
    assert refused.value.problems and all(p.startswith("preflight shapes (")
                                          for p in refused.value.problems), refused.value.problems
    assert not (tmp_path / "run").exists()


def test_train_writes_preflight_json_and_says_how_the_run_ended(tmp_path):
    trainer = wgan_kit.compose(options=TINY, steps=2, batch_size=16)
    result = trainer.train(out=tmp_path / "run")
    assert '"checks"' in (tmp_path / "run" / "preflight.json").read_text()
    assert result.finished and result.stopped_by is None
    assert (result.step, result.folder, result["step"]) == (2, tmp_path / "run", 2)
    skipped = wgan_kit.compose(options=TINY, steps=1, batch_size=16)
    skipped.train(out=tmp_path / "skipped", preflight=False)
    assert not (tmp_path / "skipped" / "preflight.json").exists()


SCRIPT = """
import sys
import torch
import wgan_kit

torch.set_num_threads(1)
trainer = wgan_kit.compose(options={options!r}, batch_size=16, log_every=1, seed=0,
                           steps=100_000, checkpoint_every=100_000)
result = trainer.train(out=sys.argv[1])
print(result.stopped_by.name, result.step, result.folder)
"""


def test_a_new_run_says_which_of_its_parts_defaults_a_suggestion_replaced(tmp_path, capsys):
    # gp's own λ is 10; the toy data's 0.1 wins, and the run now says so in one line.
    wgan_kit.compose(options=TINY, steps=1, batch_size=16).train(out=tmp_path / "run")
    said = [line for line in capsys.readouterr().err.splitlines() if "suggested" in line]
    assert said == ["suggested by data 8gaussians, over the parts' own defaults: "
                    "constraint.weight = 0.1 (gp: 10.0)"]
    config = (tmp_path / "run" / "config.toml").read_text()
    assert '"constraint.weight" = "data wgan-kit:8gaussians"' in config
    wgan_kit.resume(tmp_path / "run", steps=2).train()  # a resumed run says nothing new
    assert "suggested" not in capsys.readouterr().err
    assert '"constraint.weight" = "data wgan-kit:8gaussians"' in \
        (tmp_path / "run" / "config.toml").read_text()


def test_a_python_script_sent_sigterm_stops_with_a_checkpoint_that_resume_continues_exactly(
        tmp_path):
    out, unbroken = tmp_path / "run", tmp_path / "unbroken"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(options=TINY)))
    process = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ((out / "metrics.jsonl").exists()
               and len((out / "metrics.jsonl").read_text().splitlines()) >= 3):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    [checkpoint] = (out / "checkpoints").iterdir()
    step = int(checkpoint.stem.removeprefix("step-"))
    assert stdout.split() == ["SIGTERM", str(step), str(out)]
    assert f"continue with: wgan_kit.resume({str(out)!r}).train()" in stderr

    wgan_kit.resume(out, steps=step + 2).train()
    wgan_kit.compose(options=TINY, batch_size=16, log_every=1, seed=0, steps=step + 2,
                     checkpoint_every=100_000).train(out=unbroken)
    last = f"checkpoints/step-{step + 2:08d}.safetensors"
    resumed, straight = load_file(out / last), load_file(unbroken / last)
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in resumed)


def test_nproc_2_from_python_trains_the_clis_two_process_run(tmp_path):
    trainer = wgan_kit.compose(options=TINY, steps=2, batch_size=16, log_every=1, seed=0)
    result = trainer.train(out=tmp_path / "python", nproc=2)
    assert result.finished and (result.step, result.folder) == (2, tmp_path / "python")
    assert trainer.step == 2 and trainer.folder.path == tmp_path / "python"  # loaded back
    cli = subprocess.run(
        [shutil.which("wgan-kit") or pytest.fail("wgan-kit is not on PATH"), "run", "--nproc",
         "2", "--steps", "2", "--batch-size", "16", "--seed", "0", "--set", "gen.hidden=16",
         "--set", "critic.hidden=16", "--set", "run.log_every=1", "--quiet",
         "--out", str(tmp_path / "cli")], capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr
    last = "checkpoints/step-00000002.safetensors"
    python, command_line = load_file(tmp_path / "python" / last), load_file(tmp_path / "cli" / last)
    assert python.keys() == command_line.keys()
    assert all(torch.equal(python[k], command_line[k]) for k in python)
    assert (tmp_path / "python" / "config.toml").read_text() == \
        (tmp_path / "cli" / "config.toml").read_text()
