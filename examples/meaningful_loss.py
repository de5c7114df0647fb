"""Meaningful loss curves and detecting overfitting: WGAN-GP Figure 5 (Section 5.6), small.

Claims: (a) the negative critic loss of WGAN-GP converges toward a minimum as the network trains,
and so tracks sample quality; (b) on a random 1,000-digit subset of MNIST, large unregularized
WGANs overfit, with the gradient penalty and with weight clipping alike: the critic's losses on
training and on held-out (validation) digits diverge; under the penalty the training loss
gradually increases even while the validation loss drops.

The paper shows (a) on LSUN bedrooms and (b) on MNIST, over tens of thousands of steps. Here:
(a) WGAN-GP (`wgan-gp` recipe) on the shipped 5,000 MNIST digits (`mnist`) with the small
DCGAN-style nets of examples/clip_vs_gp.py, the negative critic loss (penalty included, the loss
the critic minimises) averaged over each segment of training, and the classifier FID (`classifier`
features, lower is better) of 500 samples against the 500 held-out digits after each segment;
their Spearman rank correlation says whether the loss tracks sample quality. (b) `wgan-gp` and
`wgan-clip` on `mnist` with `data.train_limit=1000`, a critic twice as wide (64 base filters,
layer norm in both, so that the constraint is the only difference) and no weight decay, 800
generator steps each; the engine logs the critic loss on the last training batch and on a fixed
batch of held-out digits, against the same fakes, every few steps (`run.heldout_every`), into the
run's metrics.jsonl.

    python examples/meaningful_loss.py --quick --out /tmp/meaningful_loss      # seconds
    python examples/meaningful_loss.py --threads 2 --out runs/meaningful_loss   # full: ~13 min, 2 cores

`--steps N` (a multiple of 10) and `--overfit-steps N` set the length of (a) and of each run of (b).
"""

from __future__ import annotations

import experiment
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

import wgan_kit
from wgan_kit.evaluation import evaluate
from wgan_kit.evaluation.report import read_metrics

FULL = {"steps": 800, "segments": 10, "n": 500, "filters": 32, "batch_size": 64,
        "classifier": {}, "overfit_steps": 800, "overfit_filters": 64, "heldout_every": 5,
        "log_every": 20}
QUICK = {"steps": 4, "segments": 2, "n": 64, "filters": 8, "batch_size": 16,
         "classifier": {"steps": 30, "width": 8},
         "overfit_steps": 4, "overfit_filters": 8, "heldout_every": 1, "log_every": 2}
OVERFITTING = {"WGAN-GP": "wgan-gp", "WGAN, clipping": "wgan-clip"}

parser = experiment.command_line("meaningful_loss", __doc__)
parser.add_argument("--steps", type=int, default=None,
                    help=f"generator steps of (a), a multiple of its {FULL['segments']} segments "
                         f"(default: {FULL['steps']}; {QUICK['steps']} with --quick)")
parser.add_argument("--overfit-steps", type=int, default=None,
                    help=f"generator steps of each run of (b) (default: {FULL['overfit_steps']}; "
                         f"{QUICK['overfit_steps']} with --quick)")
args = parser.parse_args()
size = dict(QUICK if args.quick else FULL)
for key in ("steps", "overfit_steps"):
    size[key] = getattr(args, key) if getattr(args, key) is not None else size[key]
if size["steps"] < 1 or size["steps"] % size["segments"]:
    parser.error(f"--steps {size['steps']}: must be a positive multiple of {size['segments']} "
                 "(the segments of part (a))")
if size["overfit_steps"] < 1:
    parser.error(f"--overfit-steps {size['overfit_steps']}: must be positive")
size["every"] = size["steps"] // size["segments"]
out = experiment.prepare(args)
registry = wgan_kit.load_registry()

