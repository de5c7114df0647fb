"""Value surfaces of optimal critics: weight clipping underuses the critic's capacity.

Claim (WGAN-GP Section 4, "Capacity underuse", Figure 1a): a critic trained to optimality under
weight clipping learns an extremely simple function that ignores the higher moments of the data,
while a critic trained with the gradient penalty follows the data's structure.

As in the paper (and its released gan_toy.py with FIXED_GENERATOR), the "generator" is held fixed at
the real data plus unit-variance Gaussian noise, the critic is the toy code's 3×512 ReLU MLP without
batch norm, and each critic is trained alone with its own published settings: clipping at c = 0.01
with RMSProp α = 5e-5; the penalty at λ = 0.1 with Adam α = 1e-4, β = (0.5, 0.9); batch 256. The
toolkit's loop always trains a generator too, so this script runs the critic steps itself, with
the composed trainer's own critic, optimizer, objective, constraint and data.

How the small version differs: each critic gets 2,000 critic steps, where gan_toy.py runs
500,000 (the paper says "to optimality"); the clipped critic's estimate stops moving after ~1,500,
the penalised one's still grows slowly (λ = 0.1 is weak: its optimal slope is ≈ 1 + W1/(2λ) ≈ 5,
not 1). What the figure shows is measured on held-out points and on the plotted square [−3, 3]²
(gan_toy.py's RANGE): how well D follows −(distance to the nearest real point), the shape of the
optimal critic here; the R² of the best quadratic fit to the surface (near 1: a bowl that ignores
the data's shape); and the critic's Wasserstein estimate divided by its largest gradient norm as a
share of the exact W1 of the two point sets.

    python examples/value_surfaces.py --quick --out /tmp/value_surfaces   # seconds: checks the script
    python examples/value_surfaces.py --threads 1 --seed 0                # full run, 12-14 min
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

import experiment
import wgan_kit
from wgan_kit.core.protocols import project_weights
from wgan_kit.evaluation import exact_w1

DATA_SETS = ("8gaussians", "25gaussians", "swissroll")
CONSTRAINTS = {"clip": "weight clipping", "gp": "gradient penalty"}
PLANE = 3.0  # the surfaces are drawn and measured on [−PLANE, PLANE]², gan_toy.py's RANGE

parser = experiment.command_line("value_surfaces", __doc__)
args = parser.parse_args()
out = experiment.prepare(args)
# critic steps, hidden units, held-out points per measurement, grid points per side
STEPS, HIDDEN, N_POINTS, GRID = (40, 32, 256, 40) if args.quick else (2000, 512, 2048, 128)


def fixed_generator(real: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
    """gan_toy.py's FIXED_GENERATOR: the real batch plus N(0, I) noise."""
    return real + torch.randn(real.shape, generator=noise, device=real.device)


def train_critic(data: str, constraint: str) -> wgan_kit.Trainer:
    """A composed trainer whose critic has been trained alone, against the fixed generator."""
    # He-uniform, as the released TF gan_toy.py that drew Figure 1 (the mlp's points default is
    # its PyTorch port's N(0, 0.02)), and that code's step sizes: Adam at 1e-4 with the penalty,
    # RMSProp at 5e-5 with clipping (wgan-kit's toy default is 3e-4).
    trainer = wgan_kit.compose(data=data, critic="mlp", constraint=constraint, seed=args.seed,
                               device="cpu", lr=1e-4 if constraint == "gp" else 5e-5,
                               options={"critic.hidden": HIDDEN, "critic.init": "he"})
    critic, parts, optimizer = trainer.critic, trainer.parts, trainer.critic_optimizer
    real_batches = parts.data.batches(trainer.run.batch_size, seed=args.seed,
                                      device=trainer.device)
    for _ in range(STEPS):
        real = next(real_batches)
        fake = fixed_generator(real)
        loss = parts.objective.critic_loss(critic(real), critic(fake))
        penalty = parts.constraint.penalty(critic, real, fake)
        if penalty is not None:
            loss = loss + penalty.value
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        project_weights(parts.constraint, critic)  # weight clipping; nothing for the penalty
    return trainer


def values_and_gradient_norms(critic: torch.nn.Module, points: torch.Tensor
                              ) -> tuple[np.ndarray, np.ndarray]:
    """D(x) and ‖∇D(x)‖ at each point."""
    points = points.detach().clone().requires_grad_(True)
    values = critic(points)
    (gradient,) = torch.autograd.grad(values.sum(), points)
    return values.detach().numpy(), gradient.norm(dim=1).numpy()


def quadratic_fit_r2(xy: np.ndarray, values: np.ndarray) -> float:
    """R² of the least-squares fit of a + bx + cy + dx² + exy + fy² to the values."""
    x, y = xy.T
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coefficients
    return float(1 - residual.var() / values.var())


def distance_fit_r2(values: np.ndarray, points: torch.Tensor, real: torch.Tensor) -> float:
    """R² of the best line through (−distance to the nearest real point, D(x)) over the points.

    An optimal critic against real data plus noise falls with slope 1 away from the data:
    D*(x) ≈ const − distance(x, data), each noisy point being carried to the data nearest it."""
    reference = -torch.cdist(points, real).min(dim=1).values.numpy()
    return float(np.corrcoef(reference, values)[0, 1] ** 2)


def share_at_extremes(critic: torch.nn.Module) -> float:
    """Share of the critic's parameters within 1% of its largest |w| (clipping: of ±c)."""
    weights = torch.cat([p.detach().flatten() for p in critic.parameters()]).abs()
    return float((weights >= 0.99 * weights.max()).float().mean())


