"""The `wgan-kit` command line. torch loads only inside the commands that train or sample."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import typing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import WganKitError

if TYPE_CHECKING:
    from ..core.config import RunConfig
    from ..training.preflight import Preflight
    from ..core.registry import Recipe, Registry

app = typer.Typer(
    help="Train Wasserstein GANs (WGAN-GP, WGAN with clipping) and their baselines from plugins.\n\n"
         "Start with `wgan-kit run`: WGAN-GP on the 8-Gaussians toy set, about two minutes on a CPU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
plugins_app = typer.Typer(help="List the installed plugins and show their options.",
                          no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
recipes_app = typer.Typer(help="List the recipes (published settings as presets) and show one.",
                          no_args_is_help=True)
app.add_typer(recipes_app, name="recipes")
data_app = typer.Typer(help="Look at a data source before training on it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
stdout = Console(markup=False)  # summaries hold formulas such as E[max(0, ‖∇D‖ − 1)²]


def _fail(problems: list[str]) -> typer.Exit:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return typer.Exit(2)


def _registry(plugin_files: list[Path] | None = None):
    """The installed plugins, and the `--plugin` files, whose load errors are the user's."""
    from ..core.registry import LOCAL_PACKAGE, import_plugin_file, load_registry, register

    for path in plugin_files or []:
        register(import_plugin_file(path))
    registry = load_registry()
    failed = [f"--plugin {p.module}: {p.error}" for p in registry.plugins
              if p.package == LOCAL_PACKAGE and p.status != "ok"]
    if failed:
        raise WganKitError(failed)
    return registry


# The flags that choose and configure a run, defined once for `run` and `check`.
GenFlag = Annotated[Optional[str], typer.Option("--gen", help="Generator plugin, e.g. mlp.")]
CriticFlag = Annotated[Optional[str], typer.Option("--critic", help="Critic plugin, e.g. mlp.")]
ConstraintFlag = Annotated[Optional[str], typer.Option(
    "--constraint", help="Lipschitz constraint: gp (WGAN-GP), clip (WGAN), ...")]
ObjectiveFlag = Annotated[Optional[str], typer.Option("--objective", help="Objective, e.g. wgan.")]
DataFlag = Annotated[Optional[str], typer.Option(
    "--data", help="Data source: 8gaussians, 25gaussians, swissroll, ...")]
StepsFlag = Annotated[Optional[int], typer.Option("--steps", help="Generator steps to train for.")]
BatchSizeFlag = Annotated[Optional[int], typer.Option("--batch-size", help="Samples per step (m).")]
NCriticFlag = Annotated[Optional[int], typer.Option(
    "--n-critic", help="Critic steps per generator step.")]
SeedFlag = Annotated[Optional[int], typer.Option("--seed", help="Makes a CPU run repeatable.")]
DeviceFlag = Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
ConfigFlag = Annotated[Optional[Path], typer.Option(
    "--config", help="A TOML file of settings, e.g. a run's config.toml.")]
SetFlag = Annotated[Optional[list[str]], typer.Option(
    "--set", help="section.key=value, repeatable; e.g. --set gen.hidden=256 "
                  "(sections: run, gen, critic, constraint, objective, data).")]
ThreadsFlag = Annotated[Optional[int], typer.Option(
    "--threads", min=1, max=1024, help="CPU threads for torch [default: torch's choice].")]
PrecisionFlag = Annotated[Optional[str], typer.Option(
    "--precision", help="fp32, bf16 (autocast; fast on recent CPUs and GPUs) or fp16 (CUDA, with "
                        "a gradient scaler).")]
CompileFlag = Annotated[Optional[bool], typer.Option(
    "--compile/--no-compile", help="torch.compile the generator and the critic's plain passes "
                                   "(the penalty's pass stays eager).")]
RecipeFlag = Annotated[Optional[str], typer.Option(
    "--recipe", help="Start from published settings: wgan-gp, wgan-clip, dcgan, lsgan, ... "
                     "(`wgan-kit recipes list`).")]
