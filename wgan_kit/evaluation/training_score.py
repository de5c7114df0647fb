"""Scoring a run while it trains (`run.eval_every`): the scorer the launch path hands the engine
(`wgan_kit.core.protocols.Scorer`), which keeps best.safetensors by it.

One headline number per kind of data, lower being better for each: the exact W1 on points, the
4-gram Jensen–Shannon divergence on text, FID on images (classifier FID on labelled images,
Inception FID otherwise), each on `run.eval_samples` generated samples from fixed latent points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.protocols import FeatureExtractor, RunScore
from .scores import evaluate, feature_extractor

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.registry import Registry

HEADLINE = {"points": "w1", "sequence": "js4"}  # images: the extractor's FID


@dataclass
class TrainingScorer:
    """`evaluate`'s headline score of a run, as `eval_<key>` (`eval_w1`, `eval_classifier_fid`),
    on `n` samples from latent seed `seed`, through `extractor` for images (built once)."""

    n: int
    seed: int = 0
    extractor: FeatureExtractor | None = None

    @property
    def key(self) -> str:
        return "fid" if not self.extractor or not self.extractor.label else (
            f"{self.extractor.label.replace(' ', '_')}_fid")

    def __call__(self, run: Any, /) -> RunScore:
        result = evaluate(run, self.n, seed=self.seed, extractor=self.extractor)
        key = HEADLINE.get(result.kind, self.key)
        value = next(score.value for score in result.scores if score.key == key)
        return RunScore(f"eval_{key}", value, lower_is_better=True)


def training_scorer(engine: Engine, registry: Registry | None = None) -> TrainingScorer:
    """The scorer of `engine`'s run (its plugins' features from `registry`, default: those
    installed), its image features (if any) built now, so that a missing extractor (FID's
    Inception weights) refuses the run before anything is written. Its latent seed is eval's
    default, so `wgan-kit eval --best --n <run.eval_samples>` repeats the best score."""
    data = engine.parts.data
    extractor = None
    if data.spec.kind == "image":
        from ..core.registry import load_registry

        extractor = feature_extractor(None, data, registry or load_registry())
    return TrainingScorer(engine.run.eval_samples, extractor=extractor)
