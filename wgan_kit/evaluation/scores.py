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
  label ("classifier FID"), since they are not comparable with published FIDs. The standard
  network with class logits (its published weights) also gives the Inception Score, mean ± std
  over 10 splits (`inception_score`). Any other extractor with class logits gives an
  Inception-style score and the classes covered: a class is covered when the extractor gives it
  at least a quarter of its fair share (1/K) of the samples.
- images and points: precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem
  et al. 2020) with k = 3 nearest neighbours (`manifold.py`), on the same features as FID (images)
  or on the points themselves.

Every `Evaluation` carries its `Protocol`: the features network and the SHA-256 that identifies
it, the input resize, the numbers of generated and real samples, which real split, the library
that computed each score and the seed: what a reader needs to compare a number with a paper's. For
images, `save_real_stats` writes the mean and covariance of real features in the format pytorch-fid
and clean-fid use (an .npz with `mu` and `sigma`), and `evaluate(..., real_stats=FILE)` adds the
FID of the generated features against such a file.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import Counter
from collections.abc import Mapping
from importlib import metadata
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
from .manifold import NEAREST_K, manifold_scores

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.protocols import DataSource
    from ..core.registry import Registry

HIGH_QUALITY_STDS = 3.0  # a sample within 3σ of its nearest centre is high-quality
CAPTURED_PER_2500 = 20  # a mode with ≥ 20 high-quality samples in 2,500 is captured
NGRAM_ORDERS = (1, 2, 3, 4)
FEATURE_BATCH = 64
COVERED_FAIR_SHARE = 0.25  # a class is covered with ≥ a quarter of its fair share of samples
IS_SPLITS = 10  # the Inception Score's splits (Salimans et al. 2016's code; WGAN-GP's)


@dataclass(frozen=True)
class Score:
    """One number: `key` for JSON, `name` for people, what it means, and its scale where papers
    print it scaled (KID, often ×10³)."""

    key: str
    name: str
    value: float
    note: str = ""
    scale: str = ""
    library: str = ""  # what computed it, with its version: "torchmetrics 1.9.0"


# KID is printed as computed: the unbiased MMD² (polynomial kernel (x·y/d + 1)³), not ×10³.
KID_SCALE = "×1: the MMD² as computed, not ×10³ as papers often print KID"


def library(name: str) -> str:
    """A distribution's name with its installed version: "scipy 1.17.1"."""
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Protocol:
    """How the scores were taken: the features (images: the extractor's name, the SHA-256 that
    identifies its weights and what was hashed, how inputs were resized), how many generated and
    real samples, which real split, the latent seed, and with `real_stats` the statistics file
    (its path, SHA-256 and what it records of itself). Each score's library is on the `Score`."""

    generated: int
    real: int
    real_split: str
    seed: int
    features: str | None = None
    features_sha256: str | None = None
    features_sha256_of: str | None = None
    resize: str | None = None
    real_stats: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        """The protocol for people, a line per fact."""
        lines = [f"samples: {self.generated} generated (latent seed {self.seed}) vs {self.real} "
                 f"real from the {self.real_split} split"]
        if self.features:
            lines += [f"features: {self.features}, sha256 {self.features_sha256 or 'unknown'}"
                      + (f" (of {self.features_sha256_of})" if self.features_sha256_of else ""),
                      f"input resize: {self.resize or 'unknown'}"]
        if self.real_stats:
            lines.append("real statistics: " + ", ".join(f"{k} {v}"
                                                         for k, v in self.real_stats.items()))
        return lines


