"""The hand-run benchmarks in `benchmarks/` still run against the current API (tiny settings)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


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


def test_quality_quick_scores_wgan_kit_and_the_plain_loop_over_seeds(tmp_path):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--quick", "--case",
                           "8gaussians-released", "--pictures", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reference column skipped: pass --reference DIR" in done.stderr
    out = done.stdout
    # W1, then (the toy sets' moving average) the live generator's W1, then modes
    rows = re.findall(r"^\| (wgan-kit|plain) \| \d \| 20 \| [\d.]+ \| (?:[\d.]+|—) \| \d/8 \|", out,
                      re.MULTILINE)
    assert rows.count("wgan-kit") == 2 and rows.count("plain") == 2, out
    assert re.search(r"^\| wgan-kit \| 2 \| 20 \(20–20\) \| [\d.]+ \([\d.]+–[\d.]+\) \|", out,
                     re.MULTILINE), out
    assert len(list(tmp_path.glob("8gaussians-released-*-seed*.png"))) == 4


def test_quality_quick_gives_the_plain_loop_the_seconds_wgan_kit_took_on_mnist(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("WGAN_KIT_CACHE", str(tmp_path / "cache"))
    runs = tmp_path / "runs.jsonl"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--quick", "--case",
                           "mnist-defaults", "--seeds", "0", "--set", "run.ema_decay=0.9",
                           "--json", str(runs)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    [ours, plain] = sorted((json.loads(line) for line in runs.read_text().splitlines()),
                           key=lambda r: r["column"] != "wgan-kit")
    assert ours["curve"][-1]["step"] == 20 and plain["seconds"] == ours["curve"][-1]["seconds"]
    assert plain["curve"][-1]["seconds"] >= plain["seconds"] or plain["curve"][-1]["step"] == 200
    last = ours["curve"][-1]
    assert {"fid", "fid_live", "classes", "classes_live"} <= set(last) and last["of_classes"] == 10
    assert re.search(r"^\| wgan-kit \| 0 \| 20 \| [\d.]+ \| [\d.]+ \| \d+/10 \|", done.stdout,
                     re.MULTILINE), done.stdout
