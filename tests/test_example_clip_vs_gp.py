"""examples/clip_vs_gp.py (WGAN-GP Figure 3) end to end in its quick mode: four short MNIST runs
taking turns, each scored by classifier FID between segments. Quick mode is far too small to show
the paper's claim; this checks that the script runs and writes sound numbers."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "examples" / "clip_vs_gp.py"


def test_clip_vs_gp_quick_writes_curves_and_numbers(tmp_path):
    environment = {**os.environ, "WGAN_KIT_CACHE": str(tmp_path / "cache")}
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--threads", "1",
                    "--out", str(tmp_path)], check=True, env=environment, timeout=300)
    for name in ("results.md", "fid_curves.png", "samples.png"):
        assert (tmp_path / name).stat().st_size > 0
    numbers = json.loads((tmp_path / "results.json").read_text())
    assert len(numbers["methods"]) == 4
    for result in numbers["methods"].values():
        curve = result["curve"]
        assert curve["step"] == [0, 2, 4]
        assert all(math.isfinite(f) and f >= 0 for f in curve["fid"])
        assert curve["seconds"][0] == 0 and curve["seconds"] == sorted(curve["seconds"])
        assert result["training_seconds"] > 0
        assert result["final_fid"] == curve["fid"][-1] and result["best_fid"] <= curve["fid"][-1]
