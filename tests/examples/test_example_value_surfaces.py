"""examples/value_surfaces.py (WGAN-GP Figure 1a) runs end to end in quick mode and writes its
figure and finite, in-range numbers for all six critics."""

from __future__ import annotations

import math


def test_quick_run_writes_the_figure_and_the_numbers(quick_example):
    out, numbers = quick_example("value_surfaces")
    assert (out / "value_surfaces.png").stat().st_size > 10_000
    assert "| swissroll | gradient penalty |" in (out / "results.md").read_text()
    critics = numbers["critics"]
    assert sorted(critics) == sorted(f"{data}/{constraint}" for constraint in ("clip", "gp")
                                     for data in ("8gaussians", "25gaussians", "swissroll"))
    for name, result in critics.items():
        assert all(math.isfinite(value) for value in result.values()), name
        assert result["exact_w1"] > 0 and result["max_grad_norm"] > 0, name
        assert result["quadratic_r2"] <= 1, name
        assert 0 < result["share_at_extremes"] <= 1, name
    # Clipping at c = 0.01 leaves every parameter at ±0.01 after the first steps, and its critic's
    # slope far below 1; the penalty keeps the slope near 1 even after a few steps.
    for data in ("8gaussians", "25gaussians", "swissroll"):
        assert critics[f"{data}/clip"]["share_at_extremes"] > 0.5
        assert critics[f"{data}/clip"]["max_grad_norm"] < 0.1
        assert 0.3 < critics[f"{data}/gp"]["mean_grad_norm_at_points"] < 3
