"""Reading the `tensors` source's safetensors file and checking it before any training starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from wgan_kit import SampleSpec, WganKitError

from ..image_sets import ImageSet, decode_images
from ..streams import SampleSet, split_indices

KIND_OF_RANK = {1: "points", 2: "sequence", 3: "image"}


class TensorSet(SampleSet):
    """Float samples of any kind, decoded for people by kind."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor | None,
                 held_out: torch.Tensor, spec: SampleSpec, vocabulary: list[str] | None) -> None:
        super().__init__(samples, labels, held_out, spec)
        self.vocabulary = vocabulary

    def decode(self, batch: torch.Tensor) -> Any:
        if self.spec.kind == "image":
            return decode_images(batch)
        if self.spec.kind == "sequence":
            symbols = batch.detach().argmax(dim=-1).cpu().tolist()
            if self.vocabulary:
                return ["".join(self.vocabulary[s] for s in row) for row in symbols]
            return [" ".join(map(str, row)) for row in symbols]
        return batch.detach().float().cpu()


def load_tensor_file(path: str | None, kind: str, held_out: float) -> SampleSet:
    if path is None:
        raise WganKitError("data.path: give the safetensors file, e.g. "
                           "--set data.path=samples.safetensors")
    file = Path(path).expanduser()
    if not file.is_file():
        raise WganKitError(f"data.path: {path}: no such file")
    try:
        with safe_open(file, framework="pt") as tensors:
            names, metadata = set(tensors.keys()), tensors.metadata() or {}
            x = tensors.get_tensor("x") if "x" in names else None
            y = tensors.get_tensor("y") if "y" in names else None
    except (SafetensorError, OSError) as exc:
        raise WganKitError(f"data.path: {path} is not a safetensors file ({exc})") from None
    if x is None:
        raise WganKitError(f"data.path: {path} has no tensor 'x' (it has: "
                           f"{', '.join(sorted(names)) or 'none'}); save samples as x, labels as y")
    if x.dim() < 2 or len(x) < 2:
        raise WganKitError(f"data.path: x has shape {tuple(x.shape)}; expected N ≥ 2 samples, "
                           "N × …")
    kind = KIND_OF_RANK.get(x.dim() - 1, "points") if kind == "auto" else kind
    labels = _labels(y, len(x), path)
    held_out_indices = split_indices(len(x), held_out)[1]
    num_classes = int(labels.max()) + 1 if labels is not None else None
    if x.dtype == torch.uint8 and kind == "image":
        return ImageSet(x, labels, held_out_indices, num_classes=num_classes)
    if not x.is_floating_point():
        raise WganKitError(f"data.path: x is {x.dtype}; expected floats (or uint8 images)")
    x = x.float()
    low, high = x.min().item(), x.max().item()
    if kind == "image" and (low < -1 or high > 1):
        raise WganKitError(f"data.path: x holds images with values in [{low:g}, {high:g}]; "
                           "scale them to [-1, 1], or save uint8 pixels 0…255")
    if kind == "image" and x.dim() != 4:
        raise WganKitError(f"data.path: x has shape {tuple(x.shape)}; images are N × C × H × W")
    spec = SampleSpec(tuple(x.shape[1:]), kind, (low, high), num_classes)
    return TensorSet(x, labels, held_out_indices, spec, _vocabulary(metadata, x, kind, path))


def _labels(y: torch.Tensor | None, n: int, path: str) -> torch.Tensor | None:
    if y is None:
        return None
    if y.shape != (n,) or y.is_floating_point() or y.dtype == torch.bool or y.min() < 0:
        raise WganKitError(f"data.path: y ({y.dtype}, shape {tuple(y.shape)}) must hold {n} "
                           "class labels 0, 1, 2, … as integers, one per sample of x")
    return y.long()


def _vocabulary(metadata: dict[str, str], x: torch.Tensor, kind: str,
                path: str) -> list[str] | None:
    if kind != "sequence" or "vocabulary" not in metadata:
        return None
    try:
        vocabulary = json.loads(metadata["vocabulary"])
    except ValueError:
        vocabulary = None
    if not isinstance(vocabulary, list) or len(vocabulary) != x.shape[-1]:
        raise WganKitError(f"data.path: {path}'s metadata 'vocabulary' must be a JSON list of "
                           f"{x.shape[-1]} strings, one per symbol")
    return [str(symbol) for symbol in vocabulary]
