"""examples/clip_vs_gp.py (WGAN-GP Figure 3) end to end in its quick mode: four short MNIST runs
taking turns, each scored by classifier FID between segments. Quick mode is far too small to show
the paper's claim; this checks that the script runs and writes sound numbers."""

from __future__ import annotations

import math

import torch


def test_clip_vs_gp_quick_writes_curves_and_numbers(quick_example):
    out, numbers = quick_example("clip_vs_gp")
    for name in ("results.md", "fid_curves.png", "samples.png"):
        assert (out / name).stat().st_size > 0
    assert len(numbers["methods"]) == 4
    for result in numbers["methods"].values():
        curve = result["curve"]
        assert curve["step"] == [0, 2, 4]
        assert all(math.isfinite(f) and f >= 0 for f in curve["fid"])
        assert curve["seconds"][0] == 0 and curve["seconds"] == sorted(curve["seconds"])
        assert result["training_seconds"] > 0
        assert result["final_fid"] == curve["fid"][-1] and result["best_fid"] <= curve["fid"][-1]


def test_training_in_segments_by_raising_run_steps_ends_with_the_weights_of_one_run(tiny_trainer):
    """What the Figure 3 and Figure 5 scripts rely on to score a run between segments."""
    whole = tiny_trainer(steps=6, seed=3)
    whole.train()
    segmented = tiny_trainer(steps=2, seed=3)
    for steps in (2, 4, 6):
        segmented.run.steps = steps
        segmented.train()
        segmented.sample(8)  # scoring in between draws samples: it must not disturb training
    for net in ("generator", "critic"):
        for ours, theirs in zip(getattr(whole, net).state_dict().values(),
                                getattr(segmented, net).state_dict().values()):
            assert torch.equal(ours, theirs)
