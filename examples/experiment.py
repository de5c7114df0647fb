"""What every reproduction script in examples/ shares: its command line and its output folder.

    parser = experiment.command_line("value_surfaces", __doc__)
    args = parser.parse_args()
    out = experiment.prepare(args)          # seeds, threads, a fresh output folder
    ...
    experiment.write_results(out, "Value surfaces (Figure 1a)", body, numbers)

Each script writes its figures, `results.md` (what a person reads) and `results.json` (the numbers,
for tests and for docs/reproduction.md) into `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from wgan_kit.evaluation import classes_covered as covered_by_logits
from wgan_kit.evaluation.scores import extract


def command_line(name: str, description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python examples/{name}.py", description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a tiny version (seconds) that checks the script end to end; its "
                             "numbers mean nothing")
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help="output folder for figures, results.md and results.json "
                             f"(default: runs/{name})")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default: 0)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, all cores)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results already in --out")
    return parser


def prepare(args: argparse.Namespace) -> Path:
    """Seed torch, set its threads, and make `args.out`, refusing to overwrite earlier results."""
    out: Path = args.out
    if (out / "results.md").exists() and not args.overwrite:
        sys.exit(f"error: {out} already holds results; choose another --out or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return out


def write_results(out: Path, title: str, body: str, numbers: dict[str, Any]) -> None:
    """results.md (title, then the body in Markdown) and results.json (the numbers)."""
    (out / "results.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (out / "results.md").write_text(f"# {title}\n\n{body.strip()}\n")
    print(f"results: {out / 'results.md'}")


@torch.no_grad()
def classes_covered(extractor: Any, images: torch.Tensor) -> tuple[int, list[float]]:
    """wgan_kit.evaluation's classes covered of uint8 images (N, C, H, W), by the `classifier`
    features' logits: the count, and each class's share."""
    return covered_by_logits(extract(extractor.logits, images))
