"""`cifar10`: CIFAR-10 (Krizhevsky 2009), the image set of WGAN-GP Section 6 and Table 3.

Read from the official files at a local path, never downloaded: the binary version
(data_batch_1.bin … data_batch_5.bin and test_batch.bin: one label byte then 32×32 red, green and
blue planes per image), or the Python version's pickles through an unpickler that admits only
NumPy arrays. The 50,000 training images train; the 10,000 test images are the held-out set.
Pixels are scaled to [−1, 1]; `dequantize` adds U[0, 1/128) to each training pixel, as the
released CIFAR ResNet code (`gan_cifar_resnet.py`) does. Labels are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..sample_shapes import CONVOLUTIONAL_NETS

if TYPE_CHECKING:
    from wgan_kit import DataSource


class Cifar10Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="Folder of the unpacked CIFAR-10 binary version "
                                               "(cifar-10-batches-bin) or Python version "
                                               "(cifar-10-batches-py).")
    dequantize: bool = Field(False, description="Add U[0, 1/128) to each training pixel (the "
                                                "released CIFAR ResNet code).")
    hflip: bool = Field(False, description="Mirror each training image with probability ½.")


def build(options: Cifar10Options) -> DataSource:
    from .sources import load_cifar10

    return load_cifar10(options.path, dequantize=options.dequantize, hflip=options.hflip)


@hookimpl
def register_components(register):
    register(Component("data", "cifar10", build, Cifar10Options,
                       "CIFAR-10 from its official files at a local path (no download).",
                       CONVOLUTIONAL_NETS))
