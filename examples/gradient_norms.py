"""Gradients through a deep critic: weight clipping makes them explode or vanish, the penalty not.

Claim (WGAN-GP Section 4, "Exploding and vanishing gradients", Figure 1b): training WGAN on the
swiss roll with 12-layer ReLU MLPs (no batch norm) for generator and critic, the norm of the
gradient of the critic loss with respect to successive layers of activations grows or decays
exponentially with depth for every clipping threshold c ∈ {0.1, 0.01, 0.001}, and stays stable
with the gradient penalty; clipping pushes the critic's weights to the two values ±c.

Each run is `wgan_kit.compose(...).train()` with the published settings of its recipe:
`wgan-clip` (RMSProp α = 5e-5, n_critic 5, batch 64, c set per run) and `wgan-gp` (Adam
α = 1e-4, β = (0, 0.9), λ = 10, n_critic 5, batch 64). After training, forward hooks on the
critic's ReLUs keep each hidden layer's activations h_1 … h_12 (h_1 next to the input), and
‖∂L/∂h_l‖ is measured for the critic loss L = E[D(G(z))] − E[D(x)] (without the penalty, the
same quantity for every run), averaged over batches of held-out real and generated points. A
straight line fitted to log10 ‖∂L/∂h_l‖ against l gives the slope per layer: negative means the
gradient grows going back toward the input (explodes), positive that it shrinks (vanishes).

How the small version differs: 300 generator steps (1,500 critic steps) per run, where the paper
does not say how long it trained; 512 hidden units as the toy code.

    python examples/gradient_norms.py --quick --out /tmp/gradient_norms   # ~10 s, checks the script
    python examples/gradient_norms.py --threads 1 --seed 0                # the full run, ~9 min
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

import experiment
import wgan_kit

DEPTH = 12  # hidden layers of generator and critic
CLIPS = (0.1, 0.01, 0.001)
HISTOGRAMS = ("clip c=0.01", "gp")  # the paper's weight histograms: clipping (top), GP (bottom)

parser = experiment.command_line("gradient_norms", __doc__)
args = parser.parse_args()
out = experiment.prepare(args)
# generator steps, hidden units, batches behind each gradient norm
STEPS, HIDDEN, BATCHES = (3, 16, 2) if args.quick else (300, 512, 10)

RUNS = {**{f"clip c={c:g}": ("wgan-clip", {"constraint.c": c}) for c in CLIPS},
        "gp": ("wgan-gp", {})}


def layer_gradient_norms(trainer: wgan_kit.Trainer) -> np.ndarray:
    """‖∂L/∂h_l‖ for each hidden layer l = 1 … DEPTH of the critic, averaged over BATCHES batches
    of held-out real and generated samples. Measured on a float64 copy of the critic: with small
    c the gradients at the input side fall below float32's range (1e-38) and would read 0."""
    critic = copy.deepcopy(trainer.critic).double()
    objective, m = trainer.parts.objective, trainer.run.batch_size
    activations: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        output.retain_grad()
        activations.append(output)

    for module in critic.modules():
        if isinstance(module, nn.ReLU):  # the copy is thrown away, its hooks with it
            module.register_forward_hook(keep)
    real = trainer.parts.data.held_out(BATCHES * m, device=trainer.device).double()
    with torch.no_grad():
        fake = trainer.sample(BATCHES * m).double()
    norms = []
    for real_batch, fake_batch in zip(real.split(m), fake.split(m)):
        activations.clear()
        scores = critic(torch.cat([real_batch, fake_batch]))
        objective.critic_loss(scores[:m], scores[m:]).backward()
        norms.append([h.grad.norm().item() for h in activations])
    return np.mean(norms, axis=0)


def share_at_extremes(critic: nn.Module) -> float:
    """Share of the critic's parameters within 1% of its largest |w| (clipping: of ±c)."""
    weights = torch.cat([p.detach().flatten() for p in critic.parameters()]).abs()
    return float((weights >= 0.99 * weights.max()).float().mean())


