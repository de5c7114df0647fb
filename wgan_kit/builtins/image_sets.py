"""A set of images held in memory as uint8, the form MNIST, the 8×8 digits, CIFAR-10, uint8
tensors and a cached image folder share. Pixels travel to the device as bytes and become floats in
[−1, 1] there (the released WGAN-GP code's `2 * (x / 255 − 0.5)`): a quarter of a float copy.
"""

from __future__ import annotations

import numpy as np
import torch

from wgan_kit import SampleSpec

from .streams import SampleSet, to_device


def to_signed_unit(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0…255 as floats in [−1, 1]."""
    return pixels.float().div_(127.5).sub_(1)


def decode_images(batch: torch.Tensor) -> np.ndarray:
    """Images in [−1, 1], (N, C, H, W), as the uint8 (N, H, W, C) array a picture shows."""
    pixels = (batch.detach().float().clamp(-1, 1) + 1).mul_(127.5).round_().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


class ImageSet(SampleSet):
    """uint8 images (N, C, H, W) with optional labels. `hflip` mirrors each training image with
    probability ½; `noise` adds U[0, noise) to each training pixel after scaling to [−1, 1]
    (dequantization). Both are drawn from (seed, batch index), so a resumed stream repeats them."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor | None,
                 held_out: torch.Tensor, *, num_classes: int | None = None,
                 hflip: bool = False, noise: float = 0.0) -> None:
        spec = SampleSpec(shape=tuple(pixels.shape[1:]), kind="image",
                          value_range=(-1.0, 1.0 + noise), num_classes=num_classes)
        super().__init__(pixels, labels, held_out, spec)
        self.hflip, self.noise = hflip, noise

    def to_model(self, stored: torch.Tensor) -> torch.Tensor:
        return to_signed_unit(stored)

    def training_batch(self, stored: torch.Tensor, generator: torch.Generator,
                       device: torch.device) -> torch.Tensor:
        if self.hflip:
            mirrored = torch.rand(len(stored), generator=generator) < 0.5
            stored[mirrored] = stored[mirrored].flip(-1)  # `stored` is a fresh copy
        images = self.to_model(to_device(stored, device))
        if self.noise:
            images += to_device(torch.rand(images.shape, generator=generator), device) * self.noise
        return images

    def decode(self, batch: torch.Tensor) -> np.ndarray:
        return decode_images(batch)
