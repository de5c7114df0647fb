"""wgan-kit: train Wasserstein GANs from parts found by name.

    import wgan_kit
    trainer = wgan_kit.compose(data="25gaussians", constraint="gp", steps=2000)
    result = trainer.train(out="runs/25g")  # checked first; Ctrl-C stops it with a checkpoint
    points = trainer.sample(1000)

Importing this package is cheap: torch and every plugin's heavy code load only when a run needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.components import Component, NoOptions, Pairing, Recipe
from .core.hookspecs import Check, hookimpl
from .core.protocols import (
    ClassifyingCritic,
    Critic,
    DataSource,
    FeatureExtractor,
    Generator,
    LabelledSource,
    LipschitzConstraint,
    Objective,
    Penalty,
    RunView,
    SampleSpec,
)
from .core.registry import PLUGIN_API, Registry, load_registry, register
from .errors import WganKitError, WganKitWarning

if TYPE_CHECKING:
    from .core.engine import Trainer
    from .core.metrics import RunResult
    from .training.composition import compose, resume
    from .training.launch import Launch, launch

__version__ = "0.1.0"

_HEAVY = {"compose": "training.composition", "resume": "training.composition",
          "Trainer": "core.engine", "RunResult": "core.metrics", "launch": "training.launch",
          "Launch": "training.launch"}


def __getattr__(name: str) -> Any:
    if name in _HEAVY:
        from importlib import import_module

        return getattr(import_module(f".{_HEAVY[name]}", __name__), name)
    raise AttributeError(f"module 'wgan_kit' has no attribute {name!r}")


__all__ = [
    "Check",
    "ClassifyingCritic",
    "Component",
    "Critic",
    "DataSource",
    "FeatureExtractor",
    "Generator",
    "LabelledSource",
    "Launch",
    "LipschitzConstraint",
    "NoOptions",
    "Objective",
    "PLUGIN_API",
    "Pairing",
    "Penalty",
    "Recipe",
    "Registry",
    "RunResult",
    "RunView",
    "SampleSpec",
    "Trainer",
    "WganKitError",
    "WganKitWarning",
    "compose",
    "hookimpl",
    "launch",
    "load_registry",
    "register",
    "resume",
]
