"""Sweeps (wgan_kit.experiments and `wgan-kit sweep`): every trial an ordinary run folder, run
through the launch path, searched and recorded by Optuna (in its journal file by default); killed
sweeps continue, workers share one storage, hopeless trials are pruned, bad sweep files are
refused whole. Trials are a few steps of tiny nets."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("optuna")

import wgan_kit  # noqa: E402
from wgan_kit import WganKitError  # noqa: E402
from wgan_kit.experiments import (  # noqa: E402
    best,
    check_sweep,
    load_sweep,
    rows,
    run_sweep,
    sweep_status,
)
from wgan_kit.cli import app  # noqa: E402
from wgan_kit.core.engine.metrics import LOGGED_METRICS  # noqa: E402
from wgan_kit.experiments import study as studies  # noqa: E402

TINY_RUN = {"run": {"steps": 4, "batch_size": 16, "log_every": 2, "checkpoint_every": 2,
                    "sample_every": 100, "heldout_every": 0},
            "gen": {"hidden": 8}, "critic": {"hidden": 8}}


def tiny_sweep(**sweep: Any) -> dict[str, Any]:
    """Sweep tables over 8 Gaussians: eval.w1 of 50 points, λ × seeds unless told otherwise."""
    table = {"name": "tiny", "metric": "eval.w1", "direction": "minimize", "eval_n": 50,
             "threads": 1, "seeds": [0, 1], "settings": {"constraint.weight": [0.1, 1.0]},
             **sweep}
    return {"sweep": table, **json.loads(json.dumps(TINY_RUN))}


def write_toml(path: Path, tables: dict[str, Any]) -> Path:
    """A sweep file (only the value kinds these tests use)."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return json.dumps(v)  # JSON numbers, strings, lists and booleans are TOML too

    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        for key, v in table.items():
            if isinstance(v, dict) and key in ("settings", "pruner"):
                continue
            lines.append(f"{json.dumps(key)} = {value(v)}")
        for key in ("settings", "pruner"):
            if isinstance(table.get(key), dict):
                lines.append(f"[{name}.{key}]")
                lines += [f"{json.dumps(k)} = {value(v)}" for k, v in table[key].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def sweep_cli(*args: str) -> Any:
    """`wgan-kit ARGS` through Typer's runner, in this process."""
    return CliRunner().invoke(app, list(args))


def test_a_four_trial_grid_gives_four_run_folders_the_table_the_best_and_the_report(tmp_path):
    sweep_file, out = write_toml(tmp_path / "tiny_sweep.toml", tiny_sweep()), tmp_path / "sweep"
    ran = sweep_cli("sweep", str(sweep_file), "--out", str(out), "--threads", "1")
    assert ran.exit_code == 0, ran.output
    assert "trial-002 (constraint.weight=1.0, run.seed=0): eval.w1 " in ran.stderr
    table, spec = sweep_status(out)
    assert [r.state for r in table] == ["complete"] * 4
    assert [r.settings for r in table] == [
        {"constraint.weight": w, "run.seed": s} for w in (0.1, 1.0) for s in (0, 1)]
    for row in table:  # ordinary run folders, through the launch path: resume (and so eval,
        folder = out / row.folder  # sample, report) work on them; each has its preflight
        assert wgan_kit.resume(folder).step == 4 and (folder / "preflight.json").is_file()
    top = best(table, spec)
    assert top is not None and top.value == min(r.value for r in table)
    assert top.eval["w1"] == top.value and "modes_captured" in top.eval
    assert f"best: {top.folder} (constraint.weight=" in ran.stdout
    assert "over seeds 0, 1" in ran.stdout and "eval.w1 mean ± std" in ran.stdout
    with open(out / "trials.csv", newline="") as file:
        written = list(csv.DictReader(file))
    assert [row["folder"] for row in written] == [f"trial-{i:03d}" for i in range(4)]
    assert float(written[0]["eval.w1"]) == table[0].value

    status = sweep_cli("sweep", "status", str(out), "--json")
    assert status.exit_code == 0, status.output
    summary = json.loads(status.stdout)
    assert summary == json.loads((out / "trials.json").read_text())
    assert summary["best"]["folder"] == top.folder
    assert [t["state"] for t in summary["trials"]] == ["complete"] * 4
    assert {s["n"] for s in summary["spread_over_seeds"]} == {2}  # two λ, each over two seeds

    reported = sweep_cli("report", str(out))
    assert reported.exit_code == 0, reported.output
    page = (out / "report.html").read_text()
    assert "eval.w1 against constraint.weight" in page and "eval.w1 against run.seed" in page
    assert f"{top.folder} (best)" in page and f"{top.folder}: latest samples" in page


def test_a_bad_sweep_file_on_the_command_line_is_refused_with_exit_2_and_no_folder(tmp_path):
    tables = tiny_sweep(metric="eval.w2", settings={"constraint.wieght": [0.1, 1.0]})
    sweep_file, out = write_toml(tmp_path / "bad_sweep.toml", tables), tmp_path / "sweep"
    refused = sweep_cli("sweep", str(sweep_file), "--out", str(out))
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "error: sweep.settings.constraint.wieght = 0.1: constraint.wieght: gp has no such "
        "option; its options are: weight",
        "error: sweep.metric: 'eval.w2' is no eval score for points data; known: eval.w1, "
        "eval.w1_real_baseline, eval.modes_captured, eval.high_quality_share",
    ]
    assert not out.exists()
    joined = sweep_cli("sweep", "--join", f"sqlite:///{tmp_path}/none.db", "--out", str(out),
                       "--jobs", "2")
    assert joined.exit_code == 2 and joined.stderr.splitlines() == [
        "error: --jobs: not with --join (the sweep joined has its own)"]
    assert not out.exists() and not (tmp_path / "none.db").exists()


