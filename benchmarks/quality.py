"""Quality per generator step, over seeds: wgan-kit, the plain Algorithm 1 loop, the released code.

Each case trains one composition for N generator steps on several seeds, three ways:

- `wgan-kit`: `wgan_kit.compose(...)` and `trainer.train()`, as `wgan-kit run` trains;
- `plain`: `plain_wgan_gp.py` (Algorithm 1 in plain PyTorch) on the very nets wgan-kit built for the
  same seed (same initialisation), the same data stream and the same settings;
- `reference`: the public PyTorch port of the paper's released toy code (caogang/wgan-gp
  `gan_toy.py`), from a local checkout given by `--reference DIR`, run with its own nets,
  initialisation, data and loop (see `reference_toy.py` for the few patches it needs here).

Every `--every` steps each generator is scored as `wgan-kit eval` scores a run (the same latent
points and held-out real points): exact W1 and modes captured on the toy sets; on MNIST the
classifier FID and classes covered (the `classifier` features: a small CNN trained on the data's
labelled training digits). A run with a moving average of its generator is scored on both (the
live one's scores end in `_live`). The tables give each seed, the median and range, and the steps
(and seconds of training, without the scoring) at which a run first met the case's threshold. In
an equal-time case the plain loop trains for as many seconds as wgan-kit's run of the same seed.

    python benchmarks/quality.py --case 8gaussians-released --reference ~/src/wgan-gp
    python benchmarks/quality.py --case 25gaussians-defaults --seeds 0 1 2 3 4 --jobs 2
    python benchmarks/quality.py --case mnist-defaults --threads 2 --pictures runs/mnist-pictures
    python benchmarks/quality.py --case 8gaussians-released --set gen.init=normal --column wgan-kit
    python benchmarks/quality.py --quick                  # tiny nets, a few steps: does it run

Seconds depend on the machine and its load; steps to a threshold do not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import wgan_kit
# The scores of `wgan-kit eval`, reused so that every column is scored as a run is.
from wgan_kit.evaluation import (as_channels_first, exact_w1, feature_extractor, image_scores,
                                 mode_coverage)
from wgan_kit.evaluation.benchmark import machine
from wgan_kit.evaluation.pictures import save_picture
from wgan_kit.core.engine.acceleration import native_precision
from wgan_kit.core.layers import parse_value
from wgan_kit.core.registry import load_registry

sys.path.insert(0, str(Path(__file__).parent))
from plain_wgan_gp import PlainWGANGP  # noqa: E402
import reference_toy  # noqa: E402

COLUMNS = ("wgan-kit", "plain", "reference")


@dataclass(frozen=True)
class Case:
    data: str
    steps: int | None  # None: the data source's own default (what `wgan-kit run --data` trains)
    options: dict[str, Any] = field(default_factory=dict)
    w1: float | None = None  # threshold: W1 (points) at most this, and all modes captured
    summary: str = ""
    fid: float | None = None  # threshold: classifier FID (images) at most this, all classes
    equal_time: bool = False  # the plain loop trains as many seconds as wgan-kit did
    reference: bool = True  # the released toy code has this case (not so for MNIST)
    quick: dict[str, Any] = field(default_factory=lambda: {"gen.hidden": 16, "critic.hidden": 16})


# The released toy code's settings, spelled out (they are also the toy sets' suggested settings).
QUICK_CLASSIFIER = {"steps": 20, "width": 4, "features": 8}
# Most samples read as digits from about here on (the pictures of benchmarks/README.md).
FID_RECOGNISABLE = 50.0
RELEASED = {"run.lr": 1e-4, "run.betas": (0.5, 0.9), "run.batch_size": 256, "run.n_critic": 5,
            "constraint.weight": 0.1, "gen.hidden": 512, "gen.depth": 3, "critic.hidden": 512,
            "critic.depth": 3}
CASES = {
    "8gaussians-released": Case("8gaussians", 1500, RELEASED, 0.10,
                                "8 Gaussians, 1,500 steps, the released gan_toy.py's settings"),
    "25gaussians-released": Case("25gaussians", 1500, RELEASED, None,
                                 "25 Gaussians, 1,500 steps, the released gan_toy.py's settings"),
    "8gaussians-first-command": Case("8gaussians", None, {}, 0.10,
                                     "`wgan-kit run`: 8 Gaussians with every default"),
    "25gaussians-defaults": Case("25gaussians", None, {}, None,
                                 "`wgan-kit run --data 25gaussians`: every default"),
    "mnist-defaults": Case("mnist", None, {}, fid=FID_RECOGNISABLE, equal_time=True,
                           reference=False,
                           summary="`wgan-kit run --data mnist`: every default; the plain loop "
                                   "for as many seconds",
                           quick={"gen.filters": 4, "critic.filters": 4, "run.batch_size": 8}),
}


@dataclass
class Job:
    case: str
    column: str
    seed: int
    steps: int
    every: int
    n: int
    options: dict[str, Any]
    threads: int
    reference: str | None
    seconds: float | None = None  # stop at the first step after this many training seconds
    pictures: str | None = None  # a folder for a picture of each run's last samples
    classifier: dict[str, Any] = field(default_factory=dict)  # options of the FID's features


# --- scoring ------------------------------------------------------------------------------------

class Scorer:
    """Scores a generator on what `wgan-kit eval` uses: its latent seed 0 and the data's held-out
    real samples (for images all of them, at most n; points: n, and n more for the floor)."""

    def __init__(self, data: wgan_kit.DataSource, n: int, latent_dim: int,
                 classifier: dict[str, Any] | None = None) -> None:
        self.data, cpu = data, torch.device("cpu")
        self.images = data.spec.kind == "image"
        if self.images:
            self.real = as_channels_first(data.decode(data.held_out(n, device=cpu)))
            n = len(self.real)
            training = next(iter(data.batches(n, seed=1, device=cpu)))
            self.spare = as_channels_first(data.decode(training))
            self.extractor = feature_extractor("classifier", data, load_registry(), classifier)
        else:
            real = np.asarray(data.decode(data.held_out(2 * n, device=cpu)))
            self.real, self.spare = real[:n], real[n:2 * n]
        self.latent = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0))

    def __call__(self, generate: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        with torch.no_grad():
            generated = self.data.decode(generate(self.latent))
        if self.images:
            return self.image_scores(as_channels_first(generated))
        generated = np.asarray(generated)
        scores = {"w1": exact_w1(generated, self.real)}
        centres, std = getattr(self.data, "centres", None), getattr(self.data, "std", None)
        if centres is not None and std is not None:
            coverage = mode_coverage(generated, np.asarray(centres), float(std))
            scores |= {"modes": coverage.captured, "of_modes": coverage.modes,
                       "high_quality": coverage.high_quality_share}
        return scores

    def image_scores(self, generated: torch.Tensor) -> dict[str, float]:
        scores = {s.key: s.value for s in image_scores(generated, self.real, self.extractor)}
        return {"fid": scores["classifier_fid"], "classes": scores["classifier_classes"],
                "of_classes": self.data.spec.num_classes}

    def floor(self) -> float:
        """The score of real samples against the held-out ones (W1 or classifier FID, as many of
        each): what finite samples leave."""
        if self.images:
            return self.image_scores(self.spare)["fid"]
        return exact_w1(self.spare, self.real)


Generate = Callable[[torch.Tensor], torch.Tensor]


class Curve:
    """Scores every `every` steps, with the training seconds spent until each (scoring excluded);
    with a time budget, also at the first step past it, which ends the run."""

    def __init__(self, scorer: Scorer, every: int, steps: int, seconds: float | None = None
                 ) -> None:
        self.scorer, self.every, self.steps, self.budget = scorer, every, steps, seconds
        self.points: list[dict[str, float]] = []
        self.training_seconds = 0.0
        self.resumed = time.perf_counter()

    def out_of_time(self) -> bool:
        spent = self.training_seconds + time.perf_counter() - self.resumed
        return self.budget is not None and spent >= self.budget

    def after_step(self, step: int, generate: Generate, live: Generate | None = None) -> bool:
        """Score if due (`live`: the live generator beside a moving average); True: stop now."""
        stop = self.out_of_time()
        if step % self.every and step != self.steps and not stop:
            return False
        self.training_seconds += time.perf_counter() - self.resumed
        point = {"step": step, "seconds": round(self.training_seconds, 2), **self.scorer(generate)}
        if live is not None:
            point |= {f"{key}_live": value for key, value in self.scorer(live).items()
                      if not key.startswith("of_")}
        self.points.append(point)
        self.resumed = time.perf_counter()
        return stop

    def last_samples(self, generate: Generate, n: int = 64) -> Any:
        with torch.no_grad():
            return self.scorer.data.decode(generate(self.scorer.latent[:n]))


class CurveProgress:
    """The `Progress` a Trainer reports to, scoring its samples on the way."""

    def __init__(self, curve: Curve, trainer: wgan_kit.Trainer) -> None:
        self.curve, self.trainer = curve, trainer

    def start(self, done: int, total: int) -> None:
        self.curve.resumed = time.perf_counter()

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        trainer = self.trainer
        live = None if trainer.ema_generator is None else \
            (lambda z: trainer.sample(len(z), latent=z, ema=False))
        self.curve.after_step(step, lambda z: trainer.sample(len(z), latent=z), live)

    def note(self, text: str) -> None:
        pass


# --- the three columns --------------------------------------------------------------------------

def composed(job: Job) -> wgan_kit.Trainer:
    case = CASES[job.case]
    return wgan_kit.compose(data=case.data, options=job.options, seed=job.seed, steps=job.steps,
                            device="cpu")


def train_wgan_kit(job: Job) -> tuple[Curve, Generate]:
    trainer = composed(job)
    curve = Curve(Scorer(trainer.parts.data, job.n, trainer.generator.latent_dim, job.classifier),
                  job.every, job.steps)
    trainer.train(progress=CurveProgress(curve, trainer))
    return curve, lambda z: trainer.sample(len(z), latent=z)


def in_eval_mode(net: torch.nn.Module) -> Generate:
    """`net` as `Trainer.sample` runs a generator: in eval mode (batch norm's running averages)."""
    def generate(latent: torch.Tensor) -> torch.Tensor:
        net.eval()
        try:
            return net(latent)
        finally:
            net.train()
    return generate


def train_plain(job: Job) -> tuple[Curve, Generate]:
    trainer = composed(job)  # its nets, freshly initialised from the seed, and its settings
    run, data = trainer.run, trainer.parts.data
    loop = PlainWGANGP(trainer.generator, trainer.critic, lr=run.lr, betas=run.betas,
                       n_critic=run.n_critic, penalty_weight=trainer.parts.constraint.weight,
                       batch_size=run.batch_size, device=torch.device("cpu"),
                       precision=trainer.acceleration.precision)  # auto, resolved
    batches = data.batches(run.batch_size, seed=run.seed, device=torch.device("cpu"))
    curve = Curve(Scorer(data, job.n, trainer.generator.latent_dim, job.classifier), job.every,
                  job.steps, job.seconds)
    generate = in_eval_mode(loop.generator)
    curve.resumed = time.perf_counter()
    for step in range(1, job.steps + 1):
        loop.generator_step(batches)
        if curve.after_step(step, generate):
            break
    return curve, generate


def train_reference(job: Job) -> tuple[Curve, Generate]:
    data = composed(Job(**{**asdict(job), "steps": 1})).parts.data  # only its held-out points
    curve = Curve(Scorer(data, job.n, 2), job.every, job.steps)
    last: list[Generate] = []

    def after_step(step: int, generate: Generate) -> None:
        last[:] = [generate]
        curve.after_step(step, generate)

    reference_toy.train(Path(job.reference), dataset=CASES[job.case].data, seed=job.seed,
                        steps=job.steps, after_step=after_step,
                        width=job.options.get("gen.hidden", 512))
    return curve, last[0]


TRAIN = {"wgan-kit": train_wgan_kit, "plain": train_plain, "reference": train_reference}


def run_job(job: Job) -> dict[str, Any]:
    torch.set_num_threads(job.threads)
    curve, generate = TRAIN[job.column](job)
    if job.pictures:
        scorer, last = curve.scorer, curve.points[-1]
        images = scorer.images
        path = Path(job.pictures) / f"{job.case}-{job.column}-seed{job.seed}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_picture(scorer.data.spec.kind, curve.last_samples(generate, 64 if images else
                                                               len(scorer.latent)), path,
                     real=None if images else scorer.real,
                     title=f"{job.column}, seed {job.seed}, step {last['step']}: {headline(last)}")
    precision = job.options.get("run.precision") or composed(job).run.precision
    if precision == "auto":
        precision = native_precision(torch.device("cpu"))
    return {**asdict(job), "curve": curve.points, "precision": precision, **machine()}


