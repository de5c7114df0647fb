"""The Lipschitz methods that came after WGAN-GP, side by side on one page (issue 20).

Each built-in constraint trains with its natural objective: the penalties of the Wasserstein
line (WGAN-GP, WGAN-LP, WGAN-div, CT-GAN, max-GP) with `wgan` (Algorithm 1's settings: Adam 1e-4,
β = (0, 0.9), n_critic 5), the zero-centred and local penalties proposed for the standard GAN
(R1, R2, 0-GP, DRAGAN) with `gan` (DCGAN's settings: Adam 2e-4, n_critic 1). Every constraint
has its paper's defaults (`plugins show NAME`), also on the toy sets, whose suggested λ = 0.1
for WGAN-GP is therefore not used. Same nets (`mlp`), same seed and the same number of generator
steps for all, on three data sets: 8 Gaussians, 25 Gaussians (points: exact W1 to held-out
points and modes captured, `wgan_kit.evaluation`) and scikit-learn's 8×8 digits (classifier FID
and digit classes covered, from the `classifier` features). The toy sets bring their batch size
(256) and β (0.5, 0.9); the digits train at batch 64. Seconds per generator step are measured
as the runs train one after another: they include n_critic (5 against 1), and compare only
within one run of the script.

    python examples/lipschitz_methods.py --quick --out /tmp/lipschitz   # seconds; checks the script
    python examples/lipschitz_methods.py --threads 1 --out runs/lipschitz_methods
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import experiment
import wgan_kit
from wgan_kit.evaluation import as_channels_first, evaluate, feature_extractor, image_scores

# label: (constraint, objective)
METHODS = {
    "WGAN-GP": ("gp", "wgan"),
    "WGAN-LP": ("wgan-lp", "wgan"),
    "WGAN-div": ("wgan-div", "wgan"),
    "CT-GAN": ("ct", "wgan"),
    "max-GP": ("max-gp", "wgan"),
    "R1": ("r1", "gan"),
    "R2": ("r2", "gan"),
    "0-GP": ("zero-gp", "gan"),
    "DRAGAN": ("dragan", "gan"),
    "WGAN-LP, perturbed": ("wgan-lp", "wgan"),
    "R1, lazy (k = 16)": ("r1", "gan"),
}
# Options beyond the constraint's paper defaults: the paper's second sampling, StyleGAN2's lazy R1.
VARIANTS = {"WGAN-LP, perturbed": {"constraint.sampling": "perturbed"},
            "R1, lazy (k = 16)": {"constraint.every": 16}}
DATA = ("8gaussians", "25gaussians", "digits")
FULL = {"steps": 800, "hidden": 256, "eval_points": 2500, "eval_images": 170, "classifier": {}}
QUICK = {"steps": 2, "hidden": 16, "eval_points": 64, "eval_images": 40,
         "classifier": {"steps": 20, "width": 8}}

parser = experiment.command_line("lipschitz_methods", __doc__)
parser.add_argument("--steps", type=int, default=None,
                    help=f"generator steps of every run (default: {FULL['steps']}; "
                         f"{QUICK['steps']} with --quick)")
args = parser.parse_args()
if args.steps is not None and args.steps < 1:
    parser.error(f"--steps must be a positive number of generator steps, got {args.steps}")
size = {**(QUICK if args.quick else FULL), **({"steps": args.steps} if args.steps else {})}
out = experiment.prepare(args)
registry = wgan_kit.load_registry()


def paper_defaults(constraint: str) -> dict[str, object]:
    """The constraint's own defaults as dotted options, above any data set's suggestion."""
    model = registry.get("constraint", constraint).options
    return {f"constraint.{name}": field.default for name, field in model.model_fields.items()}


# The classifier behind the digit scores, trained once (cached), and its real-vs-real floor.
digits_component = registry.get("data", "digits")
digits = digits_component.factory(digits_component.options())
extractor = feature_extractor("classifier", digits, registry, size["classifier"])
real_digits = as_channels_first(digits.decode(digits.held_out(size["eval_images"],
                                                              device=torch.device("cpu"))))
n_images = len(real_digits)
train_digits = as_channels_first(digits.decode(next(digits.batches(
    n_images, seed=args.seed + 1, device=torch.device("cpu")))))
floor = {"classifier_fid": next(s.value for s in image_scores(train_digits, real_digits, extractor,
                                                               seed=args.seed)
                                if s.key == "classifier_fid"),
         "classes_covered": experiment.classes_covered(extractor, train_digits)[0]}


def scores(trainer: wgan_kit.Trainer, data: str) -> tuple[dict[str, float], np.ndarray]:
    """The data's numbers, and the samples to draw."""
    if data != "digits":
        metrics = evaluate(trainer, size["eval_points"], seed=args.seed).to_json()["metrics"]
        latent = trainer.fixed_latent[:1000]
        return metrics, trainer.parts.data.decode(trainer.sample(len(latent), latent=latent))
    latent = torch.randn(n_images, trainer.generator.latent_dim,
                         generator=torch.Generator().manual_seed(args.seed))
    generated = as_channels_first(digits.decode(trainer.sample(n_images, latent=latent)))
    fid = next(s.value for s in image_scores(generated, real_digits, extractor, seed=args.seed)
               if s.key == "classifier_fid")
    covered, _ = experiment.classes_covered(extractor, generated)
    return {"classifier_fid": fid, "classes_covered": covered}, generated[:36, 0].numpy()


