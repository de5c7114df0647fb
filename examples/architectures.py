"""Robustness across architectures: WGAN-GP Figure 2 (Section 5.2), at small scale on MNIST.

The claim: with one shared set of hyperparameters per method, WGAN-GP trains every one of six
generator/critic architectures, while DCGAN, LSGAN and WGAN with weight clipping each fail on some
of them ("unstable or suffered from mode collapse").

The grid: methods {DCGAN, LSGAN, WGAN (clipping), WGAN-GP}, each with its published settings (the
recipes `dcgan`, `lsgan`, `wgan-clip` and `wgan-gp-lsun`, the Appendix E settings of this very
experiment), × architectures {DCGAN baseline; G without batch norm and with a constant filter
count; G a 4-layer 512-unit ReLU MLP; no normalization in G or D; gated multiplicative
nonlinearities in G and D; tanh in G and D}. As in the paper, the baseline critic has batch norm,
replaced by layer norm under WGAN-GP (Section 4). Every cell gets a grid of samples and a score:
classifier FID (`wgan_kit.evaluation`, features of a small CNN trained on the labelled digits),
the classifier's Inception-style score and the number of digit classes it finds in the samples.

How the small version differs: 5,000 MNIST digits at 28×28 instead of LSUN bedrooms at 64×64;
base filter count 8 instead of 64; 1,200 generator steps per training instead of 200,000
(the same count for every method, as in the paper, so the n_critic = 5 methods spend more compute);
the 101-layer ResNet row is left out (too slow for the budget); one seed.

    python examples/architectures.py --quick --out /tmp/architectures  # seconds: checks the script
    python examples/architectures.py --threads 2 --out runs/architectures  # 24 trainings, ~17 min

`--steps N` sets the generator steps of every training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import experiment
import wgan_kit
from wgan_kit.evaluation import as_channels_first, feature_extractor, image_scores

# Methods (columns): Figure 2's four, each with the settings of Appendix E.
METHODS = {"DCGAN": "dcgan", "LSGAN": "lsgan", "WGAN (clipping)": "wgan-clip",
           "WGAN-GP": "wgan-gp-lsun"}
PENALISED = {"wgan-gp-lsun"}  # batch norm in the critic is invalid under a gradient penalty


@dataclass(frozen=True)
class Architecture:
    """One row of Figure 2: the generator's name and options, and the critic's (always `dcgan`).
    `critic_norm=None` means the paper's baseline critic: batch norm, layer norm under WGAN-GP."""

    label: str
    gen: str
    gen_options: dict[str, Any]
    critic_options: dict[str, Any]
    critic_norm: str | None = None


ARCHITECTURES = [
    Architecture("Baseline (G: DCGAN, D: DCGAN)", "dcgan", {}, {}),
    Architecture("G: no BN, constant filters", "dcgan",
                 {"norm": "none", "constant_filters": True}, {}),
    Architecture("G: 4-layer 512-dim ReLU MLP", "mlp", {"depth": 4}, {}),
    Architecture("No normalization in G or D", "dcgan", {"norm": "none"}, {}, critic_norm="none"),
    Architecture("Gated nonlinearities in G and D", "dcgan", {"nonlinearity": "gated"},
                 {"nonlinearity": "gated"}),
    Architecture("tanh nonlinearities in G and D", "dcgan", {"nonlinearity": "tanh"},
                 {"nonlinearity": "tanh"}),
]

FULL_STEPS = 1200  # generator steps of every training (--steps)
FULL = {"steps": FULL_STEPS, "filters": 8, "mlp_hidden": 512, "batch_size": None,
        "eval_n": 500, "classifier": {}}
QUICK = {"steps": 2, "filters": 4, "mlp_hidden": 32, "batch_size": 16,
         "eval_n": 64, "classifier": {"steps": 20}}
GRID = 6  # a GRID×GRID block of digits per cell of the figure
# Pre-stated success rule: classifier FID at most FAIL_RATIO × the best cell's, and ≥ 8 classes.
FAIL_RATIO, MIN_CLASSES = 2.0, 8

parser = experiment.command_line("architectures", __doc__)
parser.add_argument("--steps", type=int, default=None,
                    help=f"generator steps of every training (default: {FULL['steps']}; "
                         f"{QUICK['steps']} with --quick)")
args = parser.parse_args()
scale = dict(QUICK if args.quick else FULL)
if args.steps is not None:
    if args.steps < 1:
        parser.error(f"--steps {args.steps}: must be positive")
    scale["steps"] = args.steps
