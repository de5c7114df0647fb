"""examples/language_model.py runs end to end in quick mode and writes sane numbers (the quick
run is far too small to show the paper's claim; the full run in docs/reproduction does that)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "examples" / "language_model.py"


def test_quick_mode_writes_curves_samples_and_figure(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--threads", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "js_curves.png").stat().st_size > 0
    assert "WGAN-GP samples" in (tmp_path / "results.md").read_text()
    numbers = json.loads((tmp_path / "results.json").read_text())
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
