"""`images`: the user's own pictures, from a folder (searched recursively) or a list file.

Each image is resized so its shorter side is `size` and centre-cropped to size × size, then
scaled to [−1, 1] as the released WGAN-GP code scales its image sets; an optional horizontal flip
augments training batches. Class labels come from the names of the first-level sub-folders when
asked. Images are decoded in DataLoader worker processes, or once up front into memory (`cache`).

Every file is checked before training starts: a missing path, an empty folder or a folder without
PNG/JPEG/WebP files is an error, and images Pillow cannot read are skipped with one warning
(`strict=true` makes them an error). Needs Pillow: `pip install 'wgan-kit[images]'`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from wgan_kit import Component, hookimpl

from ..sample_shapes import CONVOLUTIONAL_NETS

if TYPE_CHECKING:
    from wgan_kit import DataSource


class ImageFolderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="A folder of PNG/JPEG/WebP images (searched "
                                               "recursively), or a text file listing image "
                                               "paths, one per line, relative to the list.")
    size: int = Field(64, ge=2, le=4096, description="Side of the square images, in pixels.")
    channels: Literal[1, 3] = Field(3, description="3 for RGB, 1 for grayscale.")
    hflip: bool = Field(False, description="Mirror each training image with probability ½.")
    labels: bool = Field(False, description="Class labels from the names of the first-level "
                                            "sub-folders.")
    workers: int = Field(2, ge=0, le=64, description="DataLoader worker processes that decode "
                                                     "images (0: decode in the training process).")
    cache: bool = Field(False, description="Decode every image once at the start and keep it in "
                                           "memory (for sets that fit).")
    strict: bool = Field(False, description="Stop at an unreadable image instead of skipping it.")
    held_out: float = Field(0.1, gt=0, lt=1, description="Share of the images kept out of "
                                                         "training.")


def build(options: ImageFolderOptions) -> DataSource:
    from .sources import load_image_folder

    return load_image_folder(options)


@hookimpl
def register_components(register):
    register(Component("data", "images", build, ImageFolderOptions,
                       "Your own images: a folder or list of PNG/JPEG/WebP, resized and "
                       "centre-cropped.", CONVOLUTIONAL_NETS))
