"""Section 5.1 / Table 2 at small scale: random architectures, standard GAN against WGAN-GP.

Claim (WGAN-GP Section 5.1, Table 2, Appendix B): over architectures drawn from Table 1's set
(nonlinearity, depth 4-20, batch norm on/off, base filters 32/64/128, for G and D separately),
WGAN-GP trains many that the standard GAN cannot: at most score thresholds, "only WGAN-GP
succeeded" far outnumbers "only GAN succeeded".

What this script does: it draws N architectures (`random` nets, `arch_seed` 0…N-1) and trains each
twice on the shipped 5,000 MNIST digits (28×28): with the `dcgan` recipe (standard GAN, Adam 2e-4,
β = (0.5, 0.999), n_critic = 1; a critic that draws "normalized" gets batch norm) and with the
`wgan-gp` recipe (λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9); a normalized critic gets layer
norm, since the toolkit refuses batch norm under a gradient penalty). As Appendix B, a normalized
critic gets weight decay 1e-3 in both arms. Each run is scored with the `classifier` features'
Inception-style score (exp E[KL(p(y|x) ‖ p(y))], 1 … 10 on MNIST) and classifier FID. The
thresholds are placed relative to two references measured here: real held-out digits (the ceiling)
and the plain DCGAN nets trained the same way (the known-good baseline) — at 10 %, 20 %, …, 90 %
of the way from 1 (the least possible score) to the real digits' score.

How it differs from the paper: MNIST 28×28 instead of 32×32 ImageNet; N architectures instead of
200; every filter count divided by 16 (`width_divisor`: Table 1's 32/64/128 base filters become
2/4/8); batches of 32 instead of 64; 400 generator steps instead of 100,000; a classifier trained
on MNIST instead of the Inception network. One CPU core for ~12 minutes affords no more.

    python examples/random_architectures.py --quick --out /tmp/ra   # seconds; numbers mean nothing
    python examples/random_architectures.py --threads 1 --seed 0    # full: 4 architectures, ~8 min
    python examples/random_architectures.py --threads 1 --seed 0 --architectures 8   # the docs' run
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

import experiment
import wgan_kit
from wgan_kit.evaluation import as_channels_first, evaluate, feature_extractor, image_scores

parser = experiment.command_line("random_architectures", __doc__)
parser.add_argument("--architectures", type=int, default=None,
                    help="how many architectures to draw (default: 4, about 8 min on one core; "
                         "--quick: 2)")
args = parser.parse_args()
out = experiment.prepare(args)

# --- settings -----------------------------------------------------------------------------------
if args.quick:
    n_architectures, steps, width_divisor, batch_size, n_eval = 2, 2, 32, 32, 32
    classifier = {"steps": 20}  # a barely trained classifier: quick mode only checks the script
else:
    n_architectures, steps, width_divisor, batch_size, n_eval = 4, 400, 16, 32, 500
    classifier = {}  # the `classifier` plugin's defaults (trained once, then cached)
n_architectures = args.architectures or n_architectures
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NORMALIZED_CRITIC_WEIGHT_DECAY = 1e-3  # Appendix B
ARMS = {"GAN": ("dcgan", "batch"), "WGAN-GP": ("wgan-gp", "layer")}  # recipe, critic's norm
SHOWN = 8  # samples per run in the figure
registry = wgan_kit.load_registry()


def train_and_score(gen: str, critic: str, recipe: str, options: dict, weight_decay: float
                    ) -> dict:
    """Train one run for `steps` generator steps; its classifier score and FID, or its failure."""
    trainer = wgan_kit.compose(gen=gen, critic=critic, data="mnist", recipe=recipe, steps=steps,
                               batch_size=batch_size, seed=args.seed,
                               critic_weight_decay=weight_decay, options=options,
                               registry=registry)
    started = time.perf_counter()
    try:
        trainer.train()
    except wgan_kit.WganKitError as error:  # a loss or weight became NaN/Inf: the run failed
        return {"score": 1.0, "fid": None, "diverged": str(error), "samples": None,
                "seconds": time.perf_counter() - started}
    metrics = evaluate(trainer, n_eval, seed=args.seed, features="classifier",
                       feature_options=classifier, registry=registry).to_json()["metrics"]
    images = trainer.parts.data.decode(trainer.sample(SHOWN, latent=trainer.fixed_latent[:SHOWN]))
    return {"score": metrics["classifier_score"], "fid": metrics["classifier_fid"],
            "diverged": None, "samples": np.asarray(images)[..., 0].tolist(),
            "seconds": time.perf_counter() - started}


# --- references: real digits, and the plain DCGAN nets under each objective ----------------------
data = wgan_kit.compose(data="mnist", steps=1, registry=registry).parts.data
extractor = feature_extractor("classifier", data, registry, classifier)
cpu = torch.device("cpu")
held_out = as_channels_first(data.decode(data.held_out(n_eval, device=cpu)))
training = as_channels_first(data.decode(next(data.batches(n_eval, seed=args.seed, device=cpu))))
real = {s.key: s.value for s in image_scores(training, held_out, extractor, seed=args.seed)}
dcgan_filters = max(1, 64 // width_divisor)
baseline = {arm: train_and_score("dcgan", "dcgan", recipe, {
    "gen.filters": dcgan_filters, "critic.filters": dcgan_filters, "critic.norm": norm},
    NORMALIZED_CRITIC_WEIGHT_DECAY) for arm, (recipe, norm) in ARMS.items()}
print(f"real digits: score {real['classifier_score']:.2f}; DCGAN baseline: " + ", ".join(
    f"{arm} {result['score']:.2f}" for arm, result in baseline.items()), flush=True)

# --- the random architectures --------------------------------------------------------------------
architectures = []
for arch_seed in range(n_architectures):
    options = {"gen.arch_seed": arch_seed, "critic.arch_seed": arch_seed,
               "gen.width_divisor": width_divisor, "critic.width_divisor": width_divisor}
    runs, described = {}, {}
    for arm, (recipe, norm) in ARMS.items():
        arm_options = {**options, "critic.norm_when_sampled": norm}
        critic_options = registry.get("critic", "random").options.model_validate(
            {k.removeprefix("critic."): v for k, v in arm_options.items()
             if k.startswith("critic.")})
        generator_options = registry.get("generator", "random").options.model_validate(
            {k.removeprefix("gen."): v for k, v in arm_options.items() if k.startswith("gen.")})
        decay = NORMALIZED_CRITIC_WEIGHT_DECAY if critic_options.norm != "none" else 0.0
        runs[arm] = train_and_score("random", "random", recipe, arm_options, decay)
        described = {"generator": generator_options.describe(), "critic": critic_options.describe()}
    architectures.append({"arch_seed": arch_seed, **described, "runs": runs})
    print(f"arch {arch_seed} (G: {described['generator']}; D: {described['critic']}): " + ", ".join(
        f"{arm} {run['score']:.2f}" for arm, run in runs.items()), flush=True)

# --- Table 2: outcomes at each threshold ----------------------------------------------------------
thresholds = [1 + f * (real["classifier_score"] - 1) for f in FRACTIONS]
table = []
for fraction, threshold in zip(FRACTIONS, thresholds):
    gan = [a["runs"]["GAN"]["score"] > threshold for a in architectures]
    wgan = [a["runs"]["WGAN-GP"]["score"] > threshold for a in architectures]
    table.append({"fraction": fraction, "threshold": threshold,
                  "only_gan": sum(g and not w for g, w in zip(gan, wgan)),
                  "only_wgan_gp": sum(w and not g for g, w in zip(gan, wgan)),
                  "both": sum(g and w for g, w in zip(gan, wgan)),
                  "neither": sum(not g and not w for g, w in zip(gan, wgan))})

# --- figures: GAN vs WGAN-GP score per architecture; the samples ----------------------------------
figure, axis = plt.subplots(figsize=(4.6, 4.4))
scores = np.array([[a["runs"]["GAN"]["score"], a["runs"]["WGAN-GP"]["score"]]
                   for a in architectures])
top = real["classifier_score"] + 0.3
axis.plot([1, top], [1, top], color="gray", lw=0.8)
axis.scatter(scores[:, 0], scores[:, 1], color="C0", zorder=3, label="random architecture")
for a, (x, y) in zip(architectures, scores):
    axis.annotate(str(a["arch_seed"]), (x, y), textcoords="offset points", xytext=(4, 3),
                  fontsize=7)
axis.scatter([baseline["GAN"]["score"]], [baseline["WGAN-GP"]["score"]], marker="*", s=120,
             color="C2", zorder=3, label="DCGAN baseline")
axis.axhline(real["classifier_score"], color="C3", ls=":", lw=1, label="real digits")
axis.axvline(real["classifier_score"], color="C3", ls=":", lw=1)
axis.set(xlim=(0.8, top), ylim=(0.8, top), xlabel="standard GAN: classifier score",
         ylabel="WGAN-GP: classifier score", title=f"{len(architectures)} random architectures")
axis.legend(fontsize=7, loc="lower right")
figure.tight_layout()
figure.savefig(out / "scores.png", dpi=90)

rows = [("DCGAN", baseline)] + [(f"arch {a['arch_seed']}", a["runs"]) for a in architectures]
figure, axes = plt.subplots(len(rows), 2, figsize=(7, 0.62 * len(rows) + 0.4), squeeze=False)
for row, (name, runs) in zip(axes, rows):
    for axis, arm in zip(row, ARMS):
        run = runs[arm]
        if run["samples"] is not None:
            axis.imshow(np.concatenate(run["samples"], axis=1), cmap="gray", vmin=0, vmax=255)
        axis.set_xticks([]), axis.set_yticks([])
        axis.set_title(f"{name}, {arm}: {run['score']:.2f}", fontsize=7, pad=2)
figure.tight_layout(pad=0.3)
figure.savefig(out / "samples.png", dpi=80)

# --- results ------------------------------------------------------------------------------------
table_md = "\n".join(f"| {t['threshold']:.2f} ({t['fraction']:.0%}) | {t['only_gan']} | "
                     f"{t['only_wgan_gp']} | {t['both']} | {t['neither']} |" for t in table)


def fid(run: dict) -> str:
    return "diverged" if run["fid"] is None else f"{run['fid']:.1f}"


runs_md = "\n".join(
    f"| {a['arch_seed']} | {a['generator']} | {a['critic']} | "
    + " | ".join(f"{a['runs'][arm]['score']:.2f} / {fid(a['runs'][arm])}" for arm in ARMS) + " |"
    for a in architectures)
body = f"""
{len(architectures)} architectures from Table 1 (filters ÷ {width_divisor}), {steps} generator
steps of batch {batch_size} per run on MNIST 5k (28×28), seed {args.seed}. Scores on {n_eval}
samples against {n_eval} held-out digits: classifier score (Inception-style, higher is better) /
classifier FID (lower is better).

