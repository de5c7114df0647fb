"""`wgan-kit report`: every picture is a PNG of the promised size, and the page shows them all
in a real browser."""

from __future__ import annotations

import base64
import html
import inspect
import json
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import typer
from torch import nn
from typer.testing import CliRunner

from wgan_kit.cli import app
from wgan_kit.evaluation import EVAL_SAMPLES, evaluate
from wgan_kit.experiments.spec import SweepTable
from wgan_kit.evaluation.report import (
    RunPictures,
    curve_png,
    score_curve_png,
    value_surface_png,
    wall_clock,
    weight_histogram_png,
)
from wgan_kit.evaluation.report import write_report as write_page

runner = CliRunner()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


LINES = [{"step": 10 * i, "wasserstein": 1 / i, "grad_norm": 1.0, "grad_norm_max": 2.0,
          "gen_steps_per_s": 5.0} for i in range(1, 6)]


def test_every_plot_is_a_png_of_the_expected_size():
    critic = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    points = np.random.default_rng(0).normal(size=(50, 2))
    curve = curve_png([("a", LINES), ("b", LINES[:3])], ["grad_norm", "grad_norm_max"], "step",
                      "norms", "norm")
    assert curve is not None and png_size(curve) == (640, 400)
    assert png_size(curve_png([("a", LINES)], ["wasserstein"], "time", "W", "W")) == (640, 400)
    assert png_size(value_surface_png(critic, points, points + 1)) == (500, 500)
    assert png_size(weight_histogram_png(critic)) == (640, 400)
    assert curve_png([("a", LINES)], ["penalty"], "step", "penalty", "penalty") is None  # no data


def test_wall_clock_is_rebuilt_from_the_logged_speed():
    assert wall_clock(LINES) == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])


def test_score_lines_of_run_eval_every_leave_the_wall_clock_as_it_was():
    scored = [LINES[0], {"step": 15, "eval_w1": 0.3}, *LINES[1:]]
    assert wall_clock(scored) == pytest.approx([2.0, 2.0, 4.0, 6.0, 8.0, 10.0])