# (a) The negative critic loss and the classifier FID along one WGAN-GP run. The run trains in
# segments (raising trainer.run.steps); with log_every = the segment, train() returns the means of
# the segment's critic loss and penalty.
trainer = wgan_kit.compose(
    recipe="wgan-gp", gen="dcgan", critic="dcgan", data="mnist", registry=registry,
    options={"gen.filters": size["filters"], "gen.latent_dim": 64,
             "critic.filters": size["filters"]},
    seed=args.seed, batch_size=size["batch_size"], log_every=size["every"])
steps, negative_loss, wasserstein, fid = [], [], [], []
for target in range(size["every"], size["steps"] + 1, size["every"]):
    trainer.change_run(steps=target)
    metrics = trainer.train()
    scores = evaluate(trainer, size["n"], seed=args.seed, features="classifier",
                      feature_options=size["classifier"], registry=registry)
    steps.append(target)
    negative_loss.append(-(metrics["critic_loss"] + metrics["penalty"]))
    wasserstein.append(metrics["wasserstein"])
    fid.append(scores.to_json()["metrics"]["classifier_fid"])
    print(f"step {target}: -critic loss {negative_loss[-1]:.3f}, classifier FID {fid[-1]:.1f}",
          flush=True)
loss_vs_fid = spearmanr(negative_loss, fid)
wasserstein_vs_fid = spearmanr(wasserstein, fid)
peak = int(np.argmax(negative_loss))

figure, loss_axis = plt.subplots(figsize=(7, 4), dpi=90)
loss_axis.plot(steps, negative_loss, color="tab:blue", marker=".", label="−critic loss")
loss_axis.set_xlabel("generator steps")
loss_axis.set_ylabel("−critic loss (segment mean)", color="tab:blue")
fid_axis = loss_axis.twinx()
fid_axis.plot(steps, fid, color="tab:red", marker=".", label="classifier FID")
fid_axis.set_ylabel("classifier FID (lower is better)", color="tab:red")
fid_axis.set_yscale("log")
loss_axis.set_title(f"WGAN-GP on MNIST: Spearman ρ(−loss, FID) = {loss_vs_fid.statistic:.2f}")
figure.tight_layout()
figure.savefig(out / "loss_and_fid.png")
plt.close(figure)

# (b) Overfitting on 1,000 digits: the critic's loss on training and held-out digits.
overfitting = {}
for label, recipe in OVERFITTING.items():
    run = wgan_kit.compose(
        recipe=recipe, gen="dcgan", critic="dcgan", data="mnist", registry=registry,
        options={"data.train_limit": 1000, "gen.filters": size["filters"], "gen.latent_dim": 64,
                 "critic.filters": size["overfit_filters"], "critic.norm": "layer"},
        seed=args.seed, batch_size=size["batch_size"], steps=size["overfit_steps"],
        heldout_every=size["heldout_every"], log_every=size["log_every"],
        checkpoint_every=size["overfit_steps"], sample_every=size["overfit_steps"])
    run.train(out / "runs" / recipe, overwrite=True)
    lines = [line for line in read_metrics(run.folder) if "critic_loss_heldout_batch" in line]
    overfitting[label] = {
        "step": [line["step"] for line in lines],
        "train": [-line["critic_loss_train_batch"] for line in lines],
        "heldout": [-line["critic_loss_heldout_batch"] for line in lines]}


