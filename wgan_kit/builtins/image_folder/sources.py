"""Finding, checking and decoding the `images` source's files."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from wgan_kit import SampleSpec, WganKitError

from ..image_sets import ImageSet, decode_images, to_signed_unit
from ..streams import (AUGMENT_STREAM, batch_generator, batch_indices, split_indices,
                       to_device)

if TYPE_CHECKING:
    from .options import ImageFolderOptions

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
NAMES_SHOWN = 3  # unreadable files named in the warning


def _pillow():
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise WganKitError("data.name: images needs Pillow, which is not installed; run: "
                           "pip install 'wgan-kit[images]' (or: pip install pillow)") from None
    return Image, ImageOps


def find_images(path: str | None) -> tuple[Path, list[Path]]:
    """The folder labels are relative to, and the candidate image files (sorted)."""
    if path is None:
        raise WganKitError("data.path: give a folder of images or a list file, e.g. "
                           "--set data.path=~/faces")
    given = Path(path).expanduser()
    if given.is_dir():
        files = sorted(f for f in given.rglob("*") if f.is_file())
        if not files:
            raise WganKitError(f"data.path: {path} is an empty folder; put PNG/JPEG/WebP "
                               "images in it")
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise WganKitError(f"data.path: {path} holds no PNG/JPEG/WebP images (only "
                               f"{len(files)} other file(s), e.g. {files[0].name})")
        return given, images
    if given.is_file():
        if given.suffix.lower() in IMAGE_SUFFIXES:
            raise WganKitError(f"data.path: {path} is one image; give the folder that holds the "
                               "images, or a text file listing them")
        try:
            lines = given.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise WganKitError(f"data.path: cannot read the list file {path} ({exc})") from None
        listed = [given.parent / line.strip() for line in lines
                  if line.strip() and not line.lstrip().startswith("#")]
        if not listed:
            raise WganKitError(f"data.path: the list file {path} names no images")
        return given.parent, listed
    raise WganKitError(f"data.path: {path}: no such file or folder")


def readable(file: Path) -> bool:
    """Whether Pillow recognises the file and finds its structure intact (without decoding it)."""
    image_module, _ = _pillow()
    try:
        with image_module.open(file) as image:
            image.verify()
    except Exception:  # Pillow raises many kinds for broken files; all mean "unreadable"
        return False
    return True


def load_pixels(file: Path, size: int, mode: str) -> np.ndarray:
    """One image, resized (shorter side = size) and centre-cropped: uint8 (C, size, size)."""
    image_module, image_ops = _pillow()
    with image_module.open(file) as image:
        image.draft(mode, (size, size))  # JPEG: decode at a reduced scale when it is much larger
        square = image_ops.fit(image.convert(mode), (size, size),
                               method=image_module.Resampling.BICUBIC)
    pixels = np.array(square, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


class ImageFiles(Dataset):
    """Decodes one file per item `(index, mirrored)`, in a worker process when there are workers,
    into (pixels, index, decoded); a file that fails to decode comes back as zeros, not decoded."""

    def __init__(self, files: list[Path], size: int, channels: int) -> None:
        self.files, self.size, self.channels = files, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, item: tuple[int, bool]) -> tuple[torch.Tensor, int, bool]:
        index, mirrored = item
        try:
            pixels = load_pixels(self.files[index], self.size, "RGB" if self.channels == 3 else "L")
        except Exception:  # reported by the caller, which knows whether to skip or stop
            return torch.zeros(self.channels, self.size, self.size, dtype=torch.uint8), index, False
        pixels = torch.from_numpy(pixels)
        return (pixels.flip(-1) if mirrored else pixels), index, True


class StreamOfBatches:
    """The items of training batch i: `batch_indices`' order, each with its flip drawn from the
    same (seed, i) stream as `ImageSet` draws it, so cached and streamed sets give equal batches."""

    def __init__(self, n: int, batch_size: int, *, seed: int, skip: int, hflip: bool) -> None:
        self.n, self.batch_size, self.seed, self.skip, self.hflip = n, batch_size, seed, skip, hflip

    def __iter__(self) -> Iterator[list[tuple[int, bool]]]:
        indices = batch_indices(self.n, self.batch_size, seed=self.seed, skip=self.skip)
        for i, chosen in enumerate(indices, start=self.skip):
            augment = batch_generator(self.seed, i, AUGMENT_STREAM)
            mirrored = (torch.rand(len(chosen), generator=augment) < 0.5 if self.hflip
                        else torch.zeros(len(chosen), dtype=torch.bool))
            yield list(zip(chosen.tolist(), mirrored.tolist()))


class ImageFolder:
    """Training images decoded as they are drawn, by `workers` DataLoader processes."""

    def __init__(self, files: list[Path], labels: torch.Tensor | None, held_out: torch.Tensor,
                 *, size: int, channels: int, num_classes: int | None, hflip: bool,
                 workers: int) -> None:
        keep = torch.ones(len(files), dtype=torch.bool)
        keep[held_out] = False
        train = [file for file, kept in zip(files, keep.tolist()) if kept]
        self.train_files = ImageFiles(train, size, channels)
        self.held_out_files = ImageFiles([files[i] for i in held_out.tolist()], size, channels)
        self.train_labels = labels[keep] if labels is not None else None
        self.hflip, self.workers = hflip, workers
        self.held_out_pixels = torch.empty(0, channels, size, size, dtype=torch.uint8)
        self.spec = SampleSpec((channels, size, size), "image", (-1.0, 1.0), num_classes)

    @property
    def train_size(self) -> int:
        return len(self.train_files)

    @property
    def held_out_size(self) -> int:
        return len(self.held_out_files)

    def labelled_batches(self, batch_size: int, *, seed: int, device: torch.device,
                         skip: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        stream = StreamOfBatches(self.train_size, batch_size, seed=seed, skip=skip,
                                 hflip=self.hflip)
        if batch_size > self.train_size:
            next(iter(stream))  # raises the clear error now, not in a worker
        loader = DataLoader(self.train_files, batch_sampler=stream, num_workers=self.workers,
                            pin_memory=device.type == "cuda")
        for pixels, indices, decoded in loader:
            _refuse_failed_decodes(self.train_files, indices, decoded)
            labels = self.train_labels[indices] if self.train_labels is not None else None
            yield (to_signed_unit(to_device(pixels, device)),
                   to_device(labels, device) if labels is not None else None)

    def batches(self, batch_size: int, *, seed: int, device: torch.device,
                skip: int = 0) -> Iterator[torch.Tensor]:
        for images, _ in self.labelled_batches(batch_size, seed=seed, device=device, skip=skip):
            yield images

    def held_out(self, n: int, *, device: torch.device) -> torch.Tensor:
        n = min(n, self.held_out_size)
        if len(self.held_out_pixels) < n:  # decoded once, then kept
            pixels, decoded = decode_all(self.held_out_files, workers=0, first=n)
            _refuse_failed_decodes(self.held_out_files, torch.arange(n), decoded)
            self.held_out_pixels = pixels
        return to_signed_unit(to_device(self.held_out_pixels[:n], device))

    def class_counts(self) -> list[int] | None:
        if self.train_labels is None or self.spec.num_classes is None:
            return None
        return torch.bincount(self.train_labels, minlength=self.spec.num_classes).tolist()

    def decode(self, batch: torch.Tensor) -> np.ndarray:
        return decode_images(batch)


def _failed_decodes(files: ImageFiles, indices: torch.Tensor, decoded: torch.Tensor) -> list[str]:
    return [files.files[i].name for i in indices[~decoded].tolist()]


def _refuse_failed_decodes(files: ImageFiles, indices: torch.Tensor,
                           decoded: torch.Tensor) -> None:
    failed = _failed_decodes(files, indices, decoded)
    if failed:
        raise WganKitError(f"data.path: {failed[0]} passed the check at the start but failed to "
                           "decode; remove it, or set data.cache=true to decode every image "
                           "fully at the start (unreadable ones are then skipped)")


def decode_all(files: ImageFiles, *, workers: int, first: int | None = None,
               chunk: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `first` (default: all) files decoded, and which of them decoded."""
    count = len(files) if first is None else first
    items = [[(i, False) for i in range(start, min(start + chunk, count))]
             for start in range(0, count, chunk)]
    parts = list(DataLoader(files, batch_sampler=items, num_workers=workers))
    pixels = torch.cat([p for p, _, _ in parts])
    decoded = torch.cat([ok for _, _, ok in parts])
    return pixels, decoded


