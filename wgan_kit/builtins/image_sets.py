"""A set of images held in memory as uint8, the form MNIST, the 8×8 digits, CIFAR-10 and a cached
image folder share. Pixels travel to the device as bytes and become floats in [−1, 1] there (the
released WGAN-GP code's `2 * (x / 255 − 0.5)`), a quarter of the copy a float batch would need.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from wgan_kit import SampleSpec

from .streams import AUGMENT_STREAM, batch_generator, batch_indices, to_device


def to_signed_unit(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0…255 as floats in [−1, 1]."""
    return pixels.float().div_(127.5).sub_(1)


def decode_images(batch: torch.Tensor) -> np.ndarray:
    """Images in [−1, 1], (N, C, H, W), as the uint8 (N, H, W, C) array a picture shows."""
    pixels = (batch.detach().float().clamp(-1, 1) + 1).mul_(127.5).round_().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


class ImageSet:
    """Images (N, C, H, W) as uint8 with optional integer labels, split once into training and
    held-out parts. `hflip` mirrors each training image with probability ½; `noise` adds
    U[0, noise) to each training pixel after scaling (dequantization). Both are drawn from
    (seed, batch index), so a resumed stream repeats them."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor | None,
                 held_out: torch.Tensor, *, num_classes: int | None = None,
                 hflip: bool = False, noise: float = 0.0) -> None:
        keep = torch.ones(len(pixels), dtype=torch.bool)
        keep[held_out] = False
        self.train_pixels, self.held_out_pixels = pixels[keep], pixels[held_out]
        self.train_labels = labels[keep] if labels is not None else None
        self.held_out_labels = labels[held_out] if labels is not None else None
        self.hflip, self.noise = hflip, noise
        self.spec = SampleSpec(shape=tuple(pixels.shape[1:]), kind="image",
                               value_range=(-1.0, 1.0 + noise), num_classes=num_classes)

    @property
    def train_size(self) -> int:
        return len(self.train_pixels)

    @property
    def held_out_size(self) -> int:
        return len(self.held_out_pixels)

    def labelled_batches(self, batch_size: int, *, seed: int, device: torch.device,
                         skip: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Training batches with their labels (None for an unlabelled set)."""
        indices = batch_indices(self.train_size, batch_size, seed=seed, skip=skip)
        for i, chosen in enumerate(indices, start=skip):
            pixels = self.train_pixels[chosen]
            augment = batch_generator(seed, i, AUGMENT_STREAM)
            if self.hflip:
                mirrored = torch.rand(len(pixels), generator=augment) < 0.5
                pixels[mirrored] = pixels[mirrored].flip(-1)
            images = to_signed_unit(to_device(pixels, device))
            if self.noise:
                images += to_device(torch.rand(images.shape, generator=augment), device) * self.noise
            labels = self.train_labels[chosen] if self.train_labels is not None else None
            yield images, (to_device(labels, device) if labels is not None else None)

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for images, _ in self.labelled_batches(batch_size, seed=seed, device=device, skip=skip):
            yield images

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        return to_signed_unit(to_device(self.held_out_pixels[:n], device))

    def class_counts(self) -> list[int] | None:
        """Training images per class, or None for an unlabelled set."""
        if self.train_labels is None or self.spec.num_classes is None:
            return None
        return torch.bincount(self.train_labels, minlength=self.spec.num_classes).tolist()

    def decode(self, batch: torch.Tensor) -> np.ndarray:
        return decode_images(batch)
