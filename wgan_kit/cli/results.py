"""`wgan-kit sample`, `eval` and `report`: what a run's checkpoints give; `fetch-inception`: the
weights of eval's Inception Score."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import WganKitError
from ..evaluation.defaults import EVAL_SAMPLES
from .app import app, fail, stdout
from .flags import Plugins, Threads, set_threads

Best = Annotated[bool, typer.Option(
    "--best", help="best.safetensors, the step that scored best while training (a run trained "
                   "with --set run.eval_every=N), instead of the last checkpoint.")]


@app.command(epilog="**Example**\n\n`wgan-kit sample runs/X --n 500 --out samples.png`")
def sample(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder.")],
    out: Annotated[Path, typer.Option(help="Output: .png (a picture), .txt (text data: one "
                                           "line per sample) or .safetensors (the raw samples "
                                           "under the key 'samples').")],
    n: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many samples.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the latent points.")] = 0,
    ema: Annotated[Optional[bool], typer.Option(
        "--ema/--no-ema", help="The moving average of the generator's weights, or the live "
                               "weights [default: the average when the run keeps one].")] = None,
    label: Annotated[Optional[int], typer.Option(
        "--class", min=0, help="A conditional run's class to draw [default: every class in "
                               "turn].")] = None,
    best: Best = False,
    threads: Threads = None,
    plugin: Plugins = None,
) -> None:
    """Draw samples from a run's last checkpoint (or its best: --best)."""
    set_threads(threads)
    try:
        from ..core.registry import load_registry_with
        from ..evaluation.sampling import sample_to

        written = sample_to(run_dir, out, n=n, seed=seed, ema=ema, label=label, best=best,
                            registry=load_registry_with(plugin or []))
    except WganKitError as exc:
        raise fail(exc.problems) from None
    print(f"wrote {n} samples to {written}", file=sys.stderr)


@app.command("eval", epilog="**Examples**\n\n`wgan-kit eval runs/X`  —  a table\n\n"
                            "`wgan-kit eval runs/X --json --n 1000`")
def eval_(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder.")],
    n: Annotated[int, typer.Option(min=2, max=1_000_000,
                                   help="Generated samples (and real ones) to compare; report "
                                        "--eval and sweeps take the same default.")
                 ] = EVAL_SAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the latent points.")] = 0,
    features: Annotated[Optional[str], typer.Option(
        help="Images: the feature extractor of FID/KID, e.g. inception or classifier "
             "[default: classifier on labelled data, else inception].")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="features.key=value, repeatable: an option of the feature extractor, "
                      "e.g. --set features.steps=200.")] = None,
    real_stats: Annotated[Optional[Path], typer.Option(
        "--real-stats", metavar="FILE.npz",
        help="Images: also the FID against the mean 'mu' and covariance 'sigma' of real features "
             "in this file (pytorch-fid's and clean-fid's format), made with the same "
             "--features.")] = None,
    save_stats: Annotated[Optional[Path], typer.Option(
        "--save-stats", metavar="FILE.npz",
        help="Images: write the mean and covariance of --n held-out real samples' features to "
             "this file (the format --real-stats reads) instead of scoring.")] = None,
    inception_weights: Annotated[Optional[Path], typer.Option(
        "--inception-weights", metavar="FILE",
        help="Images: pt_inception-2015-12-05-6726825d.pth, checked by its SHA-256, for the "
             "Inception Score (implies --features inception) [default: "
             "$WGAN_KIT_INCEPTION_WEIGHTS, else the file `wgan-kit fetch-inception` "
             "keeps].")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    best: Best = False,
    threads: Threads = None,
    plugin: Plugins = None,
) -> None:
    """Score a run's last checkpoint (or its best: --best) with the metrics that fit its data.

    Points: exact W1 to held-out real points, and for Gaussian mixtures the modes captured (≥ 20
    high-quality samples per 2,500; high-quality: within 3σ of the nearest centre) and the share of
    high-quality samples. Text: Jensen–Shannon divergence (bits) of 1- to 4-gram distributions,
    with a real-vs-real baseline. Images: FID and KID on the chosen features, and with the
    published Inception weights the Inception Score (± its std over 10 splits). Points and
    images: precision, recall, density and coverage (k = 3 nearest neighbours). Under the scores,
    the protocol: features and their SHA-256, resize, sample counts, real split, libraries, seed.
    """
    set_threads(threads)
    try:
        from ..core.layers import parse_assignments
        from ..core.registry import load_registry_with

        options = parse_assignments(set_ or [], sections=("features",)).get("features", {})
        from ..evaluation.inception_weights import with_inception_weights
        from ..evaluation.scores import evaluate, save_real_stats
        from ..training.composition import resume as resume_run

        features, options = with_inception_weights(features, options, inception_weights)
        registry = load_registry_with(plugin or [])
        trainer = resume_run(run_dir, registry=registry, best=best)
        if save_stats is not None:
            written = save_real_stats(trainer.parts.data, save_stats, n, features=features,
                                      feature_options=options, registry=registry)
        else:
            result = evaluate(trainer, n, seed=seed, features=features, feature_options=options,
                              registry=registry, run=str(run_dir), real_stats=real_stats)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    if save_stats is not None:
        print(f"wrote the real statistics to {written}", file=sys.stderr)
        return
    if json_:
        print(json.dumps(result.to_json(), indent=2))
        return
    table = Table("metric", "value", "meaning", title=f"{run_dir} at step {result.step}, "
                                                      f"n = {result.n}")
    for score in result.scores:
        table.add_row(score.name, f"{score.value:.4g}", score.note)
    stdout.print(table)
    stdout.print("protocol\n" + "\n".join(f"  {line}" for line in result.protocol_lines()),
                 highlight=False, markup=False, soft_wrap=True)


