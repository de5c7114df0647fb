"""examples/random_architectures.py runs end to end in quick mode and writes a consistent Table 2
(the quick run is far too small to show the paper's claim; docs/reproduction has the full run)."""

from __future__ import annotations

import math


def test_quick_mode_writes_scores_and_outcome_counts(quick_example):
    out, numbers = quick_example("random_architectures")
    for figure in ("scores.png", "samples.png"):
        assert (out / figure).stat().st_size > 0
    assert numbers["n_architectures"] == len(numbers["architectures"]) == 2
    assert 1 <= numbers["real"]["classifier_score"] <= 10
    for architecture in numbers["architectures"]:
        assert set(architecture["runs"]) == {"GAN", "WGAN-GP"}
        for run in architecture["runs"].values():
            assert 1 - 1e-6 <= run["score"] <= 10
            assert run["diverged"] is not None or math.isfinite(run["fid"])
    # Every architecture lands in exactly one outcome at each threshold, which rise with it.
    rows = numbers["thresholds"]
    assert all(r["only_gan"] + r["only_wgan_gp"] + r["both"] + r["neither"] == 2 for r in rows)
    assert [r["threshold"] for r in rows] == sorted(r["threshold"] for r in rows)
