"""Judging runs: scores that fit the data (`evaluate`), HTML reports, sample pictures, a run's
samples drawn to a file (`sampling.sample_to`, also `wgan_kit.sample_to`), a look at a data source
(`preview.preview_data`) and the speed benchmark (`benchmark.bench_composition`). The scoring API is
importable from here, as `wgan_kit.evaluation.evaluate`; it loads (and torch with it) on first
use, so that the command line reads `EVAL_SAMPLES`, the one default sample count, without torch."""

from __future__ import annotations

from typing import Any

from .defaults import EVAL_SAMPLES

SCORING = ("NGRAM_ORDERS", "Evaluation", "Protocol", "Score", "as_channels_first", "cache_dir",
           "classes_covered", "evaluate", "exact_w1", "feature_extractor", "frechet_distance",
           "image_scores", "load_real_stats", "mode_coverage", "save_real_stats")

__all__ = ["EVAL_SAMPLES", *SCORING]


def __getattr__(name: str) -> Any:
    if name in SCORING:
        from . import scores

        return getattr(scores, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
