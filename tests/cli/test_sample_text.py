"""`wgan-kit sample --out FILE.txt` and `wgan-kit eval` on a run whose text source is a plugin."""

from __future__ import annotations

import json
import textwrap

from typer.testing import CliRunner

from wgan_kit.cli import app
from tiny_sources import ALPHABET

PLUGIN = """
from wgan_kit import Component, NoOptions, hookimpl

def build(options):
    from tiny_sources import TinyText
    return TinyText()

@hookimpl
def register_components(register):
    register(Component("data", "tinytext", build, NoOptions, "Lines of lowercase text."))
"""


def test_text_runs_sample_to_lines_and_evaluate_with_ngram_divergences(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "wgan_kit_tinytext-1.0.dist-info").mkdir(parents=True)
    (site / "wgan_kit_tinytext.py").write_text(textwrap.dedent(PLUGIN))
    (site / "wgan_kit_tinytext-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: wgan-kit-tinytext\nVersion: 1.0\n")
    (site / "wgan_kit_tinytext-1.0.dist-info" / "entry_points.txt").write_text(
        "[wgan_kit]\ntinytext = wgan_kit_tinytext\n")
    monkeypatch.syspath_prepend(str(site))
    runner = CliRunner()
    run = runner.invoke(app, ["run", "--data", "tinytext", "--steps", "2", "--batch-size", "8",
                              "--set", "gen.hidden=16", "--set", "critic.hidden=16", "--out",
                              str(tmp_path / "run"), "--quiet"])
    assert run.exit_code == 0, run.output
    out = tmp_path / "lines.txt"
    result = runner.invoke(app, ["sample", str(tmp_path / "run"), "--n", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and all(len(line) == 12 and set(line) <= set(ALPHABET)
                                   for line in lines)
    scores = json.loads(runner.invoke(app, ["eval", str(tmp_path / "run"), "--n", "20",
                                            "--json"]).output)
    assert scores["kind"] == "sequence"
    assert scores["metrics"]["js4"] > scores["metrics"]["js4_real_baseline"]  # 2 steps: noise


def test_text_output_is_refused_for_points(tmp_path):
    runner = CliRunner()
    runner.invoke(app, ["run", "--steps", "1", "--batch-size", "8", "--set", "gen.hidden=8",
                        "--set", "critic.hidden=8", "--out", str(tmp_path / "run"), "--quiet"])
    result = runner.invoke(app, ["sample", str(tmp_path / "run"), "--out",
                                 str(tmp_path / "points.txt")])
    assert result.exit_code == 2 and ".txt is for text" in result.output
    assert not (tmp_path / "points.txt").exists()
