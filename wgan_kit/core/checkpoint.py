"""Checkpoints as safetensors files: tensors plus JSON metadata, never pickle.

A file is written to a temporary name, flushed to disk and renamed, so a process killed mid-write
leaves the previous checkpoint whole. Loading checks the format version and names every tensor
whose name or shape differs from the model it is loaded into.
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


def save(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Write atomically: the file at `path` is either the old one or the complete new one."""
    header = {"format": FORMAT, **{key: json.dumps(value) for key, value in metadata.items()}}
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
                           "it may be truncated — use an earlier checkpoint") from None
    if header.get("format") != FORMAT:
        raise WganKitError(f"checkpoint {path}: format {header.get('format')!r}, expected "
                           f"{FORMAT!r}")
    return tensors, {key: json.loads(value) for key, value in header.items() if key != "format"}


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}": tensor for name, tensor in tensors.items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    start = len(prefix) + 1
    return {name[start:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}


def load_module(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """Load weights, naming every tensor that is missing, unexpected or of another shape."""
    expected = module.state_dict()
    problems = [f"{what}.{name}: missing from the checkpoint" for name in expected
                if name not in tensors]
    problems += [f"{what}.{name}: in the checkpoint but not in the model" for name in tensors
                 if name not in expected]
    problems += [f"{what}.{name}: shape {tuple(tensors[name].shape)} in the checkpoint, "
                 f"{tuple(expected[name].shape)} in the model"
                 for name in expected if name in tensors and tensors[name].shape != expected[name].shape]
    if problems:
        raise WganKitError(["the checkpoint does not fit this architecture:", *problems])
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
