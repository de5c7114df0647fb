"""examples/gradient_norms.py (WGAN-GP Figure 1b) runs end to end in quick mode and writes its
figure and a finite gradient norm for each of the critic's 12 layers in each of the four runs."""

from __future__ import annotations

import math


def test_quick_run_writes_the_figure_and_the_numbers(quick_example):
    out, numbers = quick_example("gradient_norms")
    assert (out / "gradient_norms.png").stat().st_size > 10_000
    assert "| clip c=0.001 |" in (out / "results.md").read_text()
    runs = numbers["runs"]
    assert list(runs) == ["clip c=0.1", "clip c=0.01", "clip c=0.001", "gp"]
    for name, result in runs.items():
        norms = result["layer_gradient_norms"]
        assert len(norms) == 12 and all(0 < norm < math.inf for norm in norms), name
        assert math.isfinite(result["slope_per_layer"]), name
    # Clipping keeps every weight within ±c; the float64 measurement resolves even c = 0.001's
    # norms, which go from ~1e-3 at the last layer to far below float32's range at the first.
    for c in (0.1, 0.01, 0.001):
        assert runs[f"clip c={c:g}"]["max_abs_weight"] <= c * (1 + 1e-6)
    assert runs["clip c=0.001"]["layer_gradient_norms"][0] < 1e-20
