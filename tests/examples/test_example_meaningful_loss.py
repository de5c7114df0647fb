"""examples/meaningful_loss.py (WGAN-GP Figure 5) end to end in its quick mode: the negative critic
loss beside the classifier FID along a WGAN-GP run, and the training and held-out critic losses
of two runs on 1,000 digits. Quick mode is far too small to show the paper's claims; this checks
that the script runs and writes sound numbers."""

from __future__ import annotations

import math


def test_meaningful_loss_quick_writes_curves_and_numbers(quick_example):
    out, numbers = quick_example("meaningful_loss")
    for name in ("results.md", "loss_and_fid.png", "overfitting.png"):
        assert (out / name).stat().st_size > 0
    curves = numbers["loss_vs_fid"]
    assert curves["steps"] == [2, 4]
    for key in ("negative_critic_loss", "wasserstein", "classifier_fid"):
        assert len(curves[key]) == 2 and all(math.isfinite(v) for v in curves[key])
    assert -1 <= curves["spearman_negative_loss_fid"] <= 1
    assert set(numbers["overfitting"]) == {"WGAN-GP", "WGAN, clipping"}
    for result in numbers["overfitting"].values():
        curve = result["curve"]
        assert curve["step"] == [2, 4]  # held-out losses every step, logged every 2
        assert all(math.isfinite(v) for v in curve["train"] + curve["heldout"])
        assert math.isfinite(result["gap_last_fifth"])
