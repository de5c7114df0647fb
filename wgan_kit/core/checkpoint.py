"""Checkpoints as safetensors files: tensors plus JSON metadata, never pickle.

A file is written to a temporary name, flushed to disk and renamed, so a process killed mid-write
leaves the previous checkpoint whole. Loading checks the format version and refuses, in one line,
weights whose names or shapes differ from the model they are loaded into (`MismatchedWeights`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from ..errors import WganKitError

FORMAT = "wgan-kit-checkpoint/1"


class MismatchedWeights(WganKitError):
    """A checkpoint's weights do not fit the net they are loaded into, said in one line (how many
    tensors differ, and the first); the engine names the architectures when it knows them."""


def save(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any], *,
         format: str = FORMAT) -> None:
    """Write atomically: the file at `path` is either the old one or the complete new one.
    `format` names what the file holds (a checkpoint; `wgan-kit sample`'s samples)."""
    header = {"format": format, **{key: json.dumps(value) for key, value in metadata.items()}}
    payload = safetensors.torch.save(
        {name: t.detach().cpu().contiguous() for name, t in tensors.items()}, metadata=header)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        tensors = safetensors.torch.load_file(str(path))
        with safetensors.safe_open(str(path), framework="pt") as file:
            header = file.metadata() or {}
    except FileNotFoundError:
        raise WganKitError(f"checkpoint {path}: no such file") from None
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise WganKitError(f"checkpoint {path}: not a readable safetensors file ({exc}); "
                           "it may be truncated") from None
    if header.get("format") != FORMAT:
        raise WganKitError(f"checkpoint {path}: format {header.get('format')!r}, expected "
                           f"{FORMAT!r}")
    return tensors, {key: json.loads(value) for key, value in header.items() if key != "format"}


def read_metadata(path: Path) -> dict[str, Any]:
    """A checkpoint's metadata alone, without reading its tensors."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as file:
            header = file.metadata() or {}
    except FileNotFoundError:
        raise WganKitError(f"checkpoint {path}: no such file") from None
    except Exception as exc:
        raise WganKitError(f"checkpoint {path}: not a readable safetensors file ({exc}); "
                           "it may be truncated") from None
    return {key: json.loads(value) for key, value in header.items() if key != "format"}


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}": tensor for name, tensor in tensors.items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    start = len(prefix) + 1
    return {name[start:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}


def load_module(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """Load weights; refuse them in one line (`MismatchedWeights`) when any tensor is missing,
    unexpected or of another shape."""
    expected = module.state_dict()
    problems = [f"{what}.{name}: missing from the checkpoint" for name in expected
                if name not in tensors]
    problems += [f"{what}.{name}: in the checkpoint but not in the model" for name in tensors
                 if name not in expected]
    problems += [f"{what}.{name}: shape {tuple(tensors[name].shape)} in the checkpoint, "
                 f"{tuple(expected[name].shape)} in the model"
                 for name in expected if name in tensors and tensors[name].shape != expected[name].shape]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MismatchedWeights(f"the checkpoint's {what} does not fit this run's: "
                                f"{problems[0]}{more}")
    module.load_state_dict(tensors)


def optimizer_state(optimizer: torch.optim.Optimizer, prefix: str
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                         metadata: dict[str, Any], prefix: str) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in unprefixed(tensors, prefix).items():
        index, _, key = name.partition(".")
        state.setdefault(int(index), {})[key] = tensor
    for name, value in metadata["scalars"].items():
        index, _, key = name.partition(".")
        state.setdefault(int(index), {})[key] = value
    groups = [{key: tuple(value) if isinstance(current.get(key), tuple) else value
               for key, value in saved.items()}
              for saved, current in zip(metadata["param_groups"], optimizer.param_groups)]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def training_state(nets: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                   random_state: tuple[dict[str, torch.Tensor], dict[str, Any]],
                   metadata: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A training run's checkpoint: each net's weights and each optimizer's state under its name,
    the random streams (tensors named rng.*) and `metadata`; refused for non-finite weights."""
    for net in ("generator", "critic"):
        if not all(p.isfinite().all() for p in nets[net].parameters()):
            raise WganKitError(f"step {metadata['step']}: {net} weights became non-finite; "
                               "lower run.lr (the last checkpoint is kept)")
    tensors = {name: t for net, module in nets.items()
               for name, t in prefixed(module.state_dict(), net).items()}
    metadata = {**metadata, "rng": random_state[1]}
    for prefix, optimizer in optimizers.items():
        optimizer_tensors, metadata[prefix] = optimizer_state(optimizer, prefix)
        tensors.update(optimizer_tensors)
    return tensors | random_state[0], metadata


def load_training_state(nets: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
                        tensors: dict[str, torch.Tensor], metadata: dict[str, Any]
                        ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load what `training_state` saved into `nets` and `optimizers`; returns the random state."""
    for net, module in nets.items():
        load_module(module, unprefixed(tensors, net), net)
    for prefix, optimizer in optimizers.items():
        load_optimizer_state(optimizer, tensors, metadata[prefix], prefix)
    return {k: t for k, t in tensors.items() if k.startswith("rng.")}, metadata["rng"]