def test_the_score_kept_by_is_plotted_over_steps_with_the_best_marked(tmp_path):
    import wgan_kit

    trainer = wgan_kit.compose(options={"gen.hidden": 16, "critic.hidden": 16}, steps=4,
                               batch_size=16, eval_every=2, eval_samples=50, log_every=4)
    trainer.train(out=tmp_path / "run", preflight=False, handle_signals=False)
    page = write_page([tmp_path / "run"]).read_text(encoding="utf-8")
    assert 'alt="eval_w1 while training"' in page
    run = RunPictures("run", "", [{"step": 2, "eval_w1": 0.5}, {"step": 4, "eval_w1": 0.7}],
                      best={"step": 2, "name": "eval_w1", "value": 0.5, "lower_is_better": True})
    assert png_size(score_curve_png([run], "eval_w1")) == (640, 400)
    assert score_curve_png([run], "eval_fid") is None  # nothing logged under that name


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A WGAN-GP and a clipped WGAN run, a few steps each."""
    root = tmp_path_factory.mktemp("runs")
    for constraint in ("gp", "clip"):
        result = runner.invoke(app, ["run", "--constraint", constraint, "--steps", "4",
                                     "--batch-size", "16", "--set", "gen.hidden=16", "--set",
                                     "critic.hidden=16", "--set", "run.log_every=2", "--set",
                                     "run.heldout_every=2", "--out", str(root / constraint),
                                     "--quiet"])
        assert result.exit_code == 0, result.output
    return root / "gp", root / "clip"


def write_report(two_runs, out: Path) -> str:
    result = runner.invoke(app, ["report", *map(str, two_runs), "--out", str(out), "--eval",
                                 "--n", "50"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_is_one_self_contained_page_about_every_run(two_runs, tmp_path):
    page = write_report(two_runs, tmp_path / "report.html")
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">', page)
    assert len(images) == page.count("<img")
    alts = [alt for alt, _ in images]
    # 7 curves, then per run: samples, value surface and weight histogram.
    assert len(images) == 7 + 2 * 3
    assert {"gp: Critic value surface", "clip: Critic weights", "gp: latest samples"} <= set(alts)
    for _, data in images:
        png_size(base64.b64decode(data))
    assert "critic_loss_heldout_batch" in page and "eval: W1" in page
    assert 'name = &quot;wgan-kit:clip&quot;' in page  # the config, escaped
    assert not re.search(r'(src|href)="(?!data:)', page) and "url(" not in page  # self-contained


def test_report_refuses_a_non_html_name_and_a_non_run(two_runs, tmp_path):
    wrong = runner.invoke(app, ["report", str(two_runs[0]), "--out", str(tmp_path / "r.png")])
    assert wrong.exit_code == 2 and "name it *.html" in wrong.output
    missing = runner.invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert missing.exit_code == 2 and "not a run folder" in missing.output


def test_report_of_one_run_needs_no_out_and_scores_it_as_eval_does(two_runs):
    # What a user saw: `report RUN` without --out was an error (a sweep got a default page), and
    # `report --eval` scored 1,000 samples where `eval` scored 2,500: W1 0.106 in one, 0.094 in
    # the other, for one run.
    run = two_runs[0]
    reported = runner.invoke(app, ["report", str(run)])
    assert reported.exit_code == 0, reported.output
    assert reported.stderr.strip() == f"wrote {run / 'report.html'}"
    assert "<h2>gp</h2>" in (run / "report.html").read_text(encoding="utf-8")
    several = runner.invoke(app, ["report", *map(str, two_runs)])
    assert several.exit_code == 2
    assert "error: --out: a page about several runs needs a name" in several.output

    commands = typer.main.get_command(app).commands
    defaults = {command: next(p.default for p in commands[command].params if p.name == "n")
                for command in ("eval", "report")}
    assert defaults == {"eval": EVAL_SAMPLES, "report": EVAL_SAMPLES} and EVAL_SAMPLES == 2500
    assert inspect.signature(evaluate).parameters["n"].default == EVAL_SAMPLES
    assert SweepTable.model_fields["eval_n"].default == EVAL_SAMPLES  # a sweep's eval metric

    # One scoring path: the same n gives the same number in both, and the page says which n.
    # (A small n here: 4 steps of training leave the generator collapsed, where the exact
    # matching of 2,500 points takes half a minute.)
    again = runner.invoke(app, ["report", str(run), "--eval", "--n", "300"])
    assert again.exit_code == 0, again.output
    page = (run / "report.html").read_text(encoding="utf-8")
    evaluated = runner.invoke(app, ["eval", str(run), "--json", "--n", "300"])
    assert evaluated.exit_code == 0, evaluated.output
    w1 = json.loads(evaluated.stdout)["metrics"]["w1"]
    assert f"<td>eval: W1</td><td>{w1:.4g}</td>" in page
    assert "scores on 300 generated samples" in page and "wgan-kit eval RUN --n 300" in page
    # The protocol travels with the scores: eval --json's record, on the page as it is.
    protocol = json.loads(evaluated.stdout)["protocol"]
    assert "<summary>eval protocol</summary>" in page
    assert html.escape(json.dumps(protocol, indent=2)) in page


CHECK = """<script>
window.addEventListener("load", () => {
  const widths = Array.from(document.images, image => image.complete ? image.naturalWidth : 0);
  document.body.setAttribute("data-image-widths", widths.join(","));
});
</script></body>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install -y chromium); "
                           "it is the browser that checks the report's images load")
def test_report_shows_every_image_in_a_browser(two_runs, tmp_path):
    page = write_report(two_runs, tmp_path / "report.html")
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", CHECK), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
             "--dump-dom", checked.as_uri()],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-image-widths="([^"]*)"', done.stdout)
    assert found, "the check script did not run: " + done.stdout[:500]
    widths = [int(w) for w in found.group(1).split(",")]
    assert len(widths) == page.count("<img") == 13
    assert all(w > 0 for w in widths), widths  # 0: a broken image
