"""`tensors`: the user's own samples of any domain, from a safetensors file.

The file holds a tensor `x` of N samples (N × …) and optionally `y`, N integer class labels. A
sample's kind follows its rank unless set: 1-D samples are points, 2-D samples (T, V) are
sequences of V-symbol rows, 3-D samples (C, H, W) are images. Images are uint8 (0…255, scaled to
[−1, 1] as the released WGAN-GP code does) or floats already in [−1, 1]. Sequences may name
their V symbols in the file's metadata under "vocabulary" (a JSON list of strings) for `decode`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

if TYPE_CHECKING:
    from wgan_kit import DataSource


class TensorFileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="The .safetensors file holding x (and y).")
    kind: Literal["auto", "points", "image", "sequence"] = Field(
        "auto", description="What a sample is; auto: points for 1-D samples, sequence for 2-D, "
                            "image for 3-D.")
    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the samples kept out of "
                                                         "training.")


def build(options: TensorFileOptions) -> DataSource:
    from .sources import load_tensor_file

    return load_tensor_file(options.path, options.kind, options.held_out)


@hookimpl
def register_components(register):
    register(Component("data", "tensors", build, TensorFileOptions,
                       "Your own samples of any shape: tensor x (and labels y) of a safetensors "
                       "file."))