def load_image_folder(options: ImageFolderOptions) -> ImageFolder | ImageSet:
    _pillow()  # a missing Pillow is the first thing to say
    root, candidates = find_images(options.path)
    checked = [(f, readable(f)) for f in candidates]
    files = [f for f, ok in checked if ok]
    unreadable = [f for f, ok in checked if not ok]
    if unreadable:
        names = ", ".join(str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
                          for f in unreadable[:NAMES_SHOWN])
        more = ", …" if len(unreadable) > NAMES_SHOWN else ""
        message = (f"data.path: {len(unreadable)} of {len(candidates)} image files cannot be "
                   f"read: {names}{more}")
        if options.strict or not files:
            raise WganKitError(message + ("" if files else "; no readable image is left"))
        warnings.warn(message + " (skipped; data.strict=true makes this an error)", stacklevel=2)
    labels, classes = _labels(files, root) if options.labels else (None, [])
    num_classes = len(classes) or None
    held_out = split_indices(len(files), options.held_out)[1]
    if len(files) - len(held_out) < 1:
        raise WganKitError(f"data.path: only {len(files)} readable image(s); at least 2 are "
                           "needed (one to train on, one held out)")
    if options.cache:
        return _cached(files, labels, held_out, options, num_classes)
    return ImageFolder(files, labels, held_out, size=options.size, channels=options.channels,
                       num_classes=num_classes, hflip=options.hflip, workers=options.workers)


