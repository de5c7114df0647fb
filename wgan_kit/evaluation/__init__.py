"""Judging runs: scores that fit the data (`evaluate`), HTML reports, sample pictures and the speed
benchmark. The scoring API is importable from here, as `wgan_kit.evaluation.evaluate`."""

from .scores import (
    NGRAM_ORDERS,
    Evaluation,
    Score,
    as_channels_first,
    cache_dir,
    classes_covered,
    evaluate,
    exact_w1,
    feature_extractor,
    image_scores,
    mode_coverage,
)

__all__ = ["NGRAM_ORDERS", "Evaluation", "Score", "as_channels_first", "cache_dir",
           "classes_covered", "evaluate", "exact_w1", "feature_extractor", "image_scores",
           "mode_coverage"]
