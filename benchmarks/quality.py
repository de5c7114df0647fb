"""Quality per generator step, over seeds: wgan-kit, the plain Algorithm 1 loop, the released code.

Each case trains one composition for N generator steps on several seeds, three ways:

- `wgan-kit`: `wgan_kit.compose(...)` and `trainer.train()`, as `wgan-kit run` trains;
- `plain`: `plain_wgan_gp.py` (Algorithm 1 in plain PyTorch) on the very nets wgan-kit built for the
  same seed (same initialisation), the same data stream and the same settings;
- `reference`: the public PyTorch port of the paper's released toy code (caogang/wgan-gp
  `gan_toy.py`), from a local checkout given by `--reference DIR`, run with its own nets,
  initialisation, data and loop (see `reference_toy.py` for the few patches it needs here).

Every `--every` steps each generator is scored as `wgan-kit eval` scores a run (the same latent
points and held-out real points): exact W1 and modes captured. Only the toy sets have cases so far;
digits / MNIST (classifier FID, classes covered) are still to come. The tables give each seed, the median and range, and the steps
(and seconds of training, without the scoring) at which a run first met the case's threshold.

    python benchmarks/quality.py --case 8gaussians-released --reference ~/src/wgan-gp
    python benchmarks/quality.py --case 25gaussians-defaults --seeds 0 1 2 3 4 --jobs 2
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
from wgan_kit.evaluation import exact_w1, mode_coverage
from wgan_kit.core.config import parse_value

sys.path.insert(0, str(Path(__file__).parent))
from plain_wgan_gp import PlainWGANGP  # noqa: E402
import reference_toy  # noqa: E402

COLUMNS = ("wgan-kit", "plain", "reference")


@dataclass(frozen=True)
class Case:
    data: str
    steps: int | None  # None: the data source's own default (what `wgan-kit run --data` trains)
    options: dict[str, Any] = field(default_factory=dict)
    w1: float | None = None  # threshold: W1 at most this, and all modes captured
    summary: str = ""


# The released toy code's settings, spelled out (they are also the toy sets' suggested settings).
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
}
QUICK = {"gen.hidden": 16, "critic.hidden": 16}


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


# --- scoring ------------------------------------------------------------------------------------

class Scorer:
    """Scores a generator on the points `wgan-kit eval` uses: its latent seed 0 and the data's
    held-out real points."""

    def __init__(self, data: wgan_kit.DataSource, n: int, latent_dim: int) -> None:
        self.data = data
        real = np.asarray(data.decode(data.held_out(2 * n, device=torch.device("cpu"))))
        self.real, self.spare = real[:n], real[n:2 * n]
        self.latent = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0))

    def __call__(self, generate: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        with torch.no_grad():
            generated = np.asarray(self.data.decode(generate(self.latent)))
        scores = {"w1": exact_w1(generated, self.real)}
        centres, std = getattr(self.data, "centres", None), getattr(self.data, "std", None)
        if centres is not None and std is not None:
            coverage = mode_coverage(generated, np.asarray(centres), float(std))
            scores |= {"modes": coverage.captured, "of_modes": coverage.modes,
                       "high_quality": coverage.high_quality_share}
        return scores

    def floor(self) -> float:
        """W1 between two real sets of the same size: what finite samples leave."""
        return exact_w1(self.spare, self.real)


class Curve:
    """Scores every `every` steps, with the training seconds spent until each (scoring excluded)."""

    def __init__(self, scorer: Scorer, every: int, steps: int) -> None:
        self.scorer, self.every, self.steps = scorer, every, steps
        self.points: list[dict[str, float]] = []
        self.training_seconds = 0.0
        self.resumed = time.perf_counter()

    def after_step(self, step: int, generate: Callable[[torch.Tensor], torch.Tensor]) -> None:
        if step % self.every and step != self.steps:
            return
        self.training_seconds += time.perf_counter() - self.resumed
        self.points.append({"step": step, "seconds": round(self.training_seconds, 2),
                            **self.scorer(generate)})
        self.resumed = time.perf_counter()


class CurveProgress:
    """The `Progress` a Trainer reports to, scoring its samples on the way."""

    def __init__(self, curve: Curve, trainer: wgan_kit.Trainer) -> None:
        self.curve, self.trainer = curve, trainer

    def start(self, done: int, total: int) -> None:
        self.curve.resumed = time.perf_counter()

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        self.curve.after_step(step, lambda z: self.trainer.sample(len(z), latent=z))

    def note(self, text: str) -> None:
        pass


# --- the three columns --------------------------------------------------------------------------

def composed(job: Job) -> wgan_kit.Trainer:
    case = CASES[job.case]
    return wgan_kit.compose(data=case.data, options=job.options, seed=job.seed, steps=job.steps,
                            device="cpu")


def train_wgan_kit(job: Job) -> Curve:
    trainer = composed(job)
    curve = Curve(Scorer(trainer.parts.data, job.n, trainer.generator.latent_dim), job.every,
                  job.steps)
    trainer.train(progress=CurveProgress(curve, trainer))
    return curve


def train_plain(job: Job) -> Curve:
    trainer = composed(job)  # its nets, freshly initialised from the seed, and its settings
    run, data = trainer.run, trainer.parts.data
    loop = PlainWGANGP(trainer.generator, trainer.critic, lr=run.lr, betas=run.betas,
                       n_critic=run.n_critic, penalty_weight=trainer.parts.constraint.weight,
                       batch_size=run.batch_size, device=torch.device("cpu"))
    batches = data.batches(run.batch_size, seed=run.seed, device=torch.device("cpu"))
    curve = Curve(Scorer(data, job.n, trainer.generator.latent_dim), job.every, job.steps)
    curve.resumed = time.perf_counter()
    for step in range(1, job.steps + 1):
        loop.generator_step(batches)
        curve.after_step(step, loop.generator)
    return curve


def train_reference(job: Job) -> Curve:
    data = composed(Job(**{**asdict(job), "steps": 1})).parts.data  # only its held-out points
    curve = Curve(Scorer(data, job.n, 2), job.every, job.steps)
    reference_toy.train(Path(job.reference), dataset=CASES[job.case].data, seed=job.seed,
                        steps=job.steps, after_step=curve.after_step,
                        width=job.options.get("gen.hidden", 512))
    return curve


TRAIN = {"wgan-kit": train_wgan_kit, "plain": train_plain, "reference": train_reference}


def run_job(job: Job) -> dict[str, Any]:
    torch.set_num_threads(job.threads)
    curve = TRAIN[job.column](job)
    return {**asdict(job), "curve": curve.points}


def in_own_process(job: Job) -> dict[str, Any]:
    """`run_job` in a fresh Python: each run starts from its own seeds and torch state."""
    done = subprocess.run([sys.executable, __file__, "--job", json.dumps(asdict(job))],
                          capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(job.threads)})
    if done.returncode != 0:
        raise SystemExit(f"{job.case} {job.column} seed {job.seed} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


# --- tables -------------------------------------------------------------------------------------

def met(point: dict[str, float], case: Case) -> bool:
    modes = point.get("modes") is None or point["modes"] == point["of_modes"]
    return modes and (case.w1 is None or point["w1"] <= case.w1)


def first_met(curve: list[dict[str, float]], case: Case) -> dict[str, float] | None:
    return next((p for p in curve if met(p, case)), None)


def spread(values: list[float], digits: int = 3) -> str:
    if not values:
        return "—"
    median = statistics.median(values)
    return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def threshold_text(case: Case) -> str:
    modes = "all modes captured"
    return modes if case.w1 is None else f"W1 ≤ {case.w1:g} and {modes}"


def tables(case_name: str, results: list[dict[str, Any]], floor: float) -> str:
    case = CASES[case_name]
    steps = results[0]["steps"]
    lines = [f"### {case_name}: {case.summary}", "",
             f"{steps} generator steps; threshold: {threshold_text(case)}; W1 of two real sets "
             f"of {results[0]['n']} (the floor): {floor:.3f}", "",
             "| column | seed | W1 | modes | high-quality | first met at step | training s then "
             "| training s |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        last, hit = r["curve"][-1], first_met(r["curve"], case)
        modes = f"{last['modes']}/{last['of_modes']}" if "modes" in last else "—"
        share = f"{100 * last['high_quality']:.0f}%" if "high_quality" in last else "—"
        lines.append(f"| {r['column']} | {r['seed']} | {last['w1']:.3f} | {modes} | {share} | "
                     f"{hit['step'] if hit else '—'} | {hit['seconds'] if hit else '—'} | "
                     f"{last['seconds']:.0f} |")
    lines += ["", "| column | seeds | W1 median (range) | modes median (range) | met threshold | "
                  "steps to it, median (range) |", "| --- | --- | --- | --- | --- | --- |"]
    for column in COLUMNS:
        rows = [r for r in results if r["column"] == column]
        if not rows:
            continue
        finals = [r["curve"][-1] for r in rows]
        hits = [first_met(r["curve"], case) for r in rows]
        reached = [h["step"] for h in hits if h]
        modes = spread([f["modes"] for f in finals if "modes" in f], 0)
        lines.append(f"| {column} | {len(rows)} | {spread([f['w1'] for f in finals])} | {modes} | "
                     f"{len(reached)}/{len(rows)} | {spread(reached, 0)} |")
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
    parser.add_argument("--json", type=Path,
                        help="also write every curve as JSON lines, each as its run ends")
    parser.add_argument("--tables", type=Path, nargs="+", metavar="JSON",
                        help="print the tables of runs saved with --json, training nothing")
    parser.add_argument("--job", help=argparse.SUPPRESS)  # one run, in a process of its own
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.every, args.n = args.steps or 20, 10, 200
        args.seeds = args.seeds[:2]
        args.set = [f"{k}={v}" for k, v in QUICK.items()] + args.set
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
    columns = args.column or list(COLUMNS)
    if "reference" in columns and args.reference is None:
        print("reference column skipped: pass --reference DIR, a local checkout of "
              "https://github.com/caogang/wgan-gp (e.g. `git clone "
              "https://github.com/caogang/wgan-gp DIR`); its gan_toy.py is run, never copied",
              file=sys.stderr)
        columns.remove("reference")
    elif "reference" in columns:
        reference_toy.source(Path(args.reference))  # refuse a wrong folder before training
    jobs = []
    for case_name in args.case or ["8gaussians-released", "25gaussians-released"]:
        case = CASES[case_name]
        steps = args.steps or case.steps or default_steps(case)
        for seed in args.seeds:
            for column in columns:
                jobs.append(Job(case_name, column, seed, steps, args.every, args.n,
                                {**case.options, **options}, args.threads, args.reference))
    print(f"# {len(jobs)} runs, {args.jobs} at a time, {args.threads} thread(s) each; torch "
          f"{torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    results = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for future in as_completed([pool.submit(in_own_process, job) for job in jobs]):
            result = future.result()
            last = result["curve"][-1]
            print(f"# {result['case']} {result['column']} seed {result['seed']}: "
                  f"W1 {last['w1']:.3f}, modes {last.get('modes', '—')}, "
                  f"{last['seconds']:.0f} s", flush=True)
            results.append(result)
            if args.json:
                with args.json.open("a", encoding="utf-8") as lines:
                    lines.write(json.dumps(result) + "\n")
    print(f"# load average at the end {os.getloadavg()[0]:.1f}")
    print_tables(results)


def print_tables(results: list[dict[str, Any]]) -> None:
    results = sorted(results, key=lambda r: (r["case"], COLUMNS.index(r["column"]), r["seed"]))
    for case_name in dict.fromkeys(r["case"] for r in results):
        rows = [r for r in results if r["case"] == case_name]
        fields = {k: rows[0][k] for k in Job.__dataclass_fields__}
        trainer = composed(Job(**{**fields, "steps": 1}))
        floor = Scorer(trainer.parts.data, rows[0]["n"], trainer.generator.latent_dim).floor()
        print()
        print(tables(case_name, rows, floor))


def default_steps(case: Case) -> int:
    """The step count `wgan-kit run --data <case.data>` trains for."""
    return wgan_kit.compose(data=case.data, device="cpu").run.steps


if __name__ == "__main__":
    main()