axis = torch.linspace(-PLANE, PLANE, GRID)
grid = torch.cartesian_prod(axis, axis)  # (x, y) pairs, x slowest
noise = torch.Generator().manual_seed(args.seed)  # the held-out "fake" points
figure = Figure(figsize=(12, 8.4), dpi=90)
panels = figure.subplots(2, 3)
rows, numbers = [], {"steps": STEPS, "hidden": HIDDEN, "n_points": N_POINTS, "critics": {}}

for column, data in enumerate(DATA_SETS):
    trainers = {constraint: train_critic(data, constraint) for constraint in CONSTRAINTS}
    real = trainers["clip"].parts.data.held_out(N_POINTS, device=trainers["clip"].device)
    fake = fixed_generator(real, noise)
    w1 = exact_w1(real.numpy(), fake.numpy())
    for row, (constraint, trainer) in enumerate(trainers.items()):
        critic = trainer.critic
        real_values, real_norms = values_and_gradient_norms(critic, real)
        fake_values, fake_norms = values_and_gradient_norms(critic, fake)
        surface, surface_norms = values_and_gradient_norms(critic, grid)
        estimate = float(real_values.mean() - fake_values.mean())
        largest_norm = float(max(surface_norms.max(), real_norms.max(), fake_norms.max()))
        result = {
            "w_estimate": estimate,
            "max_grad_norm": largest_norm,
            "mean_grad_norm_at_points": float(np.concatenate([real_norms, fake_norms]).mean()),
            "exact_w1": w1,
            "w1_share": estimate / largest_norm / w1,
            "distance_r2": distance_fit_r2(fake_values, fake, real),
            "quadratic_r2": quadratic_fit_r2(grid.numpy(), surface),
            "share_at_extremes": share_at_extremes(critic),
        }
        numbers["critics"][f"{data}/{constraint}"] = result
        rows.append(f"| {data} | {CONSTRAINTS[constraint]} | {estimate:.4g} | "
                    f"{largest_norm:.4g} | {result['mean_grad_norm_at_points']:.4g} | "
                    f"{w1:.3f} | {result['w1_share']:.3f} | {result['distance_r2']:.3f} | "
                    f"{result['quadratic_r2']:.3f} | "
                    f"{result['share_at_extremes']:.3f} |")
        print(rows[-1], flush=True)

        axes = panels[row, column]
        axes.contourf(axis.numpy(), axis.numpy(), surface.reshape(GRID, GRID).T, levels=30,
                      cmap="viridis")
        shown = slice(0, 500)
        axes.scatter(*fake[shown].numpy().T, s=2, c="tab:green", alpha=0.5, label="fixed 'fake'")
        axes.scatter(*real[shown].numpy().T, s=2, c="tab:orange", alpha=0.8, label="real")
        axes.set(xlim=(-PLANE, PLANE), ylim=(-PLANE, PLANE), aspect="equal", xticks=[], yticks=[])
        axes.set_title(f"{data}: {CONSTRAINTS[constraint]}", fontsize="medium")

panels[0, 0].legend(loc="lower left", markerscale=4, fontsize="small")
figure.suptitle("Critic value surfaces against a fixed generator (WGAN-GP Figure 1a); "
                "top: weight clipping, bottom: gradient penalty")
figure.tight_layout()
figure.savefig(out / "value_surfaces.png")

critics = numbers["critics"]
follows_less = [critics[f"{d}/clip"]["distance_r2"] < critics[f"{d}/gp"]["distance_r2"]
                for d in DATA_SETS]
simpler = [critics[f"{d}/clip"]["quadratic_r2"] > critics[f"{d}/gp"]["quadratic_r2"]
           for d in DATA_SETS]
weaker = [critics[f"{d}/clip"]["w1_share"] < critics[f"{d}/gp"]["w1_share"] for d in DATA_SETS]
numbers["clip_follows_data_less_on"] = sum(follows_less)
numbers["clip_simpler_on"] = sum(simpler)
numbers["clip_attains_less_w1_on"] = sum(weaker)
body = f"""
Critics trained alone for {STEPS} steps ({HIDDEN} hidden units, 3 ReLU layers, seed {args.seed})
against the fixed generator "real data + N(0, I)"; every number on {N_POINTS} held-out real
points, the same points plus noise, and a {GRID}×{GRID} grid over [−{PLANE:g}, {PLANE:g}]².

![value surfaces](value_surfaces.png)

- *W estimate*: E[D(real)] − E[D(fake)]; *max ‖∇D‖*: largest gradient norm on the grid and points;
- *W1 share*: W estimate / max ‖∇D‖ / exact W1 — how much of the true distance the critic's shape
  attains once its slope is normalized (1 for an optimal 1-Lipschitz critic);
- *distance R²*: at the "fake" points, the squared correlation of D with −(distance to the
  nearest real point), the shape of the optimal critic here (each noisy point is carried to the
  data nearest it, D* falling with slope 1 away from the data): 1 when the critic follows the data;
- *quadratic R²*: how well a quadratic a + bx + cy + dx² + exy + fy² fits the surface (1: a bowl
  or a ramp, with nothing of the data's shape);
- *at extremes*: share of the critic's parameters within 1% of its largest |w| (±c for clipping).

| data | constraint | W estimate | max ‖∇D‖ | mean ‖∇D‖ at points | exact W1 | W1 share | distance R² | quadratic R² | at extremes |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Clipping's critic follows the data's shape less than the penalty's (lower distance R²) on
{sum(follows_less)} of 3 data sets, is closer to a quadratic on {sum(simpler)} of 3, and attains a
smaller share of W1 on {sum(weaker)} of 3.
"""
experiment.write_results(out, "Value surfaces of optimal critics (WGAN-GP Figure 1a)", body,
                         numbers)