results: dict[str, dict[str, dict]] = {label: {} for label in METHODS}
samples: dict[tuple[str, str], np.ndarray] = {}
for data in DATA:
    for label, (constraint, objective) in METHODS.items():
        trainer = wgan_kit.compose(
            data=digits if data == "digits" else data, constraint=constraint,
            objective=objective, registry=registry, seed=args.seed, steps=size["steps"],
            log_every=max(size["steps"] // 4, 1), heldout_every=0,
            options={"gen.hidden": size["hidden"], "critic.hidden": size["hidden"],
                     **paper_defaults(constraint), **VARIANTS.get(label, {})})
        started = time.perf_counter()
        try:
            trainer.train()
        except wgan_kit.WganKitError as error:  # NaN/Inf: the run diverged
            results[label][data] = {"diverged": str(error)}
            print(f"{data} / {label}: diverged ({error})", flush=True)
            continue
        seconds = time.perf_counter() - started
        metrics, drawn = scores(trainer, data)
        samples[label, data] = drawn
        results[label][data] = {**metrics, "seconds_per_step": seconds / size["steps"],
                                "n_critic": trainer.run.n_critic}
        print(f"{data} / {label}: " + ", ".join(f"{k} {v:.3g}" for k, v in metrics.items()
                                                 if k in ("w1", "modes_captured",
                                                          "classifier_fid", "classes_covered"))
              + f", {seconds / size['steps'] * 1000:.0f} ms/step", flush=True)

# The samples: one row per method, one column per data set.
figure, axes = plt.subplots(len(METHODS), len(DATA), figsize=(3 * len(DATA), 3 * len(METHODS)),
                            dpi=60)
for row, label in enumerate(METHODS):
    for column, data in enumerate(DATA):
        ax = axes[row, column]
        ax.set_xticks([]), ax.set_yticks([])
        if (label, data) not in samples:
            ax.text(0.5, 0.5, "diverged", ha="center", va="center", transform=ax.transAxes)
        elif data == "digits":
            grid = samples[label, data]
            side, rows = grid.shape[-1], len(grid) // 6
            ax.imshow(grid[:rows * 6].reshape(rows, 6, side, side).transpose(0, 2, 1, 3)
                      .reshape(rows * side, 6 * side), cmap="gray")
        else:
            centres = np.asarray(registry.get("data", data).factory(
                registry.get("data", data).options()).centres)
            points = np.asarray(samples[label, data])
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4)
            ax.scatter(centres[:, 0], centres[:, 1], s=12, c="tab:red", marker="x")
            ax.set_xlim(-2.2, 2.2), ax.set_ylim(-2.2, 2.2)
        if column == 0:
            ax.set_ylabel(label)
        if row == 0:
            ax.set_title(data)
figure.tight_layout()
figure.savefig(out / "samples.png")
plt.close(figure)


def cell(result: dict, keys: tuple[str, str], formats: tuple[str, str]) -> str:
    if "diverged" in result:
        return "diverged"
    return " / ".join(format(result[k], f) for k, f in zip(keys, formats))


rows = []
for label, (constraint, objective) in METHODS.items():
    r = results[label]
    variant = "".join(f" `{k.split('.')[1]}={v}`" for k, v in VARIANTS.get(label, {}).items())
    rows.append(f"| {label} | `{constraint}`{variant} + `{objective}` | "
                + " | ".join(cell(r[d], ("w1", "modes_captured"), (".3f", ".0f"))
                             for d in DATA[:2])
                + f" | {cell(r['digits'], ('classifier_fid', 'classes_covered'), ('.1f', '.0f'))}"
                + " | " + " / ".join(f"{r[d]['seconds_per_step'] * 1000:.0f}"
                                     if "seconds_per_step" in r[d] else "–" for d in DATA)
                + " |")
body = f"""
{size['steps']} generator steps per run, seed {args.seed}, nets `mlp` ({size['hidden']} hidden
units). Points: exact W1 of {size['eval_points']} samples to held-out points (lower is better) /
modes captured. Digits: classifier FID of {n_images} samples against {n_images} held-out digits
(lower is better; real vs real: {floor['classifier_fid']:.1f}) / classes covered (of 10; real:
{floor['classes_covered']}). Milliseconds per generator step on 8 Gaussians / 25 Gaussians /
digits.

| method | constraint + objective | 8 Gaussians: W1 / modes (of 8) | 25 Gaussians: W1 / modes (of 25) | digits: FID / classes | ms per step |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

![samples of every run](samples.png)
"""
numbers = {"steps": size["steps"], "seed": args.seed, "quick": args.quick,
           "threads": torch.get_num_threads(), "real_digits_floor": floor,
           "methods": {label: {"constraint": c, "objective": o,
                               "options": VARIANTS.get(label, {}), "results": results[label]}
                       for label, (c, o) in METHODS.items()}}
experiment.write_results(out, "Lipschitz methods after WGAN-GP", body, numbers)