def test_the_metrics_a_sweep_may_name_are_those_runs_log(tiny_trainer):
    logged = set(tiny_trainer(steps=2, heldout_every=1).train())  # a penalty, held-out losses
    conditional = wgan_kit.compose(data="digits", gen="dcgan", critic="dcgan", steps=1,
                                   batch_size=16, heldout_every=0, conditional=True,
                                   options={"gen.filters": 8, "critic.filters": 8,
                                            "gen.latent_dim": 8})
    logged |= set(conditional.train())  # AC-GAN's class losses
    assert logged - {"step"} == set(LOGGED_METRICS)


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = check_sweep(tiny_sweep(seeds=[], settings={"run.device": ["cuda:99", "cpu"]}))
    run_sweep(spec, tmp_path / "sweep")
    failed, done = sweep_status(tmp_path / "sweep")[0]
    assert (failed.state, done.state) == ("failed", "complete")
    assert "cuda:99" in failed.error and failed.error.startswith("WganKitError")


def test_a_setting_whose_every_trial_failed_is_reported_missing_not_passed_over(tmp_path):
    # What a user saw: MLflow's race lost both trials of λ = 0.1, yet the table named a best
    # trial without a word about the setting it never compared.
    tables = tiny_sweep(settings={"run.device": ["cuda:99", "cpu"]})
    sweep_file, out = write_toml(tmp_path / "lost_sweep.toml", tables), tmp_path / "sweep"
    ran = sweep_cli("sweep", str(sweep_file), "--out", str(out), "--threads", "1")
    assert ran.exit_code == 0, ran.output
    lines = ran.stdout.splitlines()
    assert "no finished trial for run.device=cuda:99 (2 failed)" in lines
    assert any(line.startswith("best (among the settings that finished): trial-00")
               for line in lines)
    assert "2 failed trials: run the sweep again with --retry-failed to retry" in lines
    assert any("run.device=cuda:99" in line and "missing: 2 failed" in line for line in lines)
    summary = json.loads((out / "trials.json").read_text())
    assert summary["missing_settings"] == [{"settings": {"run.device": "cuda:99"},
                                            "trials": {"failed": 2}}]
    assert sweep_cli("report", str(out)).exit_code == 0  # the sweep's page says so too
    page = (out / "report.html").read_text()
    assert "no finished trial for run.device=cuda:99 (2 failed)" in page
    assert "eval.w1: on 50 generated samples per trial" in page


