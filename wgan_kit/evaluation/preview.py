"""A look at a data source before training on it: `wgan-kit data show`, and `preview_data` for the
same from Python. The first thing to check about a data set: a picture of real training samples,
the set's size, the shape and range of its samples and how many there are of each class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..core.layers import resolve
from ..core.registry import load_registry
from ..errors import WganKitError
from .pictures import save_picture

if TYPE_CHECKING:
    from ..core.registry import Registry


@dataclass(frozen=True)
class DataPreview:
    """What `preview_data` found in a data source."""

    name: str  # as asked for
    package: str  # the package providing the source, and its version
    version: str
    n: int  # samples drawn (at most the training set's size)
    shape: tuple[int, ...]  # of one sample
    kind: str  # points, image, sequence, ...
    low: float  # the smallest and largest value in the samples drawn
    high: float
    declared: tuple[float, float] | None  # the value range the source declares, if any
    train_size: int | None  # None for sources that sample afresh for every batch
    held_out_size: int | None
    class_counts: list[int] | None  # samples per class, for labelled sources
    picture: Path


def preview_data(name: str, out: str | Path, *, n: int = 64,
                 options: Mapping[str, Any] | None = None, seed: int = 0,
                 registry: Registry | None = None) -> DataPreview:
    """Draw the `seed`-th training batch of `n` samples from the data source `name` (with its
    `options`, e.g. `{"size": 32}`) into the picture `out` (.png), and measure the source."""
    out = Path(out)
    if out.suffix != ".png":
        raise WganKitError(f"--out {out}: unknown format {out.suffix or '(none)'!r}; use .png")
    chosen = {"data": {**(options or {}), "name": name}}
    part = resolve([chosen], registry or load_registry()).parts["data"]
    source = part.component.factory(part.options)
    n = min(n, getattr(source, "train_size", n))
    batch = next(source.batches(n, seed=seed, device=torch.device("cpu")))
    shown = source.decode(batch)
    kind = source.spec.kind
    if kind == "points":  # drawn as the real points of a run's pictures
        save_picture(kind, shown[:0], out, real=shown, title=f"{name}: {n} real samples")
    elif not save_picture(kind, shown, out, title=f"{name}: {n} real samples"):
        raise WganKitError(f"--out {out}: no picture for samples of kind {kind!r}")
    return DataPreview(
        name=name, package=part.component.package, version=part.component.version, n=n,
        shape=source.spec.shape, kind=kind, low=batch.min().item(), high=batch.max().item(),
        declared=source.spec.value_range, train_size=getattr(source, "train_size", None),
        held_out_size=getattr(source, "held_out_size", None),
        class_counts=source.class_counts() if hasattr(source, "class_counts") else None,
        picture=out)