@dataclass
class Evaluation:
    run: str
    step: int
    kind: str
    n: int
    scores: list[Score] = field(default_factory=list)
    protocol: Protocol | None = None

    def to_json(self) -> dict[str, Any]:
        protocol = asdict(self.protocol) if self.protocol else {}
        return {"run": self.run, "step": self.step, "kind": self.kind, "n": self.n,
                "metrics": {s.key: s.value for s in self.scores},
                "notes": {s.key: s.note for s in self.scores if s.note},
                "scales": {s.key: s.scale for s in self.scores if s.scale},
                "protocol": {**protocol,
                             "libraries": {s.key: s.library for s in self.scores}}}

    def protocol_lines(self) -> list[str]:
        """The protocol block printed under the table: the record, then who computed what."""
        libraries: dict[str, list[str]] = {}
        for score in self.scores:
            libraries.setdefault(score.library or "unknown", []).append(score.key)
        return [*(self.protocol.lines() if self.protocol else []),
                *(f"computed by {name}: {', '.join(keys)}" for name, keys in libraries.items())]

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
    """FID and KID, and with class logits the Inception Score (the standard network's) or an
    Inception-style score (any other's), of uint8 image batches."""
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
    logits = logits_of(extractor, generated, fake_features)
    with warnings.catch_warnings():  # "will save all extracted features": intended here
        warnings.simplefilter("ignore", UserWarning)
        frechet = FrechetInceptionDistance(feature=features)
        kernel = KernelInceptionDistance(feature=features, subset_size=subset)
        inception_style = InceptionScore(feature=features, splits=min(IS_SPLITS, len(generated)))
    torchmetrics = library("torchmetrics")
    for metric in (frechet, kernel):
        metric.update(real_features, real=True)
        metric.update(fake_features, real=False)
    # KID and the classifier score draw random subsets: repeatable. (The Inception Score draws
    # on a stream of its own, `inception_score`; the classifier score keeps the one its published
    # figures were taken with.)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kid_mean, kid_std = (float(v) for v in kernel.compute())
        scores = [Score(f"{key}fid", f"{prefix}FID", float(frechet.compute()),
                        f"Fréchet distance of {extractor.num_features}-d {prefix or 'Inception '}"
                        "features (lower is better)", library=torchmetrics),
                  Score(f"{key}kid", f"{prefix}KID", kid_mean,
                        f"kernel distance (MMD², cubic polynomial kernel) of the same features, "
                        f"± {kid_std:.2g} over 100 subsets of {subset}; scale {KID_SCALE} "
                        "(lower is better)", scale=KID_SCALE, library=torchmetrics)]
        if logits is not None and extractor.label:
            inception_style.update(logits)
            covered, _ = classes_covered(logits)
            scores += [Score(f"{key}score", f"{prefix}score", float(inception_style.compute()[0]),
                             "exp E[KL(p(y|x) ‖ p(y))] of the classifier, Inception-Score "
                             "style; higher is better", library=torchmetrics),
                       Score(f"{key}classes", f"{prefix}classes covered", covered,
                             f"of {logits.shape[1]}: classes given ≥ a quarter of their "
                             "fair share of the samples", library=library("wgan-kit"))]
    if logits is not None and not extractor.label:  # the standard network's classes
        scores += inception_score(logits, seed=seed)
    return scores + manifold(real_features.numpy(), fake_features.numpy(), key, prefix,
                             f"{extractor.num_features}-d {prefix or 'Inception '}features")


def logits_of(extractor: FeatureExtractor, images: Tensor, features: Tensor) -> Tensor | None:
    """The class logits of `images` (float64): the extractor's `head` of their `features` (no
    second pass of its network), else its `logits` of the images, else None (it has neither)."""
    head, logits = getattr(extractor, "head", None), getattr(extractor, "logits", None)
    if head is not None:
        with torch.no_grad():
            return head(features.float()).double()
    return None if logits is None else extract(logits, images)


def inception_score(logits: Tensor, *, seed: int = 0) -> list[Score]:
    """The Inception Score of class `logits` (N, K) as papers print it (Salimans et al. 2016;
    WGAN-GP Table 3): exp E[KL(p(y|x) ‖ p(y))] in each of 10 splits of the samples, the mean ±
    the standard deviation over the splits. torchmetrics computes it, shuffling the samples
    before it splits them (on a stream of its own seeded by `seed`: the same logits, the same
    score); its ddof-1 standard deviation is turned into the ddof 0 (numpy's `std`) that the
    score's own code and torch-fidelity print."""
    from torchmetrics.image.inception import InceptionScore

    splits = min(IS_SPLITS, len(logits))
    with warnings.catch_warnings():  # "will save all extracted features": intended here
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=PrecomputedFeatures(logits.shape[1]), splits=splits)
    metric.update(logits)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, sample_std = (float(v) for v in metric.compute())
    used = len(logits.chunk(splits))  # torch.chunk may make fewer splits than asked
    std = sample_std * ((used - 1) / used) ** 0.5 if used > 1 else 0.0
    computed_by = library("torchmetrics")
    return [Score("is", "IS", mean,
                  f"Inception Score: exp E[KL(p(y|x) ‖ p(y))] over {logits.shape[1]} classes, "
                  f"mean of {used} splits of {len(logits)} samples ± {std:.3g} (Salimans et al. "
                  "2016; higher is better)", library=computed_by),
            Score("is_std", "IS std", std,
                  f"standard deviation of the {used} splits' Inception Scores (ddof 0, as the "
                  "score's own code prints it)", library=computed_by)]


