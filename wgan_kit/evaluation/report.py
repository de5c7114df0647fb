"""`wgan-kit report`: one self-contained HTML page (pictures inlined as PNG) about one or more runs.

For each run: its config, the last logged metrics (and `wgan-kit eval`'s scores on request), the
latest samples, the critic's weight histogram (WGAN-GP Figure 1b, right: clipping piles weights at
±c) and, for 2-D points, the critic's value surface over the plane with real and generated points
(Figure 1a). Curves of all runs are overlaid: the Wasserstein estimate and the critic loss on a
training vs a held-out batch (Figure 5b) against step and wall clock, the penalty, the gradient
norms at the interpolates and the Lipschitz violation rate, and the score a run was kept by while
it trained (run.eval_every) with its best.safetensors step marked.

Wall clock is rebuilt from the logged generator steps per second; plots use matplotlib's Agg canvas.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.run_folder import RunFolder
from ..errors import WganKitError
from .defaults import EVAL_SAMPLES
from .pictures import plain_text

if TYPE_CHECKING:
    from ..core.registry import Registry

FIGURE_INCHES = (6.4, 4.0)
DPI = 100  # every plot is 640 × 400 pixels
SURFACE_INCHES = (5.0, 5.0)  # the value surface is square: 500 × 500

# (title, y label, metric keys) of the overlaid curves; "time" variants plot against wall clock.
CURVES: list[tuple[str, str, tuple[str, ...], str]] = [
    ("Wasserstein estimate E[D(x)] − E[D(G(z))]", "estimate", ("wasserstein",), "step"),
    ("Wasserstein estimate against wall clock", "estimate", ("wasserstein",), "time"),
    ("Critic loss: training vs held-out batch (Figure 5b)", "critic loss",
     ("critic_loss_train_batch", "critic_loss_heldout_batch"), "step"),
    ("Critic loss: training vs held-out batch, against wall clock", "critic loss",
     ("critic_loss_train_batch", "critic_loss_heldout_batch"), "time"),
    ("Penalty", "penalty", ("penalty",), "step"),
    ("Gradient norm ‖∇D(x̂)‖ at interpolates: mean and max", "norm",
     ("grad_norm", "grad_norm_max"), "step"),
    ("Lipschitz violation rate: share of interpolates with ‖∇D(x̂)‖ > 1", "share",
     ("lipschitz_violation",), "step"),
]


@dataclass
class RunPictures:
    """What the report shows of one run."""

    name: str
    config: str
    metrics: list[dict[str, float]]
    samples: bytes | None = None
    pictures: list[tuple[str, bytes]] = field(default_factory=list)
    scores: list[tuple[str, float, str]] = field(default_factory=list)
    scored_on: int | None = None  # the generated samples the scores were taken on
    protocol: dict[str, Any] | None = None  # how they were taken (eval --json's "protocol")
    protocol_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    best: dict[str, Any] | None = None  # what best.safetensors records of its score, if kept


def read_metrics(folder: RunFolder) -> list[dict[str, float]]:
    if not folder.metrics.exists():
        return []
    return [json.loads(line) for line in folder.metrics.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def wall_clock(lines: Sequence[dict[str, float]]) -> list[float]:
    """Seconds of training at each logged line: the sum of steps / (steps per second)."""
    seconds, previous_step, elapsed = [], 0, 0.0
    for line in lines:
        if "gen_steps_per_s" not in line and len(line) > 1:  # a score alone (run.eval_every)
            seconds.append(elapsed)  # the next line's rate covers the steps since the last
            continue
        rate = line.get("gen_steps_per_s") or float("nan")
        elapsed += (line["step"] - previous_step) / rate
        previous_step = line["step"]
        seconds.append(elapsed)
    return seconds


def new_figure(inches: tuple[float, float] = FIGURE_INCHES, layout: str | None = None):
    from matplotlib.figure import Figure  # the Agg canvas, without pyplot's global state

    figure = Figure(figsize=inches, dpi=DPI, layout=layout)
    return figure, figure.subplots()


def png_bytes(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)  # no tight box: the size stays as asked
    return buffer.getvalue()


@plain_text  # run names are folder names: `$` or `_` in one must not be read as mathtext
def curve_png(runs: Sequence[tuple[str, Sequence[dict[str, float]]]], keys: Sequence[str],
              x: str, title: str, ylabel: str) -> bytes | None:
    """One line per (run, key) against "step" or "time"; None when no run logged any key."""
    figure, axes = new_figure()
    drawn = False
    for name, lines in runs:
        clock = wall_clock(lines)
        for key in keys:
            points = [(clock[i] if x == "time" else line["step"], line[key])
                      for i, line in enumerate(lines) if key in line]
            if points:
                label = name if len(keys) == 1 else f"{name}: {key}"
                axes.plot(*zip(*points), marker="." if len(points) < 30 else None, label=label)
                drawn = True
    if not drawn:
        return None
    axes.set(title=title, xlabel="generator step" if x == "step" else "wall clock (s)",
             ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    return png_bytes(figure)


@plain_text
def score_curve_png(runs: Sequence[RunPictures], key: str) -> bytes | None:
    """The score a run was kept by while it trained (`key`, e.g. eval_w1) over steps, one line
    per run, each run's best.safetensors step marked; None when no run logged it."""
    figure, axes = new_figure()
    drawn = False
    for run in runs:
        points = [(line["step"], line[key]) for line in run.metrics if key in line]
        if not points:
            continue
        (line,) = axes.plot(*zip(*points), marker=".", label=run.name)
        best = run.best if run.best and run.best.get("name") == key else None
        if best is not None:
            axes.plot([best["step"]], [best["value"]], marker="*", markersize=14,
                      color=line.get_color(), linestyle="none",
                      label=f"{run.name}: best.safetensors, step {best['step']}")
        drawn = True
    if not drawn:
        return None
    axes.set(title=f"{key} while training (lower is better)",
             xlabel="generator step", ylabel=key)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    return png_bytes(figure)


