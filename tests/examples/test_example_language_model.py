"""examples/language_model.py runs end to end in quick mode and writes sane numbers (the quick
run is far too small to show the paper's claim; the full run in docs/reproduction does that)."""

from __future__ import annotations

import math


def test_quick_mode_writes_curves_samples_and_figure(quick_example):
    out, numbers = quick_example("language_model")
    assert (out / "js_curves.png").stat().st_size > 0
    assert "WGAN-GP samples" in (out / "results.md").read_text()
    assert set(numbers["curves"]) == {"WGAN-GP", "standard GAN"}
    for points in numbers["curves"].values():
        assert [p["step"] for p in points] == [3, 6]
        for point in points:
            for n in (1, 2, 3, 4):
                assert 0 <= point[f"js{n}"] <= 1 and math.isfinite(point[f"js{n}"])
                assert 0 <= point[f"js{n}_real_baseline"] <= 1
    # Real lines share their letters: the unigram divergence between two real sets is small.
    assert numbers["real_baseline"]["js1"] < 0.1
    for by_step in numbers["samples"].values():
        assert all(len(lines) == 10 and all(len(line) <= 32 for line in lines)
                   for lines in by_step.values())