def split_means(values: list[float]) -> tuple[float, float]:
    """Means over the first and the last fifth of a curve."""
    fifth = max(len(values) // 5, 1)
    return float(np.mean(values[:fifth])), float(np.mean(values[-fifth:]))


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y over x, per 100 generator steps."""
    return float(np.polyfit(x, y, 1)[0] * 100) if len(x) > 1 else 0.0


figure, axes = plt.subplots(1, len(overfitting), figsize=(11, 4), dpi=90)
overfit_numbers = {}
for ax, (label, curve) in zip(axes, overfitting.items()):
    gap = np.subtract(curve["train"], curve["heldout"])  # −loss on training − −loss held out
    half = len(curve["step"]) // 2
    overfit_numbers[label] = {
        "gap_first_fifth": split_means(list(gap))[0], "gap_last_fifth": split_means(list(gap))[1],
        "gap_std": float(np.std(gap)),
        "train_first_fifth": split_means(curve["train"])[0],
        "train_last_fifth": split_means(curve["train"])[1],
        "heldout_last_fifth": split_means(curve["heldout"])[1],
        "train_slope_second_half": slope(curve["step"][half:], curve["train"][half:]),
        "heldout_slope_second_half": slope(curve["step"][half:], curve["heldout"][half:]),
        "curve": curve}
    ax.plot(curve["step"], curve["train"], color="tab:blue", label="training digits")
    ax.plot(curve["step"], curve["heldout"], color="tab:orange", label="held-out digits")
    ax.set_title(f"{label}, 1,000 training digits")
    ax.set_xlabel("generator steps")
    ax.set_ylabel("−critic loss (no penalty)")
    ax.grid(alpha=0.3)
    ax.legend()
figure.tight_layout()
figure.savefig(out / "overfitting.png")
plt.close(figure)

numbers = {
    "seed": args.seed, "quick": args.quick,
    "loss_vs_fid": {"steps": steps, "negative_critic_loss": negative_loss,
                    "wasserstein": wasserstein, "classifier_fid": fid,
                    "spearman_negative_loss_fid": float(loss_vs_fid.statistic),
                    # undefined (NaN) for two points, as in quick mode: null keeps the JSON strict
                    "spearman_negative_loss_fid_p": (float(loss_vs_fid.pvalue)
                                                     if np.isfinite(loss_vs_fid.pvalue) else None),
                    "spearman_wasserstein_fid": float(wasserstein_vs_fid.statistic),
                    "peak_negative_loss": negative_loss[peak], "peak_step": steps[peak],
                    "final_negative_loss": negative_loss[-1], "first_fid": fid[0],
                    "final_fid": fid[-1]},
    "overfitting": overfit_numbers}
rows = "\n".join(
    f"| {label} | {o['gap_first_fifth']:.3g} | {o['gap_last_fifth']:.3g} | {o['gap_std']:.2g} | "
    f"{o['train_slope_second_half']:+.3g} | {o['heldout_slope_second_half']:+.3g} |"
    for label, o in overfit_numbers.items())
body = f"""
Seed {args.seed}.

## (a) The negative critic loss and sample quality

WGAN-GP, {size['steps']} generator steps on `mnist` (5k); −critic loss (penalty included) averaged
over each {size['every']}-step segment, classifier FID of {size['n']} samples after it.

| | value |
| --- | --- |
| Spearman ρ(−critic loss, classifier FID) | {loss_vs_fid.statistic:.3f} (p = {loss_vs_fid.pvalue:.2g}) |
| Spearman ρ(W estimate, classifier FID) | {wasserstein_vs_fid.statistic:.3f} |
| −critic loss: peak (step) → final | {negative_loss[peak]:.3f} ({steps[peak]}) → {negative_loss[-1]:.3f} |
| classifier FID: first segment → final | {fid[0]:.1f} → {fid[-1]:.1f} |

![negative critic loss and classifier FID](loss_and_fid.png)

## (b) Overfitting on 1,000 digits

{size['overfit_steps']} generator steps each, critic with {size['overfit_filters']} base filters;
−critic loss (no penalty) on the last training batch and on a fixed held-out batch every
{size['heldout_every']} steps, averaged per {size['log_every']} steps. Gap = training − held-out
(positive: the critic scores its training digits higher than unseen ones).

| run | gap, first fifth | gap, last fifth | gap std | training −loss slope, 2nd half (/100 steps) | held-out −loss slope, 2nd half (/100 steps) |
| --- | --- | --- | --- | --- | --- |
{rows}

![training and held-out negative critic loss](overfitting.png)
"""
experiment.write_results(out, "Meaningful loss curves and overfitting (Figure 5)", body, numbers)