@plain_text
def value_surface_png(critic: Any, real: np.ndarray, generated: np.ndarray,
                      resolution: int = 128) -> bytes:
    """The critic's value over the plane around the points (Figure 1a), real and generated on top."""
    import torch

    both = np.concatenate([real, generated])
    low, high = both.min(0), both.max(0)
    margin = 0.15 * (high - low).max() + 1e-6
    xs = np.linspace(low[0] - margin, high[0] + margin, resolution)
    ys = np.linspace(low[1] - margin, high[1] + margin, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    parameter = next(critic.parameters())
    critic.eval()
    try:
        with torch.no_grad():
            values = critic(torch.as_tensor(grid, dtype=parameter.dtype, device=parameter.device))
    finally:
        critic.train()
    figure, axes = new_figure(SURFACE_INCHES, layout="constrained")
    surface = axes.contourf(xs, ys, values.reshape(resolution, resolution).cpu().numpy(), levels=30,
                            cmap="viridis")
    figure.colorbar(surface, ax=axes, shrink=0.8, label="D(x)")
    axes.scatter(*real.T, s=3, c="tab:orange", alpha=0.6, label="real")
    axes.scatter(*generated.T, s=3, c="white", edgecolors="none", alpha=0.8, label="generated")
    axes.set(title="Critic value surface (Figure 1a)", aspect="equal")
    # Below the axes, never over the data: a mode may sit in any corner.
    figure.legend(loc="outside lower center", ncol=2, markerscale=3, fontsize="small",
                  facecolor="lightgrey")  # grey: the generated points are white
    return png_bytes(figure)


@plain_text
def weight_histogram_png(critic: Any) -> bytes:
    """All of the critic's weight matrices and kernels (not biases) in one histogram (Figure 1b)."""
    weights = np.concatenate([p.detach().float().cpu().numpy().ravel()
                              for p in critic.parameters() if p.dim() >= 2])
    figure, axes = new_figure()
    axes.hist(weights, bins=100, color="tab:blue")
    axes.set(title=f"Critic weights ({weights.size:,}) (Figure 1b, right)", xlabel="weight",
             ylabel="count")
    figure.tight_layout()
    return png_bytes(figure)


def collect(path: Path, *, evaluate_n: int | None = None,
            registry: Registry | None = None) -> RunPictures:
    """Everything the report shows of the run in `path` (its parts from `registry`)."""
    folder = RunFolder.open(path)
    run = RunPictures(folder.path.name, folder.config.read_text(encoding="utf-8"),
                      read_metrics(folder))
    pictures = sorted(folder.samples.glob("step-*.png")) if folder.samples.is_dir() else []
    if pictures:
        run.samples = pictures[-1].read_bytes()
    try:
        run.best = folder.best_score()
    except WganKitError as exc:
        run.notes.append(exc.problems[0])
    if not folder.checkpoint_steps():
        run.notes.append("no checkpoint yet: no critic pictures")
        return run
    from ..training.composition import resume

    trainer = resume(folder.path, registry=registry)
    data = trainer.parts.data
    if data.spec.kind == "points" and data.spec.shape == (2,):
        real = np.asarray(data.decode(data.held_out(1000, device=trainer.device)))
        generated = np.asarray(data.decode(trainer.sample(1000, latent=trainer.fixed_latent)))
        run.pictures.append(("Critic value surface", value_surface_png(trainer.critic, real,
                                                                       generated)))
    run.pictures.append(("Critic weights", weight_histogram_png(trainer.critic)))
    if evaluate_n:
        from .scores import evaluate

        result = evaluate(trainer, evaluate_n, run=str(path), registry=registry)
        run.scores = [(s.name, s.value, s.note) for s in result.scores]
        run.scored_on = result.n
        run.protocol = result.to_json()["protocol"]
        run.protocol_lines = result.protocol_lines()
    return run


def img_tag(png: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


def render(runs: Sequence[RunPictures]) -> str:
    """The page: curves of all runs, a metrics table, then each run's config and pictures."""
    curves = [(title, png) for title, ylabel, keys, x in CURVES
              if (png := curve_png([(r.name, r.metrics) for r in runs], keys, x, title, ylabel))]
    eval_keys = dict.fromkeys(k for r in runs for line in r.metrics for k in line
                              if k.startswith("eval_"))
    curves += [(f"{key} while training", png) for key in eval_keys
               if (png := score_curve_png(runs, key))]
    keys = list(dict.fromkeys(k for r in runs if r.metrics for k in r.metrics[-1]))
    header = "".join(f"<th>{html.escape(r.name)}</th>" for r in runs)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td>" + "".join(
            f"<td>{_number(r.metrics[-1].get(k)) if r.metrics else ''}</td>" for r in runs)
        + "</tr>" for k in keys)
    score_names = list(dict.fromkeys(name for r in runs for name, _, _ in r.scores))
    rows += "".join(
        f"<tr class=eval><td>eval: {html.escape(name)}</td>" + "".join(
            f"<td>{_number(dict((n, v) for n, v, _ in r.scores).get(name))}</td>" for r in runs)
        + "</tr>" for name in score_names)
    counts = sorted({r.scored_on for r in runs if r.scored_on})
    scored = (f"<p>eval: scores on {' / '.join(f'{n:,}' for n in counts)} generated samples "
              f"against as many held-out real ones, latent seed 0: what <code>wgan-kit eval RUN "
              f"--n {counts[0]}</code> gives (eval's default, and report's: {EVAL_SAMPLES:,})"
              "</p>") if counts else ""
    parts = [f"<h2>Curves</h2>{''.join(img_tag(png, title) for title, png in curves)}"
             if curves else "<p>No metrics logged yet.</p>",
             f"<h2>Metrics (last logged step)</h2><table><tr><th>metric</th>{header}</tr>"
             f"{rows}</table>{scored}"]
    for r in runs:
        notes = "".join(f"<p class=note>{html.escape(n)}</p>" for n in r.notes)
        scores = "".join(f"<li>{html.escape(n)}: {_number(v)} — {html.escape(note)}</li>"
                         for n, v, note in r.scores)
        protocol = (f"<details class=protocol><summary>eval protocol</summary><ul>"
                    + "".join(f"<li>{html.escape(line)}</li>" for line in r.protocol_lines)
                    + "</ul><pre>" + html.escape(json.dumps(r.protocol, indent=2))
                    + "</pre></details>") if r.protocol else ""
        samples = img_tag(r.samples, f"{r.name}: latest samples") if r.samples else ""
        pictures = "".join(img_tag(png, f"{r.name}: {title}") for title, png in r.pictures)
        parts.append(f"<h2>{html.escape(r.name)}</h2>{notes}"
                     + (f"<ul>{scores}</ul>{protocol}" if scores else "")
                     + f"<div>{samples}{pictures}</div>"
                     + f"<details><summary>config.toml</summary><pre>{html.escape(r.config)}"
                       "</pre></details>")
    title = "wgan-kit report: " + ", ".join(r.name for r in runs)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            + "".join(parts) + "</body></html>\n")


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))


STYLE = ("body{font-family:sans-serif;margin:2em;max-width:1400px}"
         "img{margin:4px;border:1px solid #ddd;vertical-align:top;max-width:100%}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
         "text-align:right}td:first-child{text-align:left}.note{color:#a60}"
         "pre{background:#f6f6f6;padding:1em}")


def write_report(paths: Sequence[Path], out: Path | None = None, *,
                 evaluate_n: int | None = None, registry: Registry | None = None) -> Path:
    """The page about the runs in `paths`, written to `out` (default for one run: its folder's
    report.html, as a sweep's page is); with `evaluate_n`, `wgan-kit eval`'s scores on that many
    samples (`EVAL_SAMPLES` is eval's own default). Returns where it went."""
    if out is None:
        if len(paths) != 1:
            raise WganKitError("--out: a page about several runs needs a name, e.g. --out "
                               "compare.html (one run's goes to RUN/report.html)")
        out = Path(paths[0]) / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise WganKitError(f"--out {out}: a report is an HTML page; name it *.html")
    page = render([collect(path, evaluate_n=evaluate_n, registry=registry) for path in paths])
    out.write_text(page, encoding="utf-8")
    return out
