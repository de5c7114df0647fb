"""`run.eval_every` scores a run while it trains and keeps its best-scoring step as
best.safetensors: the score is logged at its step, scoring changes nothing the run computes,
resuming keeps the best so far, and `sample`/`eval --best` read it (refused in one line without)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import safetensors
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import wgan_kit
from wgan_kit.cli import app
from wgan_kit.core import checkpoint
from wgan_kit.core.protocols import RunScore
from wgan_kit.training import launch

runner = CliRunner()
TINY = {"gen.hidden": 16, "critic.hidden": 16}
SETTINGS = {"batch_size": 16, "lr": 1e-3, "log_every": 3, "heldout_every": 0}


def train(out: Path, steps: int, **run) -> wgan_kit.Trainer:
    trainer = wgan_kit.compose(options=TINY, steps=steps, **{**SETTINGS, **run})
    trainer.train(out=out, preflight=False, handle_signals=False)
    return trainer


def scores(folder: Path, key: str = "eval_w1") -> dict[int, float]:
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return {line["step"]: line[key] for line in lines if key in line}


def test_best_safetensors_holds_the_step_that_scored_best(tmp_path):
    out = tmp_path / "run"
    train(out, 8, eval_every=2, eval_samples=200, checkpoint_every=2, keep_checkpoints=10)
    logged = scores(out)
    assert sorted(logged) == [2, 4, 6, 8]  # every eval_every steps, and at the last
    best_step = min(logged, key=logged.get)
    recorded = checkpoint.read_metadata(out / "best.safetensors")
    assert recorded["best"] == {"step": best_step, "name": "eval_w1",
                                "value": logged[best_step], "lower_is_better": True}
    assert recorded["step"] == best_step  # a full checkpoint of that step, as any other
    best, same_step = (load_file(out / "best.safetensors"),
                       load_file(out / "checkpoints" / f"step-{best_step:08d}.safetensors"))
    assert best.keys() == same_step.keys()
    assert all(torch.equal(best[k], same_step[k]) for k in best)


def test_scoring_while_training_changes_nothing_the_run_computes(tmp_path):
    scored, plain = train(tmp_path / "scored", 5, eval_every=1), train(tmp_path / "plain", 5)
    assert (tmp_path / "scored" / "best.safetensors").exists()
    assert not (tmp_path / "plain" / "best.safetensors").exists()
    last = "checkpoints/step-00000005.safetensors"
    a, b = load_file(tmp_path / "scored" / last), load_file(tmp_path / "plain" / last)
    assert a.keys() == b.keys()  # weights, optimizers and random streams alike
    assert all(torch.equal(a[k], b[k]) for k in a)
    with torch.no_grad():
        assert all(torch.equal(p, q) for p, q in zip(scored.generator.parameters(),
                                                      plain.generator.parameters()))


class Scripted:
    """A scorer whose score at each step is given: it checks what is kept, whatever W1 does."""

    def __init__(self, by_step: dict[int, float]) -> None:
        self.by_step = by_step

    def __call__(self, run, /) -> RunScore:
        return RunScore("eval_w1", self.by_step[run.step])


def test_resuming_keeps_the_best_so_far(tmp_path, monkeypatch):
    script = Scripted({2: 1.0, 4: 0.5, 6: 0.7, 8: 0.9})  # best at 4; later ones are worse
    monkeypatch.setattr(launch, "training_scorer", lambda engine: script)
    out = tmp_path / "run"
    train(out, 4, eval_every=2)
    assert checkpoint.read_metadata(out / "best.safetensors")["best"]["step"] == 4
    wgan_kit.resume(out, steps=8).train(preflight=False, handle_signals=False)
    assert scores(out) == {2: 1.0, 4: 0.5, 6: 0.7, 8: 0.9}
    assert checkpoint.read_metadata(out / "best.safetensors")["best"] == {
        "step": 4, "name": "eval_w1", "value": 0.5, "lower_is_better": True}


def test_resuming_from_an_earlier_step_forgets_a_later_best(tmp_path, monkeypatch):
    script = Scripted({2: 1.0, 4: 0.5, 6: 0.7})
    monkeypatch.setattr(launch, "training_scorer", lambda engine: script)
    out = tmp_path / "run"
    train(out, 4, eval_every=2, checkpoint_every=2)
    script.by_step[4] = 2.0  # another history from step 2: its best is step 6's 0.7
    wgan_kit.resume(out, from_step=2, steps=6).train(preflight=False, handle_signals=False)
    assert checkpoint.read_metadata(out / "best.safetensors")["best"]["step"] == 6


class Sleeping:
    """A scorer that takes `seconds`: time that train_seconds must not count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, run, /) -> RunScore:
        time.sleep(self.seconds)
        return RunScore("eval_w1", 1.0)


def test_train_seconds_count_the_steps_alone_and_go_on_across_a_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "training_scorer", lambda engine: Sleeping(0.5))
    out = tmp_path / "run"
    train(out, 3, eval_every=1, checkpoint_every=3)
    wgan_kit.resume(out, steps=6).train(preflight=False, handle_signals=False)
    seconds = scores(out, "train_seconds")
    assert list(seconds) == [1, 2, 3, 4, 5, 6]  # every scored step is a logged step
    assert all(a < b for a, b in zip(seconds.values(), list(seconds.values())[1:]))
    assert seconds[6] < 6 * 0.5  # six tiny steps, without the 3 s of scoring


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("best") / "run"
    result = runner.invoke(app, ["run", "--steps", "6", "--batch-size", "16", "--set",
                                 "gen.hidden=16", "--set", "critic.hidden=16", "--set",
                                 "run.eval_every=2", "--set", "run.eval_samples=100",
                                 "--set", "run.lr=1e-3", "--out", str(out), "--quiet",
                                 "--threads", "1", "--no-preflight"])
    assert result.exit_code == 0, result.output
    return out


def test_eval_best_scores_best_safetensors_as_it_was_scored_while_training(scored_run):
    best = checkpoint.read_metadata(scored_run / "best.safetensors")["best"]
    result = runner.invoke(app, ["eval", str(scored_run), "--best", "--n", "100", "--json"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["step"] == best["step"]
    assert scored["metrics"]["w1"] == pytest.approx(best["value"], rel=1e-6)


def test_sample_best_draws_from_best_safetensors(scored_run, tmp_path):
    best = checkpoint.read_metadata(scored_run / "best.safetensors")["best"]
    out = tmp_path / "samples.safetensors"
    result = runner.invoke(app, ["sample", str(scored_run), "--best", "--n", "8", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    with safetensors.safe_open(str(out), framework="pt") as file:
        assert json.loads(file.metadata()["step"]) == best["step"]
    in_python = wgan_kit.sample_to(scored_run, tmp_path / "again.safetensors", n=8, best=True)
    assert torch.equal(load_file(in_python)["samples"], load_file(out)["samples"])


@pytest.mark.parametrize("command", [["eval"], ["sample", "--out", "x.png"]])
def test_best_is_refused_in_one_line_for_a_run_that_kept_none(tmp_path, command):
    plain = tmp_path / "plain"
    train(plain, 2)
    result = runner.invoke(app, [command[0], str(plain), "--best", *command[1:]])
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "--set run.eval_every=N" in message, message
