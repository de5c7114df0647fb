"""`8gaussians`, `25gaussians`, `swissroll`: the 2-D toy sets of WGAN-GP Section 3.

Built and scaled as the paper's released `gan_toy.py` builds them. Runs on them start from that
code's batch 256, λ = 0.1 and Adam β = (0.5, 0.9), with narrower nets and a larger step size
chosen by time to quality (below), unless the user sets others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

if TYPE_CHECKING:
    from wgan_kit import DataSource

# The released toy code's settings ("LAMBDA = .1 # Smaller lambda makes things faster for toy
# tasks"), and wgan-kit's own choice where time to quality on an ordinary CPU says otherwise
# (benchmarks/README.md, `quality.py --case 8gaussians-first-command`): 256-wide nets, which take
# a third of the 512-wide ones' time per step, with Adam at 3e-4, 3,000 steps, and a moving
# average of the generator. At fp32 on two AVX2 cores: W1 <= 0.10 with 8/8 modes after ~2,700
# steps (median, 5 seeds), about two minutes; the 512-wide nets at 1e-4 needed ~2,000 steps at
# a third of the speed. The released code's settings are the `wgan-gp-toy` recipe.
TOY_DEFAULTS = {
    "gen.hidden": 256,
    "critic.hidden": 256,
    "run.lr": 3e-4,
    "run.batch_size": 256,
    "run.betas": (0.5, 0.9),
    "constraint.weight": 0.1,
    "run.steps": 3000,
    "run.precision": "auto",
    "run.ema_decay": 0.995,
    "run.log_every": 100,
    "run.checkpoint_every": 500,
    "run.sample_every": 500,
    "run.heldout_every": 100,
}

# The grid's 25 narrow modes need more: with the settings above, all 25 took ~12,000 steps. A
# larger step size, n_critic 3 and an 8-d latent got there in a fraction of the time (the search:
# benchmarks/sweeps/25gaussians_time_to_quality.toml; benchmarks/README.md, "Time to quality").
GRID_DEFAULTS = {
    **TOY_DEFAULTS,
    "gen.latent_dim": 8,
    "run.lr": 3e-3,
    "run.n_critic": 3,
    "run.ema_decay": 0.99,
    "run.steps": 6000,
}


class EightGaussiansOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    radius: float = Field(2.0, gt=0, le=1e6,
                          description="Distance of the centres from the origin before the "
                                      "released code divides every point by 1.414: the centres "
                                      "lie at radius/1.414.")
    std: float = Field(0.02, gt=0, le=1e6,
                       description="Standard deviation around each centre before that division "
                                   "(std/1.414 after it).")


class TwentyFiveGaussiansOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_seed: int = Field(0, ge=0, lt=1 << 63, description="Seed of the fixed 100,000-point set.")
    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the set kept out of training.")


class SwissRollOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    noise: float = Field(0.25, ge=0, le=1e6, description="Gaussian noise added before scaling.")


def build_eight_gaussians(options: EightGaussiansOptions) -> DataSource:
    from .sources import EightGaussians

    return EightGaussians(options.radius, options.std)


def build_twenty_five_gaussians(options: TwentyFiveGaussiansOptions) -> DataSource:
    from .sources import TwentyFiveGaussians

    return TwentyFiveGaussians(options.dataset_seed, options.held_out)


def build_swiss_roll(options: SwissRollOptions) -> DataSource:
    from .sources import SwissRoll

    return SwissRoll(options.noise)


@hookimpl
def register_components(register):
    register(Component("data", "8gaussians", build_eight_gaussians, EightGaussiansOptions,
                       "Eight Gaussians on a circle (toy set of WGAN-GP Section 3).",
                       TOY_DEFAULTS))
    register(Component("data", "25gaussians", build_twenty_five_gaussians,
                       TwentyFiveGaussiansOptions,
                       "A 5×5 grid of Gaussians, a fixed set of 100,000 points with a held-out split.",
                       GRID_DEFAULTS))
    register(Component("data", "swissroll", build_swiss_roll, SwissRollOptions,
                       "The 2-D swiss roll (toy set of WGAN-GP Section 3).", TOY_DEFAULTS))
