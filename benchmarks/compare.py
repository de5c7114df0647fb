"""wgan-kit's Trainer against the plain transcription of Algorithm 1 (`plain_wgan_gp.py`).

Both train identical nets (built by the same registry factories from the same seed) on the same
fixed synthetic batch, in one process, taking turns: each round times `--gen-steps` generator steps
of one, then of the other, alternating which goes first, so that a change in machine load hits
both alike. The table gives the median speed of each and the median of the per-round ratios.

    python benchmarks/compare.py                                 # toy MLP and CIFAR ResNet, fp32 and bf16
    python benchmarks/compare.py --case toy-mlp --precision bf16 --rounds 9
    python benchmarks/compare.py --set run.fuse_critic=false     # ours with a switch off

Run it on a quiet machine: the load average is printed next to the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

import wgan_kit
from wgan_kit.evaluation.benchmark import (SyntheticData, machine, measure, peak_memory_mb,
                                           synthetic_batch)
from wgan_kit.core.layers import parse_value
from wgan_kit.core.randomness import seed_everything

sys.path.insert(0, str(Path(__file__).parent))
from plain_wgan_gp import PlainWGANGP  # noqa: E402


@dataclass(frozen=True)
class Case:
    gen: str
    critic: str
    spec: wgan_kit.SampleSpec
    batch_size: int


IMAGE = wgan_kit.SampleSpec(shape=(3, 32, 32), kind="image", value_range=(-1.0, 1.0))
CASES = {
    "toy-mlp": Case("mlp", "mlp", wgan_kit.SampleSpec(shape=(2,), kind="points"), 256),
    "cifar-resnet": Case("resnet", "resnet", IMAGE, 64),
    "cifar-dcgan": Case("dcgan", "dcgan", IMAGE, 64),
    "image-mlp": Case("mlp", "mlp", IMAGE, 64),
}


def compare(case: Case, precision: str, args: argparse.Namespace,
            registry: wgan_kit.Registry) -> dict:
    options = {key: parse_value(value) for key, value in
               (item.split("=", 1) for item in args.set)}
    run = {k.removeprefix("run."): v for k, v in options.items() if k.startswith("run.")}
    options = {k: v for k, v in options.items() if not k.startswith("run.")}
    device = torch.device(args.device)
    ours = wgan_kit.compose(gen=case.gen, critic=case.critic, data=SyntheticData(case.spec),
                            options=options, registry=registry, batch_size=case.batch_size,
                            precision=precision, seed=args.seed, device=args.device, **run)
    seed_everything(args.seed)  # as compose did, so the plain nets start from the same weights
    config = ours.config
    nets = [registry.get(kind, config.name_of(section)).factory(config.parts[section].options,
                                                                case.spec)
            for kind, section in (("generator", "gen"), ("critic", "critic"))]
    for mine, theirs in zip((ours.generator, ours.critic), nets):
        assert all(torch.equal(a, b.to(device)) for a, b in
                   zip(mine.state_dict().values(), theirs.state_dict().values())), \
            "the two loops must start from identical nets"
    plain = PlainWGANGP(*nets, lr=config.run.lr, betas=config.run.betas,
                        n_critic=config.run.n_critic,
                        penalty_weight=getattr(config.parts["constraint"].options, "weight", 10.0),
                        batch_size=case.batch_size, device=device, precision=precision)
    real = itertools.repeat(synthetic_batch(case.spec, case.batch_size, seed=args.seed,
                                            device=device))

    # On CUDA, each loop's peak memory over its timed steps (no per-loop figure exists on CPU);
    # both include what the other loop keeps resident (its nets and optimizer state).
    peaks = {"ours": 0.0, "plain": 0.0} if device.type == "cuda" else None

    def time_plain(steps: int) -> float:
        if peaks is not None:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        plain.train(real, steps)
        speed = steps / (time.perf_counter() - start)
        if peaks is not None:
            peaks["plain"] = max(peaks["plain"], peak_memory_mb(device))
        return speed

    def time_ours(steps: int, warmup: int = 0) -> float:
        result = measure(ours, gen_steps=steps, warmup=warmup)
        if peaks is not None:
            peaks["ours"] = max(peaks["ours"], result["peak_mem_mb"])
        return result["gen_steps_per_s"]

    time_plain(args.warmup)
    time_ours(1, warmup=args.warmup)
    if peaks is not None:  # what cuDNN's kernel search took while warming up is not the loop's
        peaks.update(ours=0.0, plain=0.0)
    ours_speeds, plain_speeds = [], []
    for round_ in range(args.rounds):
        if round_ % 2 == 0:
            ours_speeds.append(time_ours(args.gen_steps))
            plain_speeds.append(time_plain(args.gen_steps))
        else:
            plain_speeds.append(time_plain(args.gen_steps))
            ours_speeds.append(time_ours(args.gen_steps))
    ratios = [o / p for o, p in zip(ours_speeds, plain_speeds)]
    return {"ours_it_s": statistics.median(ours_speeds),
            "plain_it_s": statistics.median(plain_speeds),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios),
            "ratio_max": max(ratios), "n_critic": config.run.n_critic,
            "ours_peak_mb": None if peaks is None else peaks["ours"],
            "plain_peak_mb": None if peaks is None else peaks["plain"]}


def add_case_arguments(parser: argparse.ArgumentParser, default_cases: list[str]) -> None:
    """--case, --precision and --threads, as this script and `penalty_pass.py` take them."""
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help=f"repeatable [default: {' and '.join(default_cases)}]")
    parser.add_argument("--precision", action="append", choices=["fp32", "bf16"],
                        help="repeatable [default: fp32 and bf16]")
    parser.add_argument("--threads", type=int, help="torch CPU threads [default: torch's]")
    parser.set_defaults(default_cases=default_cases)


def chosen_cases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(case, precision) pairs to run, from the arguments `add_case_arguments` added."""
    return itertools.product(args.case or args.default_cases, args.precision or ["fp32", "bf16"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_case_arguments(parser, ["toy-mlp", "cifar-resnet"])
    parser.add_argument("--gen-steps", type=int, default=10, help="generator steps per timing")
    parser.add_argument("--rounds", type=int, default=5, help="timings of each loop")
    parser.add_argument("--warmup", type=int, default=2, help="untimed generator steps first")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="a setting for wgan-kit's run, e.g. run.fuse_critic=false")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    registry = wgan_kit.load_registry()
    host = machine()
    print(f"torch {torch.__version__}, {args.device}, {host['threads']} threads "
          f"({' '.join(f'{k}={v}' for k, v in host['thread_policy'].items())}), {host['cpu']} "
          f"({host['cpu_capability']}); {args.rounds} rounds of {args.gen_steps} generator steps "
          f"after {args.warmup} warm-up; load average at start {host['load_average']:.2f}",
          flush=True)
    header = "| net | batch | precision | device | ours it/s | plain it/s | ratio (min–max) |"
    print(header + "\n|" + " --- |" * 7, flush=True)
    rows = []
    for name, precision in chosen_cases(args):
        case = CASES[name]
        try:
            result = compare(case, precision, args, registry)
        except wgan_kit.WganKitError as exc:
            print(f"| {name} | {case.batch_size} | {precision} | {args.device} | skipped: "
                  f"{'; '.join(exc.problems)} | | |", flush=True)
            continue
        rows.append({"net": name, "batch": case.batch_size, "precision": precision,
                     "device": args.device, **result, **host,
                     "load_average_at_end": round(os.getloadavg()[0], 2)})
        print(f"| {name} | {case.batch_size} | {precision} | {args.device} | "
              f"{result['ours_it_s']:.3g} | {result['plain_it_s']:.3g} | "
              f"{result['ratio']:.2f}× ({result['ratio_min']:.2f}–{result['ratio_max']:.2f}) |",
              flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f} (it/s: generator steps per second, "
          f"each with n_critic critic steps; ratio: ours / plain, median of the rounds)")
    fp32 = {row["net"]: row for row in rows if row["precision"] == "fp32"}
    for row in rows:
        if row["precision"] != "fp32" and row["net"] in fp32:
            print(f"{row['net']}: ours at {row['precision']} / plain at fp32 = "
                  f"{row['ours_it_s'] / fp32[row['net']]['plain_it_s']:.2f}× "
                  "(medians of different rounds)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