layers = np.arange(1, DEPTH + 1)
numbers: dict = {"steps": STEPS, "hidden": HIDDEN, "depth": DEPTH, "runs": {}}
weights, rows = {}, []
for label, (recipe, options) in RUNS.items():
    trainer = wgan_kit.compose(recipe=recipe, data="swissroll", gen="mlp", critic="mlp",
                               seed=args.seed, device="cpu", steps=STEPS,
                               log_every=max(STEPS // 10, 1),
                               options={"gen.depth": DEPTH, "critic.depth": DEPTH,
                                        "gen.hidden": HIDDEN, "critic.hidden": HIDDEN, **options})
    metrics = trainer.train()
    norms = layer_gradient_norms(trainer)
    slope = float(np.polyfit(layers, np.log10(norms), 1)[0])
    result = {"recipe": recipe, "layer_gradient_norms": norms.tolist(), "slope_per_layer": slope,
              "factor_per_layer_toward_input": 10 ** -slope,
              "first_to_last_ratio": float(norms[0] / norms[-1]),
              "share_at_extremes": share_at_extremes(trainer.critic),
              "max_abs_weight": max(p.abs().max().item() for p in trainer.critic.parameters()),
              "final_wasserstein_estimate": metrics["wasserstein"]}
    numbers["runs"][label] = result
    weights[label] = np.concatenate([p.detach().numpy().ravel()
                                     for p in trainer.critic.parameters() if p.dim() >= 2])
    rows.append(f"| {label} | {norms[0]:.3g} | {norms[-1]:.3g} | {slope:+.3f} | "
                f"{10 ** -slope:.3g}× | {result['share_at_extremes']:.3f} | "
                f"{metrics['wasserstein']:.3g} |")
    print(rows[-1], flush=True)

figure = Figure(figsize=(11, 4.4), dpi=90)
grid = figure.add_gridspec(2, 2, width_ratios=(1.2, 1))
curves = figure.add_subplot(grid[:, 0])
for label, result in numbers["runs"].items():
    curves.semilogy(layers, result["layer_gradient_norms"], marker="o", label=label)
curves.set(title="Gradient norm of the critic loss per layer",
           xlabel="critic layer l (1: input side)", ylabel="‖∂L/∂h_l‖", xticks=layers)
curves.grid(alpha=0.3)
curves.legend(fontsize="small")
for row, label in enumerate(HISTOGRAMS):
    axes = figure.add_subplot(grid[row, 1])
    axes.hist(weights[label], bins=100, color="tab:blue")
    axes.set_title(f"critic weights, {label}", fontsize="medium")
    axes.set_yticks([])
    axes.locator_params(axis="x", nbins=5)
figure.suptitle("Deep WGAN critics on the swiss roll (WGAN-GP Figure 1b)")
figure.tight_layout()
figure.savefig(out / "gradient_norms.png")

runs = numbers["runs"]
steep = [label for label in runs if label != "gp"
         and abs(runs[label]["slope_per_layer"]) > 2 * abs(runs["gp"]["slope_per_layer"])]
numbers["clip_runs_steeper_than_gp"] = len(steep)
body = f"""
WGAN on the swiss roll, generator and critic {DEPTH}-layer ReLU MLPs of {HIDDEN} units without
batch norm, {STEPS} generator steps each (seed {args.seed}); the gradient norms are measured after
training, averaged over {BATCHES} batches of held-out real and generated points.

![gradient norms and weights](gradient_norms.png)

*slope*: of the line fitted to log10 ‖∂L/∂h_l‖ against the layer l (negative: the gradient grows
toward the input, i.e. explodes; positive: it vanishes); *factor*: the gradient's growth per layer
going toward the input (10^−slope); *at extremes*: share of the critic's parameters within 1% of
its largest |w| (±c for clipping).

| run | ‖∂L/∂h_1‖ | ‖∂L/∂h_{DEPTH}‖ | slope per layer | factor per layer | at extremes | final W estimate |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

{len(steep)} of {len(CLIPS)} clipping runs have a slope more than twice as steep as the penalty's.
"""
experiment.write_results(out, "Gradient norms in deep WGAN critics (WGAN-GP Figure 1b)", body,
                         numbers)