def test_failed_trials_run_again_with_retry_failed_and_not_without(tmp_path):
    # The data file is missing at first, as the MLflow store was broken: both trials fail.
    points = tmp_path / "points.safetensors"
    tables = tiny_sweep(metric="wasserstein", seeds=[], settings={"run.lr": [1e-4, 2e-4]})
    tables["data"] = {"name": "tensors", "path": str(points)}
    sweep_file, out = write_toml(tmp_path / "retry_sweep.toml", tables), tmp_path / "sweep"
    first = sweep_cli("sweep", str(sweep_file), "--out", str(out))
    assert first.exit_code == 0, first.output
    assert [r.state for r in sweep_status(out)[0]] == ["failed", "failed"]
    assert "no such file" in sweep_status(out)[0][0].error

    import torch
    from safetensors.torch import save_file

    save_file({"x": torch.randn(400, 2, generator=torch.Generator().manual_seed(0))}, points)
    again = sweep_cli("sweep", str(sweep_file), "--out", str(out))  # continued: kept as failed
    assert again.exit_code == 0 and "retrying" not in again.stderr
    assert [r.state for r in sweep_status(out)[0]] == ["failed", "failed"]

    retried = sweep_cli("sweep", str(sweep_file), "--out", str(out), "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert "retrying 2 failed trials: trial-000, trial-001" in retried.stderr
    table = sweep_status(out)[0]
    assert [(r.folder, r.state) for r in table] == [("trial-000", "complete"),
                                                    ("trial-001", "complete")]
    assert [r.settings for r in table] == [{"run.lr": 1e-4}, {"run.lr": 2e-4}]
    assert json.loads((out / "trials.json").read_text())["missing_settings"] == []


def test_a_killed_sweep_restarted_finishes_every_trial_once(tmp_path):
    # Trials 2 and 3 are long enough to be killed in; trial 2 is killed after a checkpoint.
    tables = tiny_sweep(settings={"run.steps": [3, 60]})
    tables["run"]["checkpoint_every"] = 3
    sweep_file = write_toml(tmp_path / "kill_sweep.toml", tables)
    out = tmp_path / "sweep"
    started = subprocess.Popen(
        [sys.executable, "-c", "import sys; from wgan_kit.experiments import load_sweep, "
         "run_sweep; run_sweep(load_sweep(sys.argv[1]), sys.argv[2])", str(sweep_file), str(out)],
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    checkpoints = out / "trial-002" / "checkpoints"
    while started.poll() is None and not any(checkpoints.glob("*.safetensors")):
        time.sleep(0.02)
    started.send_signal(signal.SIGKILL)
    assert started.wait() == -signal.SIGKILL, "the sweep ended before it could be killed"
    run_sweep(load_sweep(sweep_file), out)

    current, spec = studies.status(out)
    table = rows(current)
    assert [r.state for r in table] == ["complete"] * 4
    assert sorted(json.dumps(r.settings, sort_keys=True) for r in table) == sorted(
        json.dumps(s, sort_keys=True) for s in spec.grid())
    resumed = [t for t in current.trials if t.user_attrs.get("resumes") == 2]
    assert len(resumed) == 1 and resumed[0].user_attrs["folder"] == "trial-002"
    steps = [json.loads(line)["step"] for line in
             (out / "trial-002" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 60  # resumed, each step logged once


def test_ctrl_c_stops_the_current_trial_with_a_checkpoint_and_says_how_to_continue(tmp_path):
    tables = tiny_sweep(seeds=[], settings={"run.steps": [3, 150]})
    tables["run"]["checkpoint_every"] = 3
    sweep_file, out = write_toml(tmp_path / "stop_sweep.toml", tables), tmp_path / "sweep"
    command = [sys.executable, "-m", "wgan_kit", "sweep", str(sweep_file), "--out", str(out)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    checkpoints = out / "trial-001" / "checkpoints"
    while started.poll() is None and not any(checkpoints.glob("*.safetensors")):
        time.sleep(0.02)
    started.send_signal(signal.SIGINT)
    _, stderr = started.communicate(timeout=300)
    assert started.returncode == 130, stderr
    assert stderr.splitlines()[-1] == (f"sweep stopped by SIGINT; continue with: wgan-kit sweep "
                                       f"{sweep_file} --out {out}")
    assert [r.state for r in sweep_status(out)[0]] == ["complete", "waiting"]
    stopped_at = max(int(p.stem.removeprefix("step-")) for p in checkpoints.iterdir())
    assert 3 <= stopped_at < 150

    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert [r.state for r in sweep_status(out)[0]] == ["complete", "complete"]
    steps = [json.loads(line)["step"] for line in
             (out / "trial-001" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 150  # resumed, each step logged once


def test_two_workers_on_one_journal_file_run_no_trial_twice(tmp_path):
    spec = check_sweep(tiny_sweep(seeds=[0, 1, 2]))
    out, elsewhere = tmp_path / "sweep", tmp_path / "other-machine"
    url = studies.create(spec, out)
    code = "import sys; from wgan_kit.experiments import join_sweep; join_sweep(sys.argv[1], " \
           "sys.argv[2])"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen([sys.executable, "-c", code, url, str(out)], env=environment),
               subprocess.Popen([sys.executable, "-m", "wgan_kit", "sweep", "--join", url, "--out",
                                 str(elsewhere), "--quiet"], env=environment,
                                stdout=subprocess.DEVNULL)]  # as a second machine would
    assert [w.wait(timeout=600) for w in workers] == [0, 0]
    current, _ = studies.status(out)
    ran = [t for t in current.trials if not t.user_attrs.get("unused")]
    assert len(ran) == 6 and {t.state.name for t in ran} == {"COMPLETE"}
    assert len({json.dumps(t.params, sort_keys=True) for t in ran}) == 6  # none twice
    assert len({t.user_attrs["worker"] for t in ran}) <= 2
    folders = {t.user_attrs["folder"] for t in ran}  # each trial's folder on its worker's disk
    assert {p.name for p in (*out.glob("trial-*"), *elsewhere.glob("trial-*"))} == folders
    assert [r.state for r in sweep_status(elsewhere)[0]] == ["complete"] * 6  # status there too


def test_the_median_pruner_stops_the_trial_whose_intermediate_metric_is_worst(tmp_path):
    # The logged generator learning rate is a metric every trial's pruner can see at each step:
    # the third trial's is the largest, so worse than the median of the two before it.
    tables = tiny_sweep(metric="wasserstein", seeds=[],
                        settings={"run.lr": [1e-4, 2e-4, 1e-2]},
                        pruner={"metric": "lr_generator", "startup_trials": 2})
    run_sweep(check_sweep(tables), tmp_path / "sweep")
    table, _ = sweep_status(tmp_path / "sweep")
    assert [r.state for r in table] == ["complete", "complete", "pruned"]
    assert "lr_generator at step 2" in table[2].error
    logged = (tmp_path / "sweep" / "trial-002" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(logged[-1])["step"] == 2  # stopped at its first logged step, not at 4
    later = wgan_kit.load_registry()  # the trial's hook stayed in the trial's registry
    assert all(p.package != "wgan-kit sweep" for p in later.plugins)


def test_a_bad_sweep_file_is_refused_one_line_per_problem_with_nothing_written(tmp_path):
    tables = tiny_sweep(metric="eval.w2", sampler="random", trials=4,
                        storage=f"sqlite:///{tmp_path}/missing/sweep.db",
                        settings={"constraint.wieght": [0.1, 1.0],
                                  "run.optimizer": {"low": 1, "high": 3}})
    with pytest.raises(WganKitError) as refused:
        run_sweep(load_sweep(write_toml(tmp_path / "bad_sweep.toml", tables)), tmp_path / "out")
    assert refused.value.problems == [
        "sweep.settings.constraint.wieght = 0.1: constraint.wieght: gp has no such option; its "
        "options are: weight",
        "sweep.settings.run.optimizer = 1: run.optimizer: input should be 'adam' or 'rmsprop', "
        "got 1",
        "sweep.metric: 'eval.w2' is no eval score for points data; known: eval.w1, "
        "eval.w1_real_baseline, eval.modes_captured, eval.high_quality_share",
        f"sweep.storage 'sqlite:///{tmp_path}/missing/sweep.db': cannot write in "
        f"{tmp_path}/missing",
    ]
    assert not (tmp_path / "out").exists()


def test_a_sweep_file_with_six_mistakes_shows_them_all_at_once():
    # What a user saw: a file with five mistakes took three rounds, each stopping at the first
    # kind of mistake ([sweep]'s fields, then the base, then the settings and the metric).
    tables = tiny_sweep(metric="eval.w2", direction="min", sampler="random",
                        settings={"constraint.wieght": [0.1, 1.0], "run.steps": 5})
    tables["run"]["batch_size"] = "many"
    with pytest.raises(WganKitError) as refused:
        check_sweep(tables)
    assert refused.value.problems == [
        "sweep.direction: input should be 'minimize' or 'maximize', got 'min'",
        "sweep.settings.run.steps: input should be a valid list, got 5",
        "sweep.trials: sampler random needs the number of trials to draw, e.g. trials = 20",
        "base: run.batch_size: input should be a valid integer, unable to parse string as an "
        "integer, got 'many'",
        "sweep.settings.constraint.wieght = 0.1: constraint.wieght: gp has no such option; its "
        "options are: weight",
        "sweep.metric: 'eval.w2' is no eval score for points data; known: eval.w1, "
        "eval.w1_real_baseline, eval.modes_captured, eval.high_quality_share",
    ]


def test_a_run_s_config_toml_is_a_sweep_s_base(tmp_path, tiny_trainer):
    # The README's `base = "runs/X/config.toml"`: the file also records what each part was
    # ([provenance]), which is not a setting to vary from.
    tiny_trainer(steps=1, options={"gen.hidden": 12}).train(out=tmp_path / "runs" / "x")
    sweep_file = tmp_path / "from_a_run.toml"
    sweep_file.write_text('base = "runs/x/config.toml"\n[sweep]\nmetric = "wasserstein"\n'
                          'direction = "minimize"\nseeds = [0, 1]\n')
    spec = load_sweep(sweep_file)
    assert spec.base["gen.hidden"] == 12 and spec.base["run.steps"] == 1
    assert not any(key.startswith("provenance.") for key in spec.base)


def test_a_malformed_axis_says_whether_values_or_a_range_was_meant():
    tables = tiny_sweep(sampler="grid", settings={"run.steps": 5, "run.lr": {"low": 1e-3,
                                                                             "high": 1e-5}})
    with pytest.raises(WganKitError) as refused:
        check_sweep(tables)
    assert refused.value.problems == [
        "sweep.settings.run.steps: input should be a valid list, got 5",
        "sweep.settings.run.lr: low (0.001) must be below high (1e-05), got "
        "{'low': 0.001, 'high': 1e-05}",
    ]


def test_a_setting_value_that_mathtext_cannot_parse_draws_on_the_sweep_page():
    """A categorical setting is the user's own string: `$…$` or `_` must not be read as
    mathtext when the page's picture labels its axis."""
    from wgan_kit.experiments.report import metric_against_setting_png
    from wgan_kit.experiments.table import TrialRow

    spec = check_sweep(tiny_sweep(seeds=[], settings={"run.device": ["cpu"]}))
    table = [TrialRow(i, f"trial-{i:03d}", "complete", {"run.device": value}, value=0.1 * i)
             for i, value in enumerate(["$a^$", "x$^_$y", "$\\undefined$"])]  # bad mathtext
    assert metric_against_setting_png(table, spec, "run.device").startswith(b"\x89PNG")


def test_time_to_target_ends_each_trial_at_its_first_score_that_reaches_the_target(tmp_path):
    # Any W1 of a 4-step run is below 100, so each trial stops at its first score: the run's
    # eval_every; none is below 1e-9, so those trials train every step and score inf.
    tables = tiny_sweep(metric="steps_to_target", target=100.0, seeds=[],
                        settings={"run.eval_every": [2, 3]})
    tables["run"] |= {"eval_samples": 50, "log_every": 1}
    run_sweep(check_sweep(tables), tmp_path / "reached")
    table, _ = sweep_status(tmp_path / "reached")
    assert [(r.state, r.value) for r in table] == [("complete", 2.0), ("complete", 3.0)]
    assert [r.error for r in table] == [f"target reached at step {n}" for n in (2, 3)]
    lines = [json.loads(line) for line in
             (tmp_path / "reached" / "trial-001" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]  # stopped at the score, not at 4
    assert "eval_w1" in lines[-1] and lines[-1]["train_seconds"] > lines[0]["train_seconds"] > 0

    tables = tiny_sweep(metric="seconds_to_target", target=1e-9, seeds=[],
                        settings={"run.eval_every": [2]})
    run_sweep(check_sweep(tables), tmp_path / "missed")
    missed = sweep_status(tmp_path / "missed")[0][0]
    assert missed.state == "complete" and missed.value == float("inf")
    assert wgan_kit.resume(tmp_path / "missed" / missed.folder).step == 4

    tables = tiny_sweep(metric="seconds_to_target", target=100.0, budget=1e-9, seeds=[],
                        settings={"run.eval_every": [2]})
    tables["run"] |= {"log_every": 1}
    run_sweep(check_sweep(tables), tmp_path / "spent")
    spent = sweep_status(tmp_path / "spent")[0][0]
    assert spent.value == float("inf")  # its first line was past the budget, before any score
    assert spent.error.startswith("not reached in the budget: ")
    lines = (tmp_path / "spent" / spent.folder / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1]


def test_a_time_to_target_sweep_without_its_target_or_scores_is_refused():
    with pytest.raises(WganKitError) as refused:
        check_sweep(tiny_sweep(metric="seconds_to_target", direction="maximize"))
    assert refused.value.problems == [
        "sweep.metric 'seconds_to_target': needs sweep.target, the run.eval_every score that "
        "counts as reached (e.g. target = 0.1 for eval_w1)",
        "sweep.direction: 'seconds_to_target' is minimised (less time is better)",
        "sweep.metric 'seconds_to_target': the trials need run.eval_every (e.g. [run] "
        "eval_every = 100) to score themselves while they train"]
    with pytest.raises(WganKitError) as refused:
        check_sweep(tiny_sweep(target=0.1, budget=60))
    assert refused.value.problems == [
        f"sweep.{field}: only for metric = seconds_to_target or steps_to_target; 'eval.w1' has "
        "none" for field in ("target", "budget")]


@pytest.mark.parametrize("path", sorted(
    (Path(__file__).parents[2] / "benchmarks" / "sweeps").glob("*.toml")), ids=lambda p: p.stem)
def test_the_sweeps_that_chose_the_defaults_are_valid_sweep_files(path):
    """benchmarks/README.md tells how to rerun them: they must stay runnable as the options move."""
    spec = load_sweep(path)
    assert spec.sweep.metric == "seconds_to_target"
    assert spec.sweep.target is not None and spec.sweep.budget is not None