References: real digits score {real['classifier_score']:.2f} (classifier FID between two real
sets {real['classifier_fid']:.1f}); the plain DCGAN nets (base filters {dcgan_filters}) score
{baseline['GAN']['score']:.2f} under the standard GAN and {baseline['WGAN-GP']['score']:.2f}
under WGAN-GP. Thresholds: 10 %, 20 %, …, 90 % of the way from 1 to the real digits' score.

| min. score | only GAN | only WGAN-GP | both succeeded | both failed |
| --- | --- | --- | --- | --- |
{table_md}

![scores](scores.png)

| arch_seed | generator | critic (WGAN-GP arm) | GAN score / FID | WGAN-GP score / FID |
| --- | --- | --- | --- | --- |
{runs_md}

(In the standard-GAN arm a critic with layer norm above has batch norm.)

![samples](samples.png)
"""
numbers = {"n_architectures": len(architectures), "steps": steps, "width_divisor": width_divisor,
           "batch_size": batch_size, "n_eval": n_eval, "seed": args.seed, "real": real,
           "baseline": {arm: {k: v for k, v in run.items() if k != "samples"}
                        for arm, run in baseline.items()},
           "thresholds": table,
           "architectures": [{**a, "runs": {arm: {k: v for k, v in run.items() if k != "samples"}
                                            for arm, run in a["runs"].items()}}
                             for a in architectures]}
experiment.write_results(out, "Random architectures (Section 5.1, Table 2)", body, numbers)