def in_own_process(job: Job) -> dict[str, Any]:
    """`run_job` in a fresh Python: each run starts from its own seeds and torch state."""
    done = subprocess.run([sys.executable, __file__, "--job", json.dumps(asdict(job))],
                          capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(job.threads)})
    if done.returncode != 0:
        raise SystemExit(f"{job.case} {job.column} seed {job.seed} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


# --- tables -------------------------------------------------------------------------------------

def headline(point: dict[str, float]) -> str:
    """A scored point's main number, named."""
    return f"classifier FID {point['fid']:.2f}" if "fid" in point else f"W1 {point['w1']:.3f}"


def coverage(point: dict[str, float]) -> tuple[int, int] | None:
    """(modes or classes covered, of how many), where the data has either."""
    for key in ("modes", "classes"):
        if key in point:
            return int(point[key]), int(point[f"of_{key}"])
    return None


def met(point: dict[str, float], case: Case) -> bool:
    covered = coverage(point)
    if covered is not None and covered[0] < covered[1]:
        return False
    if "fid" in point:
        return case.fid is None or point["fid"] <= case.fid
    return case.w1 is None or point["w1"] <= case.w1


def first_met(curve: list[dict[str, float]], case: Case) -> dict[str, float] | None:
    return next((p for p in curve if met(p, case)), None)


def spread(values: list[float], digits: int = 3) -> str:
    if not values:
        return "—"
    median = statistics.median(values)
    return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def threshold_text(case: Case) -> str:
    if case.fid is not None:
        return f"classifier FID ≤ {case.fid:g} and every class covered"
    modes = "all modes captured"
    return modes if case.w1 is None else f"W1 ≤ {case.w1:g} and {modes}"


def tables(case_name: str, results: list[dict[str, Any]], floor: float) -> str:
    case = CASES[case_name]
    first = results[0]["curve"][-1]
    key, name = ("fid", "classifier FID") if "fid" in first else ("w1", "W1")
    what = "classes" if "classes" in first else "modes"
    live = any(f"{key}_live" in r["curve"][-1] for r in results)
    host = {k: results[0].get(k, "?") for k in ("cpu", "cpu_capability", "threads", "precision")}
    loads = [r["load_average"] for r in results if "load_average" in r]
    lines = [f"### {case_name}: {case.summary}", "",
             f"{results[0]['steps']} generator steps; threshold: {threshold_text(case)}; {name} of "
             f"real samples against the held-out ones (the floor): {floor:.3f}", "",
             f"{host['cpu']} ({host['cpu_capability']}), {host['threads']} thread(s) per run, "
             f"wgan-kit at {host['precision']}, load average at the runs' ends "
             f"{min(loads, default=0):.1f}–{max(loads, default=0):.1f}", "",
             f"| column | seed | steps | {name} |" + (f" {name} without EMA |" if live else "")
             + f" {what} | high-quality | first met at step | training s then | training s |",
             "| --- " * (9 + live) + "|"]
    for r in results:
        last, hit = r["curve"][-1], first_met(r["curve"], case)
        covered = coverage(last)
        share = f"{100 * last['high_quality']:.0f}%" if "high_quality" in last else "—"
        lines.append(f"| {r['column']} | {r['seed']} | {last['step']} | {last[key]:.3f} |"
                     + ((f" {last[key + '_live']:.3f} |" if key + "_live" in last else " — |")
                        if live else "")
                     + f" {'/'.join(map(str, covered)) if covered else '—'} | {share} | "
                     f"{hit['step'] if hit else '—'} | {hit['seconds'] if hit else '—'} | "
                     f"{last['seconds']:.0f} |")
    lines += ["", f"| column | seeds | steps | {name} median (range) | {what} median (range) | "
                  "met threshold | steps to it, median (range) | seconds to it |",
              "| --- " * 8 + "|"]
    for column in COLUMNS:
        rows = [r for r in results if r["column"] == column]
        if not rows:
            continue
        finals = [r["curve"][-1] for r in rows]
        hits = [h for h in (first_met(r["curve"], case) for r in rows) if h]
        covered = spread([coverage(f)[0] for f in finals if coverage(f)], 0)
        lines.append(f"| {column} | {len(rows)} | {spread([f['step'] for f in finals], 0)} | "
                     f"{spread([f[key] for f in finals])} | {covered} | {len(hits)}/{len(rows)} | "
                     f"{spread([h['step'] for h in hits], 0)} | "
                     f"{spread([h['seconds'] for h in hits], 0)} |")
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="repeatable; default: the two released-settings cases")
    parser.add_argument("--column", action="append", choices=COLUMNS,
                        help="repeatable; default: all (the reference only with --reference)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, help="generator steps (default: the case's)")
    parser.add_argument("--every", type=int, default=250, help="steps between scorings")
    parser.add_argument("--n", type=int, default=2500, help="samples scored (as wgan-kit eval)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the wgan-kit and plain columns, e.g. gen.init=normal")
    parser.add_argument("--reference", metavar="DIR",
                        help="a checkout of github.com/caogang/wgan-gp (holding gan_toy.py)")
    parser.add_argument("--jobs", type=int, default=1, help="training processes at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--quick", action="store_true",
                        help="tiny nets, 20 steps, 2 seeds, 200 samples: checks that it runs")
    parser.add_argument("--pictures", type=Path, metavar="DIR",
                        help="a picture of each run's last samples, as DIR/CASE-COLUMN-seedN.png")
    parser.add_argument("--json", type=Path,
                        help="also write every curve as JSON lines, each as its run ends")
    parser.add_argument("--tables", type=Path, nargs="+", metavar="JSON",
                        help="print the tables of runs saved with --json, training nothing")
    parser.add_argument("--job", help=argparse.SUPPRESS)  # one run, in a process of its own
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.every, args.n = args.steps or 20, 10, 200
        args.seeds = args.seeds[:2]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.job:
        print(json.dumps(run_job(Job(**json.loads(args.job)))))
        return
    if args.tables:
        results = [json.loads(line) for path in args.tables
                   for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        print_tables(results)
        return
    options = {key: parse_value(value) for key, value in
               (item.split("=", 1) for item in args.set)}
    cases = args.case or ["8gaussians-released", "25gaussians-released"]
    columns = args.column or list(COLUMNS)
    if not any(CASES[name].reference for name in cases) and "reference" in columns:
        columns.remove("reference")  # none of the cases has one: nothing to say
    if "reference" in columns and args.reference is None:
        print("reference column skipped: pass --reference DIR, a local checkout of "
              "https://github.com/caogang/wgan-gp (e.g. `git clone "
              "https://github.com/caogang/wgan-gp DIR`); its gan_toy.py is run, never copied",
              file=sys.stderr)
        columns.remove("reference")
    elif "reference" in columns:
        reference_toy.source(Path(args.reference))  # refuse a wrong folder before training
    chains = []  # each a list of jobs run one after the other
    for case_name in cases:
        case = CASES[case_name]
        steps = args.steps or case.steps or default_steps(case)
        settings = {**case.options, **(case.quick if args.quick else {}), **options}
        for seed in args.seeds:
            jobs = [Job(case_name, column, seed, steps, args.every, args.n, settings,
                        args.threads, args.reference,
                        pictures=str(args.pictures) if args.pictures else None,
                        classifier=QUICK_CLASSIFIER if args.quick else {})
                    for column in columns if column != "reference" or case.reference]
            chains += [jobs] if case.equal_time else [[job] for job in jobs]
    print(f"# {sum(map(len, chains))} runs, {args.jobs} at a time, {args.threads} thread(s) each; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    results = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for future in as_completed([pool.submit(run_chain, chain) for chain in chains]):
            for result in future.result():
                last = result["curve"][-1]
                print(f"# {result['case']} {result['column']} seed {result['seed']}: "
                      f"{headline(last)}, "
                      f"{'/'.join(map(str, coverage(last) or ('—',)))} covered, step "
                      f"{last['step']}, {last['seconds']:.0f} s", flush=True)
                results.append(result)
                if args.json:
                    with args.json.open("a", encoding="utf-8") as lines:
                        lines.write(json.dumps(result) + "\n")
    print(f"# load average at the end {os.getloadavg()[0]:.1f}")
    print_tables(results)


def run_chain(jobs: list[Job]) -> list[dict[str, Any]]:
    """The jobs one after the other; after wgan-kit's, the plain loop's budget is its seconds."""
    results = []
    for job in jobs:
        if job.column == "plain" and results and results[0]["column"] == "wgan-kit":
            job = Job(**{**asdict(job), "seconds": results[0]["curve"][-1]["seconds"],
                         "steps": 10 * job.steps})  # a cap only: the budget ends it
        results.append(in_own_process(job))
    return results


def print_tables(results: list[dict[str, Any]]) -> None:
    results = sorted(results, key=lambda r: (r["case"], COLUMNS.index(r["column"]), r["seed"]))
    for case_name in dict.fromkeys(r["case"] for r in results):
        rows = [r for r in results if r["case"] == case_name]
        fields = {k: rows[0][k] for k in Job.__dataclass_fields__ if k in rows[0]}
        trainer = composed(Job(**{**fields, "steps": 1}))
        floor = Scorer(trainer.parts.data, rows[0]["n"], trainer.generator.latent_dim,
                       rows[0].get("classifier")).floor()
        print()
        print(tables(case_name, rows, floor))


def default_steps(case: Case) -> int:
    """The step count `wgan-kit run --data <case.data>` trains for."""
    return wgan_kit.compose(data=case.data, device="cpu").run.steps


if __name__ == "__main__":
    main()
