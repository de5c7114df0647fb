"""The hand-run benchmarks in `benchmarks/` still run against the current API (tiny settings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run(script: str, *arguments: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--threads", "1",
                           *arguments], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_compare_times_both_loops_on_identical_nets():
    out = run("compare.py", "--case", "toy-mlp", "--precision", "fp32", "--gen-steps", "1",
              "--rounds", "1", "--warmup", "0", "--set", "gen.hidden=16",
              "--set", "critic.hidden=16")
    assert re.search(r"\| toy-mlp \| 256 \| fp32 \| cpu \| [\d.]+ \| [\d.]+ \| [\d.]+×", out), out


def test_penalty_pass_times_torchs_and_the_lean_double_backward():
    out = run("penalty_pass.py", "--case", "toy-mlp", "--precision", "fp32", "--rounds", "1")
    assert re.search(r"\| toy-mlp \| 256 \| fp32 \| \d+ \| \d+ \| [\d.]+× \|", out), out


def test_quality_quick_scores_wgan_kit_and_the_plain_loop_over_seeds():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--quick", "--case",
                           "8gaussians-released"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reference column skipped: pass --reference DIR" in done.stderr
    out = done.stdout
    rows = re.findall(r"^\| (wgan-kit|plain) \| \d \| [\d.]+ \| \d/8 \|", out, re.MULTILINE)
    assert rows.count("wgan-kit") == 2 and rows.count("plain") == 2, out
    assert re.search(r"^\| wgan-kit \| 2 \| [\d.]+ \([\d.]+–[\d.]+\) \|", out, re.MULTILINE), out