@app.command("fetch-inception", epilog="**Example**\n\n`wgan-kit fetch-inception`  —  once, on "
                                       "a connected machine; then copy the cache folder")
def fetch_inception(
    url: Annotated[Optional[str], typer.Option(
        help="Where to download from (a mirror, or a file:// URL) [default: pytorch-fid's "
             "release].")] = None,
) -> None:
    """Download the Inception Score's weights into the cache, checked by their SHA-256.

    The file is pt_inception-2015-12-05-6726825d.pth (pytorch-fid's, torch-fidelity's); it goes
    to ~/.cache/wgan-kit/weights (or $WGAN_KIT_CACHE/weights) only if its SHA-256 starts with the
    published 6726825d, and a matching cached copy is kept as it is. `eval` then finds it there.
    """
    try:
        from ..evaluation.inception_weights import fetch

        path, sha256 = fetch(url=url)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    print(f"inception weights: {path} (sha256 {sha256})", file=sys.stderr)


@app.command(epilog="**Examples**\n\n`wgan-kit report runs/X`  —  runs/X/report.html\n\n"
                     "`wgan-kit report runs/gp runs/clip --out compare.html --eval`  —  "
                     "curves overlaid, scores side by side\n\n"
                     "`wgan-kit report runs/lambda`  —  a sweep's page, runs/lambda/report.html")
def report(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...",
                                                   help="Run folders, or one sweep folder.")],
    out: Annotated[Optional[Path], typer.Option(
        help="The HTML page to write [default for one run or a sweep: DIR/report.html; "
             "several runs need one].")] = None,
    eval_: Annotated[bool, typer.Option("--eval", help="Add `wgan-kit eval`'s scores.")] = False,
    n: Annotated[int, typer.Option(min=2, max=1_000_000,
                                   help="Samples for --eval's scores (eval's default too).")
                 ] = EVAL_SAMPLES,
    plugin: Plugins = None,
    threads: Threads = None,
) -> None:
    """One self-contained HTML page about one or more runs: config, metrics, overlaid curves,
    latest samples, the critic's weight histogram and, for 2-D points, its value surface. For a
    sweep's folder: the metric against each varied setting, the trials, the best trials' curves
    and samples."""
    set_threads(threads)
    try:
        from ..core.registry import load_registry_with
        from ..evaluation.report import write_report
        from ..experiments import is_sweep_folder, sweep_status, write_sweep_report

        if len(run_dirs) == 1 and is_sweep_folder(run_dirs[0]):
            out = write_sweep_report(*sweep_status(run_dirs[0]), run_dirs[0],
                                     out or run_dirs[0] / "report.html")
        else:
            out = write_report(run_dirs, out, evaluate_n=n if eval_ else None,
                               registry=load_registry_with(plugin or []))
    except WganKitError as exc:
        raise fail(exc.problems) from None
    print(f"wrote {out}", file=sys.stderr)