def _cached(files: list[Path], labels: torch.Tensor | None, held_out: torch.Tensor,
            options: ImageFolderOptions, num_classes: int | None) -> ImageSet:
    """Every image decoded now; those that fail are skipped like unreadable ones."""
    decoder = ImageFiles(files, options.size, options.channels)
    pixels, good = decode_all(decoder, workers=options.workers)
    failed = _failed_decodes(decoder, torch.arange(len(files)), good)
    if failed:
        message = (f"data.path: {len(failed)} image(s) failed to decode: "
                   f"{', '.join(failed[:NAMES_SHOWN])}{', …' if len(failed) > NAMES_SHOWN else ''}")
        if options.strict or int(good.sum()) < 2:
            raise WganKitError(message)
        warnings.warn(message + " (skipped; data.strict=true makes this an error)", stacklevel=3)
    kept = good.nonzero().flatten()
    is_held_out = torch.zeros(len(files), dtype=torch.bool)
    is_held_out[held_out] = True
    return ImageSet(pixels[kept], labels[kept] if labels is not None else None,
                    is_held_out[kept].nonzero().flatten(), num_classes=num_classes,
                    hflip=options.hflip)


def _labels(files: list[Path], root: Path) -> tuple[torch.Tensor, list[str]]:
    """Each file's class: the name of its first-level sub-folder under `root`, classes sorted."""
    folders = []
    for file in files:
        parts = file.relative_to(root).parts if file.is_relative_to(root) else ()
        if len(parts) < 2:
            raise WganKitError(f"data.labels: {file} is not in a sub-folder of {root}; with "
                               "labels=true, put each class in its own sub-folder")
        folders.append(parts[0])
    classes = sorted(set(folders))
    index = {name: i for i, name in enumerate(classes)}
    return torch.tensor([index[f] for f in folders]), classes
