"""What a plugin registers: components (named parts of a run) and recipes (named presets).

A light module of plain data, imported by both the registry and the hook specifications.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class NoOptions(BaseModel):
    """For components without options."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Pairing:
    """A component makes sense only with some choices of another section: `names` (registered
    names, short or qualified) in `section`, for `reason` (shown to the user; cite the paper)."""

    section: str
    names: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Component:
    """A named part a run can be composed of.

    `factory(options, spec)` builds a generator or critic for samples of `spec`;
    `factory(options)` builds a constraint, objective or data source; `factory(options, data)`
    builds a feature extractor for `wgan-kit eval` (see wgan_kit.evaluation). `options` is a
    pydantic model with `extra="forbid"` and a `Field(description=...)` per option. `suggests`
    holds the settings the component's source paper used with it, as dotted keys
    (`"run.n_critic": 5`); they apply below anything the user sets. A data source may also suggest
    the nets that fit its samples (`"gen.name": "dcgan"`), used when nothing names them.
    `pairs_only_with` lists `Pairing`s: a run choosing another name in that section is refused
    before anything is built.
    `package` and `version` are filled in by the registry; for a `--plugin` file, `file` is its
    path and `version` the SHA-256 of its text.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    options: type[BaseModel] = NoOptions
    summary: str = ""
    suggests: Mapping[str, Any] = field(default_factory=dict)
    pairs_only_with: tuple[Pairing, ...] = ()
    package: str = ""
    version: str = ""
    file: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.package}:{self.name}"


@dataclass(frozen=True)
class Recipe:
    """A named preset of published settings, chosen with `wgan-kit run --recipe NAME`.

    `settings` holds dotted keys as `Component.suggests` does, plugin names included
    (`"constraint.name": "gp"`, `"constraint.weight": 10.0`, `"run.lr": 1e-4`). A recipe is one
    layer of the configuration: above the chosen components' suggestions, below everything the
    user sets. `source` says where its numbers come from. `package` and `version` are filled in by
    the registry.
    """

    name: str
    settings: Mapping[str, Any]
    summary: str = ""
    source: str = ""
    package: str = ""
    version: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.package}:{self.name}"