def manifold(real: np.ndarray, generated: np.ndarray, key: str = "", prefix: str = "",
             space: str = "the plane") -> list[Score]:
    """Precision, recall, density and coverage (k = 3) of `generated` against `real`, in `space`."""
    result = manifold_scores(real, generated)
    where = f"k = {NEAREST_K} nearest neighbours in {space}"
    made = library("wgan-kit")
    return [Score(f"{key}precision", f"{prefix}precision", result.precision,
                  f"share of generated samples inside the real k-NN manifold ({where}; "
                  "Kynkäänniemi et al. 2019; higher is better)", library=made),
            Score(f"{key}recall", f"{prefix}recall", result.recall,
                  f"share of real samples inside the generated k-NN manifold ({where}; "
                  "Kynkäänniemi et al. 2019; higher is better)", library=made),
            Score(f"{key}density", f"{prefix}density", result.density,
                  f"real k-NN balls around each generated sample, over k ({where}; Naeem et al. "
                  "2020): 1 expected when the sets match, above 1 when samples crowd",
                  library=made),
            Score(f"{key}coverage", f"{prefix}coverage", result.coverage,
                  f"share of real samples whose k-NN ball holds a generated one ({where}; Naeem "
                  f"et al. 2020): {1 - 0.5 ** NEAREST_K:g} expected when the sets match",
                  library=made)]


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


def features_name(name: str | None, data: DataSource) -> str:
    """`name`, or by default `classifier` for a labelled source (a `LabelledSource` whose spec
    names num_classes) and `inception` for any other."""
    if name is not None:
        return name
    labelled = isinstance(data, LabelledSource) and data.spec.num_classes
    return "classifier" if labelled else "inception"


def feature_extractor(name: str | None, data: DataSource, registry: Registry,
                      options: Mapping[str, Any] | None = None) -> FeatureExtractor:
    """The extractor `name` with `options`, or by default `features_name(None, data)`."""
    try:
        component = registry.get("features", features_name(name, data))
    except WganKitError as exc:
        raise WganKitError([f"--features: {p}" for p in exc.problems]) from None
    problems: list[str] = []
    validated = validate_options(component.options, dict(options or {}), "features", name,
                                 problems)
    if problems:
        raise WganKitError(problems)
    return component.factory(validated, data)


# --- a run --------------------------------------------------------------------------------------

