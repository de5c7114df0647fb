"""The gradient penalty's pass alone, with torch's double backward and with wgan-kit's lean one.

One forward of the critic over the interpolates, the inner gradient and the double backward into
the critic's weights, as a critic step runs them (`run.lean_double_backward`,
`wgan_kit/core/engine/double_backward.py`). Both versions take turns in one process; the table gives the
median time of each and the median of the per-round ratios.

    python benchmarks/penalty_pass.py                          # CIFAR ResNet, fp32 and bf16
    python benchmarks/penalty_pass.py --case cifar-dcgan --case toy-mlp --precision bf16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import wgan_kit
from wgan_kit.core.engine.acceleration import PenaltyPass
from wgan_kit.evaluation.benchmark import SyntheticData, synthetic_batch
from wgan_kit.builtins.gradient_penalty import GradientPenalty

sys.path.insert(0, str(Path(__file__).parent))
# The same nets, shapes, batches and options as the loop comparison:
from compare import CASES, add_case_arguments, chosen_cases  # noqa: E402


def seconds(trainer: wgan_kit.Trainer, lean: bool, real: torch.Tensor, fake: torch.Tensor
            ) -> float:
    """One penalty pass, as a critic step runs it (autocast, fp32 scores)."""
    critic = PenaltyPass(trainer.critic, trainer.acceleration.autocast, None,
                         lean_double_backward=lean)
    start = time.perf_counter()
    penalty = GradientPenalty().penalty(critic, real, fake)
    trainer.critic.zero_grad(set_to_none=True)
    penalty.value.backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_case_arguments(parser, ["cifar-resnet"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.rounds} rounds")
    print("| net | batch | precision | torch's ms | lean ms | torch's / lean |\n|" + " --- |" * 6)
    for name, precision in chosen_cases(args):
        case = CASES[name]
        spec, batch = case.spec, case.batch_size
        trainer = wgan_kit.compose(gen=case.gen, critic=case.critic, data=SyntheticData(spec),
                                   seed=0, batch_size=batch, precision=precision, device="cpu")
        real, fake = (synthetic_batch(spec, batch, seed=seed, device=torch.device("cpu"))
                      for seed in (0, 1))
        if real.dim() == 4:  # as the run lays images out (run.channels_last)
            real, fake = (x.contiguous(memory_format=torch.channels_last) for x in (real, fake))
        times: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(args.rounds + 1):  # the first round warms up
            for lean in (False, True) if round_ % 2 else (True, False):
                elapsed = seconds(trainer, lean, real, fake)
                if round_:
                    times[lean].append(elapsed)
        ratio = statistics.median(a / b for a, b in zip(times[False], times[True]))
        print(f"| {name} | {batch} | {precision} | {statistics.median(times[False]) * 1e3:.0f} | "
              f"{statistics.median(times[True]) * 1e3:.0f} | {ratio:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
