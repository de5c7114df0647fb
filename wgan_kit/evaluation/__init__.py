"""Judging runs: scores that fit the data (`evaluate`), HTML reports, sample pictures, a run's
samples drawn to a file (`sampling.sample_to`, also `wgan_kit.sample_to`), a look at a data source
(`preview.preview_data`) and the speed benchmark (`benchmark.bench_composition`). The scoring API is
importable from here, as `wgan_kit.evaluation.evaluate`."""

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
