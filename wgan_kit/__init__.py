"""wgan-kit: train Wasserstein GANs from parts found by name.

    import wgan_kit
    trainer = wgan_kit.compose(data="25gaussians", constraint="gp", steps=2000)
    trainer.train(out="runs/25g")
    points = trainer.sample(1000)

Importing this package is cheap: torch and every plugin's heavy code load only when a run needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import WganKitError
from .core.hookspecs import Check, hookimpl
from .core.protocols import (
    Critic,
    DataSource,
    Generator,
    LipschitzConstraint,
    Objective,
    Penalty,
    SampleSpec,
)
from .core.registry import PLUGIN_API, Component, NoOptions, Recipe, Registry, load_registry, register

if TYPE_CHECKING:
    from .core.engine import Trainer
    from .training.composition import compose, resume

__version__ = "0.1.0"

_HEAVY = {"compose": "training.composition", "resume": "training.composition",
          "Trainer": "core.engine"}


def __getattr__(name: str) -> Any:
    if name in _HEAVY:
        from importlib import import_module

        return getattr(import_module(f".{_HEAVY[name]}", __name__), name)
    raise AttributeError(f"module 'wgan_kit' has no attribute {name!r}")


__all__ = [
    "Check",
    "Component",
    "Critic",
    "DataSource",
    "Generator",
    "LipschitzConstraint",
    "NoOptions",
    "Objective",
    "PLUGIN_API",
    "Penalty",
    "Recipe",
    "Registry",
    "SampleSpec",
    "Trainer",
    "WganKitError",
    "compose",
    "hookimpl",
    "load_registry",
    "register",
    "resume",
]
