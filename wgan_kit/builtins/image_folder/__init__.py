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

from typing import TYPE_CHECKING

from wgan_kit import Component, hookimpl

from ..sample_shapes import CONVOLUTIONAL_NETS
from .options import ImageFolderOptions

if TYPE_CHECKING:
    from wgan_kit import DataSource


def build(options: ImageFolderOptions) -> DataSource:
    from .sources import load_image_folder

    return load_image_folder(options)


@hookimpl
def register_components(register):
    register(Component("data", "images", build, ImageFolderOptions,
                       "Your own images: a folder or list of PNG/JPEG/WebP, resized and "
                       "centre-cropped.", CONVOLUTIONAL_NETS))
