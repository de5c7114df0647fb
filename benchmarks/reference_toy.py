"""Runs the public PyTorch port of the released toy code (caogang/wgan-gp `gan_toy.py`) unchanged
but for the patches listed in `PATCHES`, each with its reason. The file is read from the user's
checkout at run time and never stored in this repository.

The port is Python 2 code for torch 0.1–0.3 on CUDA. What must change to run it here (Python 3,
torch 2.13, CPU), and what the benchmark needs (a seed, a step count, a dataset, and scoring of
its generator every few steps), is all below; its nets, initialisation, losses, penalty, optimizer
and loop run as written. Its data loading keeps its own recipe, seeded by the run's seed.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import torch

# (what the source says, what runs instead, why). Each must occur in the source as many times as
# given, so a different version of the file is refused instead of run half-patched.
PATCHES: list[tuple[str, str, int, str]] = [
    ("torch.manual_seed(1)", "torch.manual_seed(SEED)", 1,
     "the benchmark's seed instead of the fixed 1"),
    ("DATASET = '8gaussians'", "DATASET = DATASET_NAME", 1, "the case's dataset"),
    ("ITERS = 100000", "ITERS = STEPS", 1, "the case's step count"),
    ("DIM = 512", "DIM = WIDTH", 1, "the width (512 unless --quick)"),
    ("use_cuda = True", "use_cuda = False", 1, "CPU"),
    ("print netG\nprint netD\n", "", 1, "Python 3: print statements"),
    ("xrange", "range", 7, "Python 3: range"),
    ("100000 / 25", "100000 // 25", 1, "data loading, Python 3: integer division"),
    ("len(dataset) / BATCH_SIZE", "len(dataset) // BATCH_SIZE", 1,
     "data loading, Python 3: integer division"),
    ("def inf_train_gen():\n", "def inf_train_gen():\n    np.random.seed(SEED)\n"
     "    random.seed(SEED)\n", 1,
     "data loading: NumPy's and Python's streams seeded by the run's seed (unseeded upstream)"),
    ("data.next()", "next(data)", 2, "Python 3: next()"),
    ("one = torch.FloatTensor([1])", "one = torch.tensor(1.0)", 1,
     "torch >= 0.4: backward() of a 0-dim mean takes a 0-dim gradient, not shape [1]"),
    ("        generate_image(_data)\n", "", 1,
     "no frame pictures (they need CUDA's volatile Variables and a tmp/ folder)"),
    ("for iteration in range(ITERS):", "for iteration in SCORED(ITERS):", 1,
     "scoring the generator after each step (outside the step, on its own random stream)"),
]


def source(folder: Path) -> str:
    path = folder / "gan_toy.py"
    if not path.is_file():
        raise SystemExit(f"--reference: {folder} has no gan_toy.py; pass a checkout of "
                         "https://github.com/caogang/wgan-gp")
    return path.read_text(encoding="utf-8")


def patched(text: str) -> str:
    for old, new, count, why in PATCHES:
        found = text.count(old)
        if found != count:
            raise SystemExit(f"--reference: gan_toy.py has {found} of {old!r} (expected {count}, "
                             f"patched for: {why}); this benchmark knows the file at caogang/"
                             "wgan-gp's master")
        text = text.replace(old, new)
    return text


def _stub_modules() -> None:
    """`tflib.plot` (the port's logging to pickles and PNGs) as no-ops."""
    plot = types.ModuleType("tflib.plot")
    plot.plot = plot.flush = plot.tick = lambda *args, **kwargs: None
    tflib = types.ModuleType("tflib")
    tflib.plot = plot
    sys.modules.setdefault("tflib", tflib)
    sys.modules.setdefault("tflib.plot", plot)


def train(folder: Path, *, dataset: str, seed: int, steps: int, width: int,
          after_step: Callable[[int, Callable[[torch.Tensor], torch.Tensor]], None]) -> None:
    """Run the port for `steps` generator steps; `after_step(step, generate)` after each."""
    _stub_modules()
    namespace: dict = {"__name__": "gan_toy", "SEED": seed, "DATASET_NAME": dataset,
                       "STEPS": steps, "WIDTH": width}

    def scored(iterations: int):
        for iteration in range(iterations):
            yield iteration
            net = namespace["netG"]
            after_step(iteration + 1, lambda z: net(z, None))

    namespace["SCORED"] = scored
    code = compile(patched(source(folder)), str(folder / "gan_toy.py"), "exec")
    exec(code, namespace)  # noqa: S102 - the user's own checkout of a public reference
