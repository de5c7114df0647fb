"""The hooks a wgan-kit plugin can implement.

A plugin is a module named by an entry point in the group `wgan_kit`; it implements hooks with
`@wgan_kit.hookimpl`. Types are imported only for type checking, so this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .registry import Component, Recipe

hookspec = pluggy.HookspecMarker("wgan_kit")
hookimpl = pluggy.HookimplMarker("wgan_kit")


@hookspec
def register_components(register: Callable[[Component], None]) -> None:
    """Register generators, critics, constraints, objectives and data sources.

    Call `register(Component(...))` once per component. Keep the module that implements this hook
    light (pydantic options models and factories only): the factory imports the heavy code when a
    run actually uses the component, so listing plugins never imports torch.
    """


@hookspec
def register_recipes(register: Callable[[Recipe], None]) -> None:
    """Register recipes: named presets of published settings (`wgan-kit run --recipe NAME`).

    Call `register(Recipe(...))` once per recipe. A recipe is data (dotted settings, a summary and
    its source), so registering it costs nothing.
    """
