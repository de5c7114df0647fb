"""How good a run's samples are: the standard numbers for the kind of data it generates.

- 2-D (any-D) points: the exact Wasserstein-1 distance between N generated and N held-out real
  points (the optimal assignment, SciPy's `linear_sum_assignment`), with the same distance between
  two real sets of N as the floor that finite samples leave. For a mixture of Gaussians (a source
  with `centres` (K, D) and `std`), the rule of the mode-collapse literature: a sample is
  *high-quality* when it lies within 3σ of its nearest centre, and a mode is *captured* when at
  least 20 high-quality samples per 2,500 (0.8 % of N) fall on it.
- sequences: the Jensen–Shannon divergence, in bits, between the character n-gram distributions
  (n = 1…4) of generated and held-out real lines — how the released code of WGAN-GP's language
  model (Section 5.5; `gan_language.py`, js1…js4) scores it — with the same divergence between two
  real sets as the baseline for scale.
- images: FID and KID (torchmetrics) on the features of a pluggable extractor, a component of kind
  "features": `inception` is the standard FID network; any other extractor's scores carry its
  label ("classifier FID"), since they are not comparable with published FIDs. An extractor with
  class `logits` also gives an Inception-style score and the classes covered: a class is covered
  when the extractor gives it at least a quarter of its fair share (1/K) of the samples.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.layers import validate_options
from ..core.protocols import FeatureExtractor, LabelledSource
from ..errors import WganKitError
from .defaults import EVAL_SAMPLES

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.protocols import DataSource
    from ..core.registry import Registry

HIGH_QUALITY_STDS = 3.0  # a sample within 3σ of its nearest centre is high-quality
CAPTURED_PER_2500 = 20  # a mode with ≥ 20 high-quality samples in 2,500 is captured
NGRAM_ORDERS = (1, 2, 3, 4)
FEATURE_BATCH = 64
COVERED_FAIR_SHARE = 0.25  # a class is covered with ≥ a quarter of its fair share of samples


@dataclass(frozen=True)
class Score:
    """One number: `key` for JSON, `name` for people, what it means, and its scale where papers
    print it scaled (KID, often ×10³)."""

    key: str
    name: str
    value: float
    note: str = ""
    scale: str = ""


# KID is printed as computed: the unbiased MMD² (polynomial kernel (x·y/d + 1)³), not ×10³.
KID_SCALE = "×1: the MMD² as computed, not ×10³ as papers often print KID"


@dataclass
class Evaluation:
    run: str
    step: int
    kind: str
    n: int
    scores: list[Score] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "step": self.step, "kind": self.kind, "n": self.n,
                "metrics": {s.key: s.value for s in self.scores},
                "notes": {s.key: s.note for s in self.scores if s.note},
                "scales": {s.key: s.scale for s in self.scores if s.scale}}

    def rows(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.scores]


# --- points -------------------------------------------------------------------------------------

def exact_w1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two equally large point sets: the mean distance of the optimal matching."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"exact W1 needs two non-empty sets of one size, got {len(a)} and {len(b)}")
    cost = cdist(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    rows, columns = linear_sum_assignment(cost)
    return float(cost[rows, columns].mean())


@dataclass(frozen=True)
class ModeCoverage:
    captured: int
    modes: int
    high_quality_share: float


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float) -> ModeCoverage:
    """Modes captured and the share of high-quality samples (the rule in the module docstring)."""
    samples, centres = np.asarray(samples, dtype=np.float64), np.asarray(centres, dtype=np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= HIGH_QUALITY_STDS * std
    per_mode = np.bincount(nearest[high_quality], minlength=len(centres))
    needed = CAPTURED_PER_2500 * len(samples) / 2500
    return ModeCoverage(int((per_mode >= needed).sum()), len(centres),
                        float(high_quality.mean()))


# --- sequences ----------------------------------------------------------------------------------

def ngram_counts(lines: list[str], n: int) -> Counter[str]:
    """Character n-grams within each line (none crosses a line's end)."""
    return Counter(line[i:i + n] for line in lines for i in range(len(line) - n + 1))


def ngram_jsd(generated: list[str], real: list[str], n: int) -> float:
    """Jensen–Shannon divergence in bits (0 … 1) between the n-gram distributions of two corpora."""
    from scipy.spatial.distance import jensenshannon

    p, q = ngram_counts(generated, n), ngram_counts(real, n)
    if not p or not q:
        return 1.0 if p or q else 0.0
    grams = sorted(p.keys() | q.keys())
    distance = jensenshannon([p[g] for g in grams], [q[g] for g in grams], base=2)
    return float(distance) ** 2  # SciPy returns the distance, the divergence's square root


# --- images -------------------------------------------------------------------------------------

class PrecomputedFeatures(nn.Module):
    """Hands torchmetrics features computed once, so that FID and KID share one pass of the
    (slow) extractor instead of each running it again."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


@torch.no_grad()
def extract(function: Any, images: Tensor) -> Tensor:
    """`function` (an extractor or its `logits`) over `images` in batches, as float64 on the CPU."""
    return torch.cat([function(images[i:i + FEATURE_BATCH]).double().cpu()
                      for i in range(0, len(images), FEATURE_BATCH)])


def image_scores(generated: Tensor, real: Tensor, extractor: FeatureExtractor, *,
                 seed: int = 0) -> list[Score]:
    """FID and KID (and, with class logits, an Inception-style score) of uint8 image batches."""
    # From the modules themselves: the package re-exports them only when torch-fidelity (the
    # default Inception network, downloaded at run time) is installed.
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    prefix = f"{extractor.label} " if extractor.label else ""
    key = prefix.strip().replace(" ", "_") + "_" if prefix else ""
    fake_features, real_features = extract(extractor, generated), extract(extractor, real)
    features = PrecomputedFeatures(extractor.num_features)
    subset = min(1000, len(generated) // 2, len(real) // 2)  # halves: subsets that differ
    logits = getattr(extractor, "logits", None)
    with warnings.catch_warnings():  # "will save all extracted features": intended here
        warnings.simplefilter("ignore", UserWarning)
        frechet = FrechetInceptionDistance(feature=features)
        kernel = KernelInceptionDistance(feature=features, subset_size=subset)
        inception_style = InceptionScore(feature=features, splits=min(10, len(generated)))
    for metric in (frechet, kernel):
        metric.update(real_features, real=True)
        metric.update(fake_features, real=False)
    with torch.random.fork_rng(devices=[]):  # KID and IS draw random subsets: repeatable
        torch.manual_seed(seed)
        kid_mean, kid_std = (float(v) for v in kernel.compute())
        scores = [Score(f"{key}fid", f"{prefix}FID", float(frechet.compute()),
                        f"Fréchet distance of {extractor.num_features}-d {prefix or 'Inception '}"
                        "features (lower is better)"),
                  Score(f"{key}kid", f"{prefix}KID", kid_mean,
                        f"kernel distance (MMD², cubic polynomial kernel) of the same features, "
                        f"± {kid_std:.2g} over 100 subsets of {subset}; scale {KID_SCALE} "
                        "(lower is better)", scale=KID_SCALE)]
        if logits is not None:
            class_logits = extract(logits, generated)
            inception_style.update(class_logits)
            covered, _ = classes_covered(class_logits)
            scores += [Score(f"{key}score", f"{prefix}score", float(inception_style.compute()[0]),
                             "exp E[KL(p(y|x) ‖ p(y))] of the classifier, Inception-Score "
                             "style; higher is better"),
                       Score(f"{key}classes", f"{prefix}classes covered", covered,
                             f"of {class_logits.shape[1]}: classes given ≥ a quarter of their "
                             "fair share of the samples")]
    return scores


def classes_covered(logits: Tensor) -> tuple[int, list[float]]:
    """How many classes get ≥ a quarter of their fair share of the samples whose class `logits`
    (N, K) are given, and each class's share."""
    shares = torch.bincount(logits.argmax(1), minlength=logits.shape[1]).double() / len(logits)
    covered = int((shares >= COVERED_FAIR_SHARE / logits.shape[1]).sum())
    return covered, [round(float(share), 4) for share in shares]


def as_channels_first(images: Any) -> Tensor:
    """`decode`'s uint8 (N, H, W, C) images as an (N, C, H, W) tensor."""
    return torch.as_tensor(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def cache_dir() -> Path:
    """Where trained feature extractors are kept: $WGAN_KIT_CACHE, else the user cache folder."""
    if os.environ.get("WGAN_KIT_CACHE"):
        return Path(os.environ["WGAN_KIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wgan-kit"


def feature_extractor(name: str | None, data: DataSource, registry: Registry,
                      options: Mapping[str, Any] | None = None) -> FeatureExtractor:
    """The extractor `name` with `options`, or by default `classifier` for a labelled source (a
    `LabelledSource` whose spec names num_classes) and `inception` for any other."""
    if name is None:
        labelled = isinstance(data, LabelledSource) and data.spec.num_classes
        name = "classifier" if labelled else "inception"
    try:
        component = registry.get("features", name)
    except WganKitError as exc:
        raise WganKitError([f"--features: {p}" for p in exc.problems]) from None
    problems: list[str] = []
    validated = validate_options(component.options, dict(options or {}), "features", name,
                                 problems)
    if problems:
        raise WganKitError(problems)
    return component.factory(validated, data)


# --- a run --------------------------------------------------------------------------------------

def evaluate(trainer: Engine, n: int = EVAL_SAMPLES, *, seed: int = 0, features: str | None = None,
             feature_options: Mapping[str, Any] | None = None, registry: Registry | None = None,
             run: str = "", extractor: FeatureExtractor | None = None) -> Evaluation:
    """The scores that fit the run's data kind, on n generated samples (latent seed `seed`);
    for images, through the feature extractor `features` with `feature_options` (or `extractor`,
    one already built)."""
    data, kind = trainer.parts.data, trainer.parts.data.spec.kind
    if kind not in ("points", "sequence", "image"):
        raise WganKitError(f"eval: no metrics for samples of kind {kind!r}; "
                           "known kinds: points, sequence, image")
    real_count = n if kind == "image" else 2 * n  # two real sets: one for the baseline
    real = data.decode(data.held_out(real_count, device=trainer.device))
    n = min(n, len(real) if kind == "image" else len(real) // 2)
    if n < 2:
        raise WganKitError(f"eval: the data source has {len(real)} held-out samples; "
                           "at least 2 (4 for points and text) are needed")
    latent = torch.randn(n, trainer.generator.latent_dim,
                         generator=torch.Generator().manual_seed(seed)).to(trainer.device)
    generated = data.decode(trainer.sample(n, latent=latent))
    result = Evaluation(run, trainer.step, kind, n)
    if kind == "points":
        result.scores = point_scores(np.asarray(generated), np.asarray(real), data)
    elif kind == "sequence":
        result.scores = sequence_scores(list(generated), list(real)[:2 * n])
    else:
        from ..core.registry import load_registry

        extractor = extractor or feature_extractor(features, data, registry or load_registry(),
                                                   feature_options)
        result.scores = image_scores(as_channels_first(generated), as_channels_first(real[:n]),
                                     extractor, seed=seed)
    return result


def point_scores(generated: np.ndarray, real: np.ndarray, data: Any) -> list[Score]:
    n = len(generated)
    first, second = real[:n], real[n:2 * n]
    scores = [Score("w1", "W1", exact_w1(generated, first),
                    f"exact Wasserstein-1, {n} generated vs {n} held-out real points"),
              Score("w1_real_baseline", "W1 real vs real", exact_w1(second, first),
                    "the same between two real sets: the floor for this n")]
    centres, std = getattr(data, "centres", None), getattr(data, "std", None)
    if centres is not None and std is not None:
        coverage = mode_coverage(generated, np.asarray(centres), float(std))
        needed = CAPTURED_PER_2500 * n / 2500
        scores += [Score("modes_captured", "modes captured", coverage.captured,
                         f"of {coverage.modes}; a mode needs ≥ {needed:g} high-quality samples "
                         f"(20 per 2,500)"),
                   Score("high_quality_share", "high-quality share", coverage.high_quality_share,
                         f"samples within {HIGH_QUALITY_STDS:g}σ of their nearest centre")]
    return scores


def sequence_scores(generated: list[str], real: list[str]) -> list[Score]:
    n = len(generated)
    first, second = real[:n], real[n:2 * n]
    scores = []
    for order in NGRAM_ORDERS:
        scores += [Score(f"js{order}", f"JS {order}-gram", ngram_jsd(generated, first, order),
                         f"bits; {n} generated vs {n} held-out real lines"),
                   Score(f"js{order}_real_baseline", f"JS {order}-gram real vs real",
                         ngram_jsd(second, first, order), "bits; two real sets, for scale")]
    return scores