out = experiment.prepare(args)
registry = wgan_kit.load_registry()


def options_for(architecture: Architecture, recipe: str) -> dict[str, Any]:
    """The dotted plugin options of one cell: the architecture's, at this run's widths."""
    width = {"hidden": scale["mlp_hidden"]} if architecture.gen == "mlp" \
        else {"filters": scale["filters"]}
    baseline_norm = "layer" if recipe in PENALISED else "batch"
    critic = {"filters": scale["filters"], "norm": architecture.critic_norm or baseline_norm,
              **architecture.critic_options}
    return ({f"gen.{k}": v for k, v in {**width, **architecture.gen_options}.items()}
            | {f"critic.{k}": v for k, v in critic.items()})


# --- the held-out digits, the classifier behind the scores, and its real-vs-real floor ----------
mnist = registry.get("data", "mnist")
data = mnist.factory(mnist.options())  # the 5k digits, 28×28; shared by every cell
extractor = feature_extractor("classifier", data, registry, scale["classifier"])
real_heldout = as_channels_first(data.decode(data.held_out(scale["eval_n"],
                                                           device=torch.device("cpu"))))
n = len(real_heldout)
real_train = as_channels_first(data.decode(next(data.batches(n, seed=args.seed + 1,
                                                              device=torch.device("cpu")))))
floor = {s.key: s.value for s in image_scores(real_train, real_heldout, extractor, seed=args.seed)}
floor["classes_covered"] = experiment.classes_covered(extractor, real_train)[0]
print(f"real vs real: classifier FID {floor['classifier_fid']:.2f}, "
      f"score {floor['classifier_score']:.2f}")

# --- 24 trainings: every method × every architecture, one shared setting per method -----------
cells: list[dict[str, Any]] = []
grids: dict[tuple[int, int], np.ndarray | None] = {}
for row, architecture in enumerate(ARCHITECTURES):
    for column, (method, recipe) in enumerate(METHODS.items()):
        run = {"steps": scale["steps"], "seed": args.seed, "log_every": 25}
        if scale["batch_size"]:
            run["batch_size"] = scale["batch_size"]
        trainer = wgan_kit.compose(recipe=recipe, gen=architecture.gen, critic="dcgan",
                                   data=data, options=options_for(architecture, recipe),
                                   registry=registry, **run)
        started = time.perf_counter()
        cell: dict[str, Any] = {"architecture": architecture.label, "method": method,
                                "recipe": recipe, "options": options_for(architecture, recipe)}
        try:
            trainer.train()
        except wgan_kit.WganKitError as error:  # NaN/Inf: the run diverged
            cell |= {"diverged": str(error), "seconds": round(time.perf_counter() - started, 1)}
            grids[row, column] = None
            cells.append(cell)
            print(f"{architecture.label} / {method}: diverged ({error})")
            continue
        cell["seconds"] = round(time.perf_counter() - started, 1)
        latent = torch.randn(n, trainer.generator.latent_dim,
                             generator=torch.Generator().manual_seed(args.seed))
        with torch.no_grad():
            generated = as_channels_first(data.decode(trainer.sample(n, latent=latent)))
        scores = {s.key: s.value for s in image_scores(generated, real_heldout, extractor,
                                                       seed=args.seed)}
        covered, shares = experiment.classes_covered(extractor, generated)
        cell |= {"classifier_fid": scores["classifier_fid"],
                 "classifier_kid": scores["classifier_kid"],
                 "classifier_score": scores["classifier_score"],
                 "classes_covered": covered, "class_shares": shares}
        grids[row, column] = generated[:GRID * GRID, 0].numpy()
        cells.append(cell)
        print(f"{architecture.label} / {method}: classifier FID {cell['classifier_fid']:.2f}, "
              f"score {cell['classifier_score']:.2f}, {covered} classes, {cell['seconds']} s",
              flush=True)

# --- success under the pre-stated rule ----------------------------------------------------------
finite = [c["classifier_fid"] for c in cells if "classifier_fid" in c
          and math.isfinite(c["classifier_fid"])]
best_fid = min(finite)
for cell in cells:
    fid = cell.get("classifier_fid", math.inf)
    cell["success"] = bool(fid <= FAIL_RATIO * best_fid
                           and cell.get("classes_covered", 0) >= MIN_CLASSES)
successes = {method: sum(c["success"] for c in cells if c["method"] == method)
             for method in METHODS}