PluginFlag = Annotated[Optional[list[Path]], typer.Option(
    "--plugin", help="A Python file to load as a plugin for this run (repeatable), e.g. one that "
                     "registers an objective.")]


PART_FLAGS = ("gen", "critic", "constraint", "objective", "data")
RUN_FLAGS = {"steps": "steps", "batch_size": "batch_size", "n_critic": "n_critic", "seed": "seed",
             "device": "device", "precision": "precision", "compile_": "compile"}


def _chosen(arguments: dict[str, Any]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """A command's part flags (section: plugin name) and run flags (setting: value)."""
    named = {section: arguments[section] for section in PART_FLAGS}
    flags = {setting: arguments[name] for name, setting in RUN_FLAGS.items() if name in arguments}
    return named, flags


def _layers(config: Path | None, named: dict[str, str | None], flags: dict[str, Any],
            assignments: list[str] | None) -> list[dict[str, dict[str, Any]]]:
    """The settings the shared flags give, as layers in order: --config < named flags < --set."""
    from ..core.config import load_toml, parse_assignments

    layers = [load_toml(config)] if config else []
    layers.append({s: {"name": v} for s, v in named.items() if v is not None})
    layers.append({"run": {k: v for k, v in flags.items() if v is not None}})
    layers.append(parse_assignments(assignments or []))
    return layers


def _resolved(arguments: dict[str, Any], registry: Registry) -> RunConfig:
    """The settings a command's flags choose, resolved: --recipe < --config < named flags < --set."""
    from ..training.composition import resolve_layers

    named, flags = _chosen(arguments)
    return resolve_layers(_layers(arguments["config"], named, flags, arguments["set_"]), registry,
                          recipe=arguments["recipe"])


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _report_preflight(report: Preflight, *, show: bool = True) -> None:
    """Warnings on stderr (when `show`), then one error line per failure, which refuses the run
    (exit 2)."""
    if show:
        print(report.summary(), file=sys.stderr)
        for c in report.warnings:
            print(f"warning: preflight {c.name} ({c.measured}): {c.advice}", file=sys.stderr)
    if report.failures:
        raise WganKitError([f"preflight {c.name} ({c.measured}): {c.advice}"
                            for c in report.failures])


@app.command(epilog="""**Examples**

`wgan-kit run`  —  WGAN-GP on 8 Gaussians, the toy code's settings

`wgan-kit run --gen mlp --critic mlp --constraint clip`  —  the original WGAN (weight clipping)

`wgan-kit run --recipe dcgan`  —  the DCGAN baseline with its paper's settings (`wgan-kit recipes list`)

`wgan-kit run --data swissroll --steps 5000 --set constraint.weight=1`

`wgan-kit run --config runs/X/config.toml`  —  repeat a run;  `--resume runs/X` continues it
""")
def run(
    gen: GenFlag = None,
    critic: CriticFlag = None,
    constraint: ConstraintFlag = None,
    objective: ObjectiveFlag = None,
    data: DataFlag = None,
    recipe: RecipeFlag = None,
    steps: StepsFlag = None,
    batch_size: BatchSizeFlag = None,
    n_critic: NCriticFlag = None,
    seed: SeedFlag = None,
    device: DeviceFlag = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Run folder [default: runs/<date-time>-<gen>-<constraint>].")] = None,
    config: ConfigFlag = None,
    set_: SetFlag = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue the run in this folder from its last checkpoint.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run in --out.")] = False,
    quiet: Annotated[bool, typer.Option(help="Plain log lines instead of a live bar.")] = False,
    threads: ThreadsFlag = None,
    plugin: PluginFlag = None,
    preflight: Annotated[bool, typer.Option(
        help="Check the run on a tiny batch first (`wgan-kit check`) and refuse it on a failure."
    )] = True,
    precision: PrecisionFlag = None,
    compile_: CompileFlag = None,
    nproc: Annotated[int, typer.Option(
        min=1, max=1024, help="Processes, one per device, training data-parallel (gloo on CPU, "
                              "nccl on CUDA); `torchrun -m wgan_kit run` works too.")] = 1,
) -> None:
    """Train a GAN: n_critic critic steps per generator step (Algorithm 1 of WGAN and WGAN-GP).

    Settings come, lowest first, from the defaults, the chosen plugins' published settings,
    `--recipe`, `--config`, the flags above and `--set`. The run folder gets config.toml,
    metrics.jsonl, safetensors checkpoints, pictures of samples and preflight.json.
    """
    arguments = dict(locals())
    from ..core.run_folder import RunFolder

    rank = None
    if nproc > 1 or "WORLD_SIZE" in os.environ:
        from ..training import distributed

        rank = distributed.from_environment()
        if rank is None and nproc > 1:
            try:
                _check_before_spawning(arguments)
            except WganKitError as exc:
                raise _fail(exc.problems) from None
            return _spawn_ranks(nproc, {**arguments, "nproc": 1})
    main = rank is None or rank.is_main
    finished = False  # whether every rank reaches the end together (see distributed.leave)
    try:
        if rank is not None:
            device = distributed.join(rank, device)
            threads = threads or distributed.threads_per_rank(rank, device)
        named, flags = _chosen({**arguments, "device": device})
        registry = _registry(plugin)
        if resume is not None:
            given = [f"--{k.replace('_', '-')}" for k, v in {**flags, **named}.items()
                     if v is not None and k not in ("steps", "device")]
            given += [flag for flag, v in (("--recipe", recipe), ("--config", config),
                                           ("--set", set_), ("--out", out),
                                           ("--overwrite", overwrite)) if v]
            if given:
                raise WganKitError(f"--resume continues a run as it was configured; drop "
                                   f"{', '.join(given)} (only --steps and --device may change)")
            from ..training.composition import resume as resume_run

            with distributed.main_first(rank) if rank else contextlib.nullcontext():
                trainer = resume_run(resume, registry=registry, steps=steps, device=device)
        else:
            from ..training.composition import build

            resolved = _resolved({**arguments, "device": device}, registry)
            out = out or Path("runs") / (f"{datetime.now():%Y%m%d-%H%M%S}-"
                                         f"{resolved.name_of('gen')}-"
                                         f"{resolved.name_of('constraint')}")
            if main:
                RunFolder.check(out, overwrite=overwrite)
            trainer = build(resolved, hooks=registry.hooks.hook)
        from ..training.interrupts import EXIT_STATUS, stop_gracefully
        from ..training.progress import BarProgress, LineProgress

        _set_threads(threads)
        report = None
        if preflight:  # on every rank, before sharding: its steps need no collectives
            from ..training.preflight import run_preflight

            report = run_preflight(trainer, registry)
            _report_preflight(report, show=main)  # a failure refuses the run, nothing written
        elif main:
            print("preflight: skipped (--no-preflight)", file=sys.stderr)
        if rank is not None:
            distributed.shard(trainer, rank)  # rank 0 alone keeps the run folder
            out = out if rank.is_main else None
        if trainer.folder is None and out is not None:
            trainer.folder = RunFolder.create(out, overwrite=overwrite)
        if report is not None and trainer.folder is not None:
            trainer.folder.preflight.write_text(report.to_json() + "\n", encoding="utf-8")
        progress = (None if not main else
                    LineProgress() if quiet or not sys.stderr.isatty() else BarProgress())
        try:
            with stop_gracefully(trainer, announce=main):
                try:
                    trainer.train(progress=progress)
                finally:
                    if progress:
                        progress.stop()
        except KeyboardInterrupt:
            if main and trainer.folder and trainer.folder.checkpoint_steps():
                print(f"stopped at once; continue from the last checkpoint with: wgan-kit run "
                      f"--resume {trainer.folder.path}", file=sys.stderr)
            elif main:
                print("stopped at once, before the first checkpoint", file=sys.stderr)
            raise typer.Exit(130) from None
        if trainer.stop_requested is not None:
            if main:
                print(f"stopped at step {trainer.step}; continue with: wgan-kit run --resume "
                      f"{trainer.folder.path if trainer.folder else out}", file=sys.stderr)
            raise typer.Exit(EXIT_STATUS[trainer.stop_requested])
        finished = True
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    finally:
        if rank is not None:
            distributed.leave(finished=finished)


def _check_before_spawning(arguments: dict[str, Any]) -> None:
    """What every rank of `run --nproc N` would refuse, refused once, before any starts: the
    settings, a batch that does not split over the ranks, an existing run folder. (A resumed run
    keeps its own settings; its ranks check them.)"""
    if arguments["resume"] is not None:
        return
    from ..training.distributed import check_split
    from ..core.run_folder import RunFolder

    resolved = _resolved(arguments, _registry(arguments["plugin"]))
    check_split(resolved.run.batch_size, arguments["nproc"])
    if arguments["out"] is not None:
        RunFolder.check(arguments["out"], overwrite=arguments["overwrite"])


def _spawn_ranks(nproc: int, arguments: dict[str, Any]) -> None:
    """`run --nproc N`: N processes on this machine, each running `run` as torchrun would."""
    import torch.multiprocessing

    from ..training.distributed import free_port

    # The ranks stop on a signal together (at the same step); they report it here rather than by
    # their exit status, which torch would take for a failure and answer by killing the others.
    stopped = torch.multiprocessing.get_context("spawn").Value("i", 0)
    ranks = torch.multiprocessing.start_processes(
        _run_rank, args=(nproc, free_port(), arguments, stopped), nprocs=nproc,
        start_method="spawn", join=False)

    def pass_on(number: int, frame: Any) -> None:
        for process in ranks.processes:
            if process.is_alive():
                os.kill(process.pid, number)

    # A terminal's Ctrl-C reaches every rank itself. SIGTERM is passed on, so that it stops the
    # ranks cleanly whether it was sent to the launcher alone or to the whole process group (a
    # rank takes a repeated SIGTERM as the same request); left to its default, it would end the
    # launcher at once, and torch would then interrupt the ranks a second time.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, pass_on)
    try:
        while not ranks.join():
            pass
    except torch.multiprocessing.ProcessExitedException as exc:
        raise typer.Exit(exc.exit_code if exc.exit_code and exc.exit_code > 0 else 1) from None
    if stopped.value:
        raise typer.Exit(stopped.value)


def _run_rank(index: int, nproc: int, port: int, arguments: dict[str, Any], stopped: Any
              ) -> None:
    from ..training.distributed import launch_environment
    from ..training.interrupts import EXIT_STATUS

    os.environ.update(launch_environment(index, nproc, port))
    try:
        run(**arguments)
    except typer.Exit as exc:
        if exc.exit_code in EXIT_STATUS.values():
            stopped.value = exc.exit_code
            return
        sys.exit(exc.exit_code)


@app.command(epilog="""**Examples**

`wgan-kit bench`  —  the default run's speed on this machine

`wgan-kit bench --precision bf16 --batch-size 64 --json`
""")
def bench(
    gen: GenFlag = None,
    critic: CriticFlag = None,
    constraint: ConstraintFlag = None,
    objective: ObjectiveFlag = None,
    data: DataFlag = None,
    recipe: RecipeFlag = None,
    batch_size: BatchSizeFlag = None,
    n_critic: NCriticFlag = None,
    seed: SeedFlag = None,
    device: DeviceFlag = None,
    config: ConfigFlag = None,
    set_: SetFlag = None,
    threads: ThreadsFlag = None,
    plugin: PluginFlag = None,
    precision: PrecisionFlag = None,
    compile_: CompileFlag = None,
    gen_steps: Annotated[int, typer.Option(min=1, max=10**7,
                                           help="Generator steps to time.")] = 20,
    warmup: Annotated[int, typer.Option(min=0, max=10**7,
                                        help="Generator steps before timing.")] = 3,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Time generator steps of a composition, as `run` would train it, on synthetic batches of
    its data source's shape (so data loading is not measured). Writes nothing."""
    arguments = dict(locals())
    try:
        from ..evaluation.benchmark import SyntheticData, measure
        from ..training.composition import build

        resolved = _resolved(arguments, _registry(plugin))
        source = resolved.parts["data"]
        synthetic = SyntheticData(source.component.factory(source.options).spec)
        _set_threads(threads)
        trainer = build(resolved, {"data": synthetic})
        result = {"gen": resolved.name_of("gen"), "critic": resolved.name_of("critic"),
                  "constraint": resolved.name_of("constraint"),
                  "data": f"synthetic, shaped as {source.component.name}",
                  **measure(trainer, gen_steps=gen_steps, warmup=warmup)}
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    if json_:
        print(json.dumps(result))
        return
    table = Table("measure", "value", title="wgan-kit bench")
    for key, value in result.items():
        table.add_row(key, str(value))
    stdout.print(table)


@app.command(epilog="""**Examples**

`wgan-kit check`  —  the checks `wgan-kit run` makes, for the default run

`wgan-kit check --constraint clip --set critic.norm=batch --json`
""")
def check(
    gen: GenFlag = None,
    critic: CriticFlag = None,
    constraint: ConstraintFlag = None,
    objective: ObjectiveFlag = None,
    data: DataFlag = None,
    recipe: RecipeFlag = None,
    steps: StepsFlag = None,
    batch_size: BatchSizeFlag = None,
    n_critic: NCriticFlag = None,
    seed: SeedFlag = None,
    device: DeviceFlag = None,
    config: ConfigFlag = None,
    set_: SetFlag = None,
    threads: ThreadsFlag = None,
    plugin: PluginFlag = None,
    precision: PrecisionFlag = None,
    compile_: CompileFlag = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run the preflight alone: the checks `wgan-kit run` makes on a tiny batch before training
    (batch coupling, double backward, penalty norm, shapes and ranges, first steps, device).

    Takes the flags of `run` that choose and configure it. Exits 1 when a check fails.
    """
    arguments = dict(locals())
    try:
        from ..training.composition import build
        from ..training.preflight import run_preflight

        registry = _registry(plugin)
        trainer = build(_resolved(arguments, registry), hooks=registry.hooks.hook)
        _set_threads(threads)
        report = run_preflight(trainer, registry)
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    if json_:
        print(report.to_json())
    else:
        styles = {"pass": "green", "warn": "yellow", "fail": "bold red"}
        table = Table("check", "status", "measured", "advice")
        for c in report.checks:
            table.add_row(c.name, Text(c.status, style=styles[c.status]), c.measured, c.advice)
        stdout.print(table)
        stdout.print(report.summary())
    if report.failures:
        raise typer.Exit(1)


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
) -> None:
    """Draw samples from a run's last checkpoint."""
    try:
        if out.suffix not in (".png", ".txt", ".safetensors"):
            raise WganKitError(f"--out {out}: unknown format {out.suffix or '(none)'!r}; "
                               "use .png, .txt or .safetensors")
        if out.exists():
            raise WganKitError(f"--out {out}: already exists; choose another name")
        import torch

        from ..core import checkpoint
        from ..training.composition import resume as resume_run
        from ..evaluation.pictures import save_picture

        trainer = resume_run(run_dir)
        latent = torch.randn(n, trainer.generator.latent_dim,
                             generator=torch.Generator().manual_seed(seed)).to(trainer.device)
        labels = None
        if label is not None:
            classes = trainer.num_classes
            if classes is not None and label >= classes:
                raise WganKitError(f"--class {label}: this run has {classes} classes; use 0 to "
                                   f"{classes - 1}")
            labels = torch.full((n,), label, device=trainer.device)
        samples = trainer.sample(n, latent=latent, ema=ema, labels=labels)
        data = trainer.parts.data
        if out.suffix == ".safetensors":
            checkpoint.save(out, {"samples": samples}, {"step": trainer.step})
        elif out.suffix == ".txt":
            if data.spec.kind != "sequence":
                raise WganKitError(f"--out {out}: .txt is for text, and this run generates "
                                   f"{data.spec.kind!r}; use .png or .safetensors")
            # decode takes the most likely symbol at each position (argmax)
            out.write_text("".join(f"{line}\n" for line in data.decode(samples)),
                           encoding="utf-8")
        else:
            real = data.decode(data.held_out(n, device=trainer.device))
            if not save_picture(data.spec.kind, data.decode(samples), out, real=real,
                                title=f"{run_dir.name}, step {trainer.step}"):
                raise WganKitError(f"--out {out}: no picture for samples of kind "
                                   f"{data.spec.kind!r}; use .safetensors")
        print(f"wrote {n} samples to {out}", file=sys.stderr)
    except WganKitError as exc:
        raise _fail(exc.problems) from None


@app.command("eval", epilog="**Examples**\n\n`wgan-kit eval runs/X`  —  a table\n\n"
                            "`wgan-kit eval runs/X --json --n 1000`")
def eval_(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder.")],
    n: Annotated[int, typer.Option(min=2, max=1_000_000,
                                   help="Generated samples (and real ones) to compare.")] = 2500,
    seed: Annotated[int, typer.Option(help="Seed of the latent points.")] = 0,
    features: Annotated[Optional[str], typer.Option(
        help="Images: the feature extractor of FID/KID, e.g. inception or classifier "
             "[default: classifier on labelled data, else inception].")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="features.key=value, repeatable: an option of the feature extractor, "
                      "e.g. --set features.steps=200.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score a run's last checkpoint with the metrics that fit its data.

    Points: exact W1 to held-out real points, and for Gaussian mixtures the modes captured (≥ 20
    high-quality samples per 2,500; high-quality: within 3σ of the nearest centre) and the share of
    high-quality samples. Text: Jensen–Shannon divergence (bits) of 1- to 4-gram distributions,
    with a real-vs-real baseline. Images: FID and KID on the chosen features.
    """
    try:
        from ..core.config import parse_value

        options = {}
        for item in set_ or []:
            key, sep, value = item.partition("=")
            if not sep or not key.startswith("features.") or key == "features.":
                raise WganKitError(f"--set {item!r}: expected features.key=value, "
                                   "e.g. features.steps=200")
            options[key.removeprefix("features.")] = parse_value(value.strip())
        from ..training.composition import resume as resume_run
        from ..evaluation.scores import evaluate

        trainer = resume_run(run_dir)
        result = evaluate(trainer, n, seed=seed, features=features, feature_options=options,
                          registry=_registry(), run=str(run_dir))
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    if json_:
        print(json.dumps(result.to_json(), indent=2))
        return
    table = Table("metric", "value", "meaning", title=f"{run_dir} at step {result.step}, "
                                                      f"n = {result.n}")
    for score in result.scores:
        table.add_row(score.name, f"{score.value:.4g}", score.note)
    stdout.print(table)


@app.command(epilog="**Examples**\n\n`wgan-kit report runs/X --out report.html`\n\n"
                     "`wgan-kit report runs/gp runs/clip --out compare.html --eval`  —  "
                     "curves overlaid, scores side by side")
def report(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders.")],
    out: Annotated[Path, typer.Option(help="The HTML page to write.")],
    eval_: Annotated[bool, typer.Option("--eval", help="Add `wgan-kit eval`'s scores.")] = False,
    n: Annotated[int, typer.Option(min=2, max=1_000_000,
                                   help="Samples for --eval's scores.")] = 1000,
) -> None:
    """One self-contained HTML page about one or more runs: config, metrics, overlaid curves,
    latest samples, the critic's weight histogram and, for 2-D points, its value surface."""
    try:
        from ..evaluation.report import write_report

        write_report(run_dirs, out, evaluate_n=n if eval_ else None)
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    print(f"wrote {out}", file=sys.stderr)


@plugins_app.command("list")
def plugins_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                 ) -> None:
    """Every installed component (kind, name, package, version, summary) and every plugin
    module that failed to load, with the reason."""
    registry = _registry()
    rows = [{"kind": c.kind, "name": c.name, "package": c.package, "version": c.version,
             "summary": c.summary, "status": "ok"} for c in registry.components()]
    rows += [{"kind": "plugin", "name": p.module, "package": p.package, "version": p.version,
              "summary": p.error, "status": "error"} for p in registry.plugins
             if p.status != "ok"]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table("kind", "name", "package", "version", "summary", "status")
    for row in rows:
        style = "red" if row["status"] != "ok" else None
        table.add_row(*(row[k] for k in ("kind", "name", "package", "version", "summary",
                                         "status")), style=style)
    stdout.print(table)


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


@plugins_app.command("show")
def plugins_show(
    name: Annotated[str, typer.Argument(help="A component name, e.g. gp or pkg:gp.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The options of a component: type, default and description."""
    from ..core.registry import KINDS

    registry = _registry()
    found, problems = [], []
    for kind in KINDS:
        try:
            found.append(registry.get(kind, name))
        except WganKitError as exc:
            problems += exc.problems
    if not found:
        unknown = [p for p in problems if "several packages" in p] or [
            f"no component named {name!r}; `wgan-kit plugins list` shows what is installed"]
        raise _fail(unknown)
    described = [{"kind": c.kind, "name": c.name, "package": c.package, "summary": c.summary,
                  "options": [{"name": key, "type": _type_name(field.annotation),
                               "default": field.default, "description": field.description or ""}
                              for key, field in c.options.model_fields.items()],
                  "suggests": dict(c.suggests)} for c in found]
    if json_:
        print(json.dumps(described, indent=2, default=str))
        return
    for entry in described:
        stdout.print(Text.assemble((f"{entry['kind']} {entry['name']}", "bold"),
                                   f" ({entry['package']}): {entry['summary']}"))
        table = Table("option", "type", "default", "description")
        for option in entry["options"]:
            table.add_row(option["name"], option["type"], repr(option["default"]),
                          option["description"])
        stdout.print(table if entry["options"] else "  no options")
        if entry["suggests"]:
            stdout.print("  suggests: " + ", ".join(f"{k}={v!r}"
                                                    for k, v in entry["suggests"].items()))


@recipes_app.command("list")
def recipes_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                 ) -> None:
    """Every installed recipe: name, summary, source and package."""
    described = [_describe_recipe(r) for r in _registry().recipes()]
    if json_:
        print(json.dumps(described, indent=2))
        return
    table = Table("name", "summary", "source", "package")
    for entry in described:
        table.add_row(entry["name"], entry["summary"], entry["source"], entry["package"])
    stdout.print(table)


@recipes_app.command("show")
def recipes_show(
    name: Annotated[str, typer.Argument(help="A recipe name, e.g. wgan-gp or pkg:wgan-gp.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The settings of a recipe and where they come from."""
    try:
        entry = _describe_recipe(_registry().recipe(name))
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    if json_:
        print(json.dumps(entry, indent=2))
        return
    stdout.print(Text.assemble((f"recipe {entry['name']}", "bold"),
                               f" ({entry['package']}): {entry['summary']}"))
    stdout.print(f"  source: {entry['source']}")
    table = Table("setting", "value")
    for key, value in entry["settings"].items():
        table.add_row(key, json.dumps(value))
    stdout.print(table)


def _describe_recipe(recipe: Recipe) -> dict[str, Any]:
    return {"name": recipe.name, "package": recipe.package, "summary": recipe.summary,
            "source": recipe.source, "settings": dict(recipe.settings)}


@data_app.command("show", epilog="""**Examples**

`wgan-kit data show mnist`  —  64 training digits in real.png, and the set's figures

`wgan-kit data show images --set data.path=~/faces --set data.size=64 --out faces.png`
""")
def data_show(
    name: Annotated[str, typer.Argument(help="A data source, e.g. mnist or images.")],
    n: Annotated[int, typer.Option(min=1, max=100_000, help="How many samples to show.")] = 64,
    out: Annotated[Path, typer.Option(help="The picture to write (.png).")] = Path("real.png"),
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="data.key=value, repeatable; e.g. --set data.size=32.")] = None,
    seed: Annotated[int, typer.Option(help="Which training batch to show.")] = 0,
) -> None:
    """Save a picture of real training samples and print the set's size, sample shape, value
    range and class counts: the first thing to check about a data set."""
    from ..core.config import parse_assignments, resolve

    try:
        if out.suffix != ".png":
            raise WganKitError(f"--out {out}: unknown format {out.suffix or '(none)'!r}; use .png")
        layer = parse_assignments(set_ or [])
        if set(layer) - {"data"}:
            raise WganKitError(f"--set: data show takes only data.* settings, got "
                               f"{', '.join(sorted(set(layer) - {'data'}))}")
        chosen = {"data": {**layer.get("data", {}), "name": name}}
        part = resolve([chosen], _registry()).parts["data"]
        import torch

        from ..evaluation.pictures import save_picture

        source = part.component.factory(part.options)
        n = min(n, getattr(source, "train_size", n))
        batch = next(source.batches(n, seed=seed, device=torch.device("cpu")))
        shown = source.decode(batch)
        kind = source.spec.kind
        if kind == "points":  # drawn as the real points of a run's pictures
            save_picture(kind, shown[:0], out, real=shown, title=f"{name}: {n} real samples")
        elif not save_picture(kind, shown, out, title=f"{name}: {n} real samples"):
            raise WganKitError(f"--out {out}: no picture for samples of kind {kind!r}")
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    sizes = (f"{source.train_size:,} training, {source.held_out_size:,} held out"
             if hasattr(source, "train_size") else "sampled afresh for every batch")
    print(f"data     {name} ({part.component.package} {part.component.version})")
    print(f"size     {sizes}")
    print(f"shape    {source.spec.shape}, kind {kind}")
    declared = source.spec.value_range
    print(f"values   {batch.min().item():.4g} … {batch.max().item():.4g} in these samples"
          + (f"; declared {declared[0]:g} … {declared[1]:g}" if declared else ""))
    counts = source.class_counts() if hasattr(source, "class_counts") else None
    if counts:
        print("classes  " + ", ".join(f"{label}: {count:,}" for label, count in enumerate(counts)))
    print(f"picture  {out}")


@plugins_app.command("new", epilog="**Example**\n\n`wgan-kit plugins new hinge --kind objective "
                                    "&& pip install -e './wgan-kit-hinge[dev]' && pytest wgan-kit-hinge`")
def plugins_new(
    name: Annotated[str, typer.Argument(help="The plugin's name, e.g. hinge: the package is "
                                             "wgan-kit-NAME, the module wgan_kit_NAME.")],
    kind: Annotated[str, typer.Option(help="constraint, net (a generator and a critic), "
                                           "objective or data.")],
    dir_: Annotated[Path, typer.Option("--dir", help="Where to write the package.")] = Path("."),
) -> None:
    """Write a ready plugin package: pyproject with the entry point, options model, factory,
    torch code and a test using the conformance kit. It installs and passes its test as is."""
    from ..kit.scaffold import new_plugin

    try:
        root = new_plugin(name, kind, dir_)
    except WganKitError as exc:
        raise _fail(exc.problems) from None
    print(f"wrote {root}\nnext: pip install -e '{root}[dev]' && pytest {root}", file=sys.stderr)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
