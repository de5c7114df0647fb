"""wgan-kit: train Wasserstein GANs from parts found by name.

    import wgan_kit
    trainer = wgan_kit.compose(data="25gaussians", constraint="gp", steps=2000)
    result = trainer.train(out="runs/25g")  # checked first; Ctrl-C stops it with a checkpoint
    points = trainer.sample(1000)
    wgan_kit.sample_to("runs/25g", "samples.png", n=1000)  # from the run folder's last checkpoint

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
    from .core.engine import Engine
    from .core.engine.metrics import RunResult
    from .evaluation.sampling import sample_to
    from .training.composition import Plan, Trainer, compose, resume
    from .training.launch import Launch, launch

__version__ = "0.1.0"

_HEAVY = {"compose": "training.composition", "resume": "training.composition",
          "Trainer": "training.composition", "Plan": "training.composition",
          "Engine": "core.engine", "RunResult": "core.engine.metrics",
          "launch": "training.launch", "Launch": "training.launch",
          "sample_to": "evaluation.sampling"}


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
    "Engine",
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
    "Plan",
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
    "sample_to",
]
