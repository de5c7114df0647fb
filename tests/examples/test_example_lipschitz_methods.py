"""examples/lipschitz_methods.py end to end in its quick mode: every new constraint with its
natural objective on 8 Gaussians, 25 Gaussians and the 8×8 digits. Quick mode's numbers mean
nothing; this checks that the script runs and writes sound numbers for every cell."""

from __future__ import annotations

import math


def test_lipschitz_methods_quick_writes_a_table_and_samples(quick_example):
    out, numbers = quick_example("lipschitz_methods")
    for name in ("results.md", "samples.png"):
        assert (out / name).stat().st_size > 0
    assert len(numbers["methods"]) == 11  # 9 methods, wgan-lp perturbed and lazy r1
    for method in numbers["methods"].values():
        results = method["results"]
        assert set(results) == {"8gaussians", "25gaussians", "digits"}
        for data, result in results.items():
            assert result["seconds_per_step"] > 0
            keys = ("classifier_fid", "classes_covered") if data == "digits" else \
                ("w1", "modes_captured")
            assert all(math.isfinite(result[k]) and result[k] >= 0 for k in keys), result
    table = (out / "results.md").read_text()
    assert "| WGAN-GP | `gp` + `wgan` |" in table
    assert "| R1, lazy (k = 16) | `r1` `every=16` + `gan` |" in table
