"""The README's two commands are the contract; CI must run the test command verbatim. What the
README shows a command printing is what it prints: the refused command's errors as they are, and
the sweep example's conclusion (which λ trains worst, on every seed it names) reached again by a
tiny form of the example, cheap enough for every CI run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wgan_kit.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TEST_COMMAND = "pip install torch==2.13.0 -e '.[dev]' && pytest"
MAIN_COMMAND = "pip install torch==2.13.0 -e . && wgan-kit run"
SWEEP_EXAMPLE = ROOT / "examples" / "toy_lambda_sweep.toml"
# The example, small: a third of its steps, half-wide nets, a quarter of its batch, 500 points
# scored. Measured on 2026-12-07 (AMD EPYC, fp32), eval.w1 per (λ, seed): 0.1: 0.56, 0.65;
# 1: 0.60, 0.65; 10: 2.06, 1.15 — λ = 10 worst on both seeds, as in the full example.
TINY_FORM = {"run.steps": 100, "run.batch_size": 64, "gen.hidden": 32, "critic.hidden": 32,
             "run.log_every": 50, "run.checkpoint_every": 100, "run.sample_every": 100}
TINY_EVAL_N = 500


def test_ci_runs_the_readme_test_command():
    assert TEST_COMMAND in README and MAIN_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_readmes_refused_command_prints_what_the_readme_shows():
    [block] = re.findall(r"```\n\$ (wgan-kit run [^\n]*)\n((?:error: [^\n]*\n)+)```", README)
    command, shown = block
    refused = CliRunner().invoke(app, command.split()[1:])
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == shown.splitlines()


def readme_sweep_table() -> dict[tuple[float, int], float]:
    """eval.w1 per (constraint.weight, run.seed), from the trials table the README shows."""
    rows = re.findall(r"│ trial-\d+ │ complete │ ([\d.]+) +│ (\d+) +│ ([\d.]+)", README)
    return {(float(weight), int(seed)): float(value) for weight, seed, value in rows}


def worst_on_every_seed(values: dict[tuple[float, int], float]) -> float | None:
    """The λ whose W1 is the largest on each seed, if one is."""
    worst = {max((w for w, s in values if s == seed), key=lambda w: values[w, seed])
             for seed in {s for _, s in values}}
    return worst.pop() if len(worst) == 1 else None


def test_the_readmes_sweep_table_is_the_examples_grid_and_shows_its_conclusion():
    pytest.importorskip("optuna")
    from wgan_kit.experiments import load_sweep

    spec = load_sweep(SWEEP_EXAMPLE)
    shown = readme_sweep_table()
    assert sorted(shown) == sorted((s["constraint.weight"], s["run.seed"]) for s in spec.grid())
    assert worst_on_every_seed(shown) == 10.0
    assert "λ = 10" in README[README.index("## Sweeps"):README.index("## Speed")]


def test_the_sweep_example_in_a_tiny_form_finds_the_readmes_worst_lambda_on_every_seed(
        tmp_path):
    pytest.importorskip("optuna")
    from wgan_kit.experiments import load_sweep, run_sweep, sweep_status

    spec = load_sweep(SWEEP_EXAMPLE)
    tiny = spec.model_copy(update={
        "base": {**spec.base, **TINY_FORM},
        "sweep": spec.sweep.model_copy(update={"eval_n": TINY_EVAL_N, "jobs": 1})})
    run_sweep(tiny, tmp_path / "sweep", quiet=True)
    table, _ = sweep_status(tmp_path / "sweep")
    found = {(r.settings["constraint.weight"], r.settings["run.seed"]): r.value for r in table}
    assert sorted(found) == sorted(readme_sweep_table())  # every setting, on the seeds named
    assert worst_on_every_seed(found) == worst_on_every_seed(readme_sweep_table()) == 10.0, found