def evaluate(trainer: Engine, n: int = EVAL_SAMPLES, *, seed: int = 0,
             features: str | None = None, feature_options: Mapping[str, Any] | None = None,
             registry: Registry | None = None,
             run: str = "", real_stats: Path | None = None,
             extractor: FeatureExtractor | None = None) -> Evaluation:
    """The scores that fit the run's data kind, on n generated samples (latent seed `seed`);
    for images, through the feature extractor `features` with `feature_options` (or `extractor`,
    one already built), and with `real_stats` (an .npz of `mu` and `sigma`) the FID against those
    statistics too."""
    data, kind = trainer.parts.data, trainer.parts.data.spec.kind
    if kind not in ("points", "sequence", "image"):
        raise WganKitError(f"eval: no metrics for samples of kind {kind!r}; "
                           "known kinds: points, sequence, image")
    if real_stats is not None and kind != "image":
        raise WganKitError(f"--real-stats: statistics of features score images; this run "
                           f"generates {kind}")
    real_count = n if kind == "image" else 2 * n  # two real sets: one for the baseline
    real = data.decode(data.held_out(real_count, device=trainer.device))
    n = min(n, len(real) if kind == "image" else len(real) // 2)
    if n < 2 or (kind != "sequence" and n <= NEAREST_K):
        raise WganKitError(f"eval: the data source has {len(real)} held-out samples; at least "
                           f"{NEAREST_K + 1} ({2 * NEAREST_K + 2} for points, 4 for text) are "
                           "needed")
    latent = torch.randn(n, trainer.generator.latent_dim,
                         generator=torch.Generator().manual_seed(seed)).to(trainer.device)
    generated = data.decode(trainer.sample(n, latent=latent))
    result = Evaluation(run, trainer.step, kind, n)
    result.protocol = Protocol(generated=n, real=n, real_split="held-out", seed=seed)
    if kind == "points":
        result.scores = point_scores(np.asarray(generated), np.asarray(real), data)
    elif kind == "sequence":
        result.scores = sequence_scores(list(generated), list(real)[:2 * n])
    else:
        from ..core.registry import load_registry

        name = features_name(features, data)
        extractor = extractor or feature_extractor(name, data, registry or load_registry(),
                                                   feature_options)
        generated = as_channels_first(generated)
        result.scores = image_scores(generated, as_channels_first(real[:n]), extractor, seed=seed)
        result.protocol = Protocol(n, n, "held-out", seed, name, *identity(extractor))
        if real_stats is not None:
            score, record = fid_against_stats(generated, extractor, real_stats)
            result.scores.append(score)
            result.protocol = Protocol(n, n, "held-out", seed, name, *identity(extractor),
                                       real_stats=record)
    return result


def identity(extractor: FeatureExtractor) -> tuple[str | None, str | None, str | None]:
    """What an extractor says of itself, where it does: the SHA-256 that identifies its weights,
    what was hashed, and how it resizes its input."""
    return (getattr(extractor, "sha256", None), getattr(extractor, "sha256_of", None),
            getattr(extractor, "resize", None))


# --- statistics files (pytorch-fid, clean-fid) --------------------------------------------------

def feature_statistics(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and covariance (rows are samples) of features, in float64."""
    array = np.asarray(features, dtype=np.float64)
    return array.mean(0), np.cov(array, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½): FID, computed as pytorch-fid computes it (SciPy's
    `sqrtm`, a small offset on the diagonals when the product is near singular)."""
    from scipy import linalg

    with warnings.catch_warnings():  # "singular matrix": the offset below is the answer
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * 1e-6
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    difference = mu1 - mu2
    return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.trace(covmean))


def load_real_stats(path: Path, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """`mu` and `sigma` from an .npz as pytorch-fid and clean-fid write it, checked against the
    extractor's `dimension`; a file that is not one is refused in one line."""
    if not Path(path).is_file():
        raise WganKitError(f"--real-stats {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as stats:
            missing = [key for key in ("mu", "sigma") if key not in stats.files]
            if missing:
                raise WganKitError(f"--real-stats {path}: no {' or '.join(missing)} in the file "
                                   f"(it has {', '.join(stats.files) or 'nothing'}); it needs the "
                                   "mean 'mu' and covariance 'sigma' of real features, as "
                                   "pytorch-fid and clean-fid write them")
            mu, sigma = np.asarray(stats["mu"], np.float64), np.asarray(stats["sigma"], np.float64)
    except (OSError, ValueError, EOFError):
        raise WganKitError(f"--real-stats {path}: not an .npz file of arrays (numpy.savez's "
                           "format, which pytorch-fid and clean-fid write)") from None
    if mu.shape != (dimension,) or sigma.shape != (dimension, dimension):
        raise WganKitError(f"--real-stats {path}: mu {mu.shape} and sigma {sigma.shape} do not "
                           f"fit the {dimension}-d features chosen; pick the features the file "
                           "was made with (--features)")
    return mu, sigma


def fid_against_stats(generated: Tensor, extractor: FeatureExtractor,
                      path: Path) -> tuple[Score, dict[str, Any]]:
    """FID of `generated` images' features against the statistics in `path`, and the protocol's
    record of that file."""
    mu, sigma = load_real_stats(path, extractor.num_features)
    value = frechet_distance(*feature_statistics(extract(extractor, generated)), mu, sigma)
    prefix = f"{extractor.label} " if extractor.label else ""
    key = prefix.strip().replace(" ", "_") + "_" if prefix else ""
    record: dict[str, Any] = {"path": str(path), "sha256": file_sha256(path)}
    with np.load(path, allow_pickle=False) as stats:  # what save_real_stats records, if it did
        record.update({entry: stats[entry].item() for entry in ("features", "samples",
                                                                 "real_split")
                       if entry in stats.files})
    return Score(f"{key}fid_stats", f"{prefix}FID vs stats", value,
                 f"FID of the generated features against the mean and covariance in {path.name} "
                 "(lower is better)", library=library("scipy")), record


def save_real_stats(data: DataSource, path: Path, n: int = EVAL_SAMPLES, *,
                    features: str | None = None, feature_options: Mapping[str, Any] | None = None,
                    registry: Registry | None = None) -> Path:
    """Writes the mean and covariance of `n` held-out real samples' features to `path` (.npz with
    `mu` and `sigma`, as pytorch-fid and clean-fid; also `features`, `sha256`, `samples` and
    `real_split`, which those tools ignore). Returns the path."""
    from ..core.registry import load_registry

    if data.spec.kind != "image":
        raise WganKitError(f"--save-stats: statistics of features are for images; this data "
                           f"source gives {data.spec.kind}")
    if path.suffix != ".npz":
        raise WganKitError(f"--save-stats {path}: name the file *.npz (the format pytorch-fid and "
                           "clean-fid read)")
    name = features_name(features, data)
    extractor = feature_extractor(name, data, registry or load_registry(), feature_options)
    real = data.decode(data.held_out(n, device=torch.device("cpu")))
    if len(real) < 2:
        raise WganKitError(f"--save-stats: the data source has {len(real)} held-out samples; "
                           "a covariance needs at least 2")
    mu, sigma = feature_statistics(extract(extractor, as_channels_first(real)))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mu=mu, sigma=sigma, features=name,
             sha256=identity(extractor)[0] or "", samples=len(real), real_split="held-out")
    return path


def point_scores(generated: np.ndarray, real: np.ndarray, data: Any) -> list[Score]:
    n = len(generated)
    first, second = real[:n], real[n:2 * n]
    scipy = library("scipy")
    scores = [Score("w1", "W1", exact_w1(generated, first),
                    f"exact Wasserstein-1, {n} generated vs {n} held-out real points",
                    library=scipy),
              Score("w1_real_baseline", "W1 real vs real", exact_w1(second, first),
                    "the same between two real sets: the floor for this n", library=scipy)]
    centres, std = getattr(data, "centres", None), getattr(data, "std", None)
    if centres is not None and std is not None:
        coverage = mode_coverage(generated, np.asarray(centres), float(std))
        needed = CAPTURED_PER_2500 * n / 2500
        scores += [Score("modes_captured", "modes captured", coverage.captured,
                         f"of {coverage.modes}; a mode needs ≥ {needed:g} high-quality samples "
                         f"(20 per 2,500)", library=library("wgan-kit")),
                   Score("high_quality_share", "high-quality share", coverage.high_quality_share,
                         f"samples within {HIGH_QUALITY_STDS:g}σ of their nearest centre",
                         library=library("wgan-kit"))]
    space = "the plane" if generated.shape[1:] == (2,) else f"{generated.shape[1]}-d space"
    return scores + manifold(first, generated, space=space)


def sequence_scores(generated: list[str], real: list[str]) -> list[Score]:
    n = len(generated)
    first, second = real[:n], real[n:2 * n]
    scores, scipy = [], library("scipy")
    for order in NGRAM_ORDERS:
        scores += [Score(f"js{order}", f"JS {order}-gram", ngram_jsd(generated, first, order),
                         f"bits; {n} generated vs {n} held-out real lines", library=scipy),
                   Score(f"js{order}_real_baseline", f"JS {order}-gram real vs real",
                         ngram_jsd(second, first, order), "bits; two real sets, for scale",
                         library=scipy)]
    return scores