sensitivity = {f"{ratio:g}x": {method: sum(c.get("classifier_fid", math.inf) <= ratio * best_fid
                                          and c.get("classes_covered", 0) >= MIN_CLASSES
                                          for c in cells if c["method"] == method)
                               for method in METHODS}
               for ratio in (1.5, 2.0, 3.0, 4.0)}

# --- the figure: rows = architectures, columns = methods ------------------------------------------
import matplotlib  # noqa: E402  (only now: the trainings need no plotting)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow: a dependency of matplotlib)

side = data.spec.shape[-1]
figure, axes = plt.subplots(len(ARCHITECTURES), len(METHODS),
                            figsize=(2.1 * len(METHODS) + 1.6, 2.1 * len(ARCHITECTURES)), dpi=64)
for (row, column), block in grids.items():
    ax, cell = axes[row, column], cells[row * len(METHODS) + column]
    if block is None:
        ax.text(0.5, 0.5, "diverged", ha="center", va="center", transform=ax.transAxes)
    else:
        mosaic = np.full((GRID * (side + 1) + 1,) * 2, 255, dtype=np.uint8)
        for i, image in enumerate(block):
            top, left = 1 + (i // GRID) * (side + 1), 1 + (i % GRID) * (side + 1)
            mosaic[top:top + side, left:left + side] = image
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255)
        ax.set_xlabel(f"FID {cell['classifier_fid']:.1f} · {cell['classes_covered']} cl.",
                      fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    if row == 0:
        ax.set_title(list(METHODS)[column], fontsize=10)
    if column == 0:
        ax.set_ylabel(ARCHITECTURES[row].label.replace(", ", ",\n").replace(" in ", "\nin "),
                      fontsize=8)
figure.tight_layout()
figure.savefig(out / "samples.png")
plt.close(figure)
# Grey levels only: a quarter of the RGBA file, to keep the picture small (< 300 KB).
Image.open(out / "samples.png").convert("L").save(out / "samples.png", optimize=True)

# --- results ------------------------------------------------------------------------------------


def score_cell(cell: dict[str, Any]) -> str:
    if "diverged" in cell:
        return "diverged"
    mark = "" if cell["success"] else " ✗"
    return (f"{cell['classifier_fid']:.1f} / {cell['classifier_score']:.2f} / "
            f"{cell['classes_covered']}{mark}")


header = "| architecture | " + " | ".join(METHODS) + " |\n|" + " --- |" * (len(METHODS) + 1)
table = "\n".join(
    f"| {architecture.label} | "
    + " | ".join(score_cell(c) for c in cells if c["architecture"] == architecture.label) + " |"
    for architecture in ARCHITECTURES)
seconds = {method: round(sum(c["seconds"] for c in cells if c["method"] == method), 1)
           for method in METHODS}
verdict_counts = ", ".join(f"{method} {count}/{len(ARCHITECTURES)}"
                           for method, count in successes.items())
body = f"""
{'QUICK MODE: a check of the script; its numbers mean nothing.' if args.quick else ''}

Every cell: {scale['steps']} generator steps with the method's recipe ({', '.join(
    f'{m}: `{r}`' for m, r in METHODS.items())}), base filters {scale['filters']}, MLP generator
{scale['mlp_hidden']} units, seed {args.seed}. Scores on {n} samples against {n} held-out digits.

![samples](samples.png)

Classifier FID / classifier score / classes covered (of 10; a class counts with
≥ 2.5% of the samples, a quarter of its fair share). ✗: not a success under the rule stated before
the run (classifier FID ≤ {FAIL_RATIO:g} × the best cell's {best_fid:.1f}, and
≥ {MIN_CLASSES} classes).

{header}
{table}

Real vs real ({n} training vs {n} held-out digits): classifier FID {floor['classifier_fid']:.2f},
score {floor['classifier_score']:.2f}, {floor['classes_covered']} classes.

Successes per method: {verdict_counts}.

Successes at other FID ratios to the best cell (same class rule):

| FID ≤ ratio × best | {' | '.join(METHODS)} |
|{' --- |' * (len(METHODS) + 1)}
{chr(10).join(f"| {ratio} | {' | '.join(str(c) for c in counts.values())} |"
              for ratio, counts in sensitivity.items())}

Training time per method (s, all six architectures): {seconds}.
"""
experiment.write_results(out, "Robustness across architectures (WGAN-GP Figure 2)", body,
                         {"quick": args.quick, "seed": args.seed, "scale": scale,
                          "methods": METHODS, "real_vs_real": floor, "best_fid": best_fid,
                          "successes": successes, "sensitivity": sensitivity,
                          "seconds": seconds, "cells": cells})
