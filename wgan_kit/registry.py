"""Finding components by name, through the entry points of installed packages.

Every package, wgan-kit's own built-ins included, declares modules in the entry-point group
`wgan_kit`; each module implements `register_components`. Loading is guarded per plugin: a module
that fails to import or to register is recorded with its package and error, and everything else
keeps working. Set `WGAN_KIT_STRICT_PLUGINS=1` to make such failures raise (for plugin authors), and
`WGAN_KIT_PLUGINS=pkg-a,pkg-b` to load only the named distributions (empty: none).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ConfigDict

from . import hookspecs
from .errors import WganKitError

ENTRY_POINT_GROUP = "wgan_kit"
KINDS = ("generator", "critic", "constraint", "objective", "data", "features")


class NoOptions(BaseModel):
    """For components without options."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Component:
    """A named part a run can be composed of.

    `factory(options, spec)` builds a generator or critic for samples of `spec`;
    `factory(options)` builds a constraint, objective or data source; `factory(options, data)`
    builds a feature extractor for `wgan-kit eval` (see wgan_kit.evaluation). `options` is a
    pydantic model with `extra="forbid"` and a `Field(description=...)` per option. `suggests`
    holds the settings the component's source paper used with it, as dotted keys
    (`"run.n_critic": 5`); they apply below anything the user sets. `package` and `version` are
    filled in by the registry.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    options: type[BaseModel] = NoOptions
    summary: str = ""
    suggests: Mapping[str, Any] = field(default_factory=dict)
    package: str = ""
    version: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.package}:{self.name}"


@dataclass(frozen=True)
class PluginRecord:
    """One plugin module and how loading it went."""

    package: str
    version: str
    module: str
    status: str  # "ok" or "error"
    error: str = ""


class Registry:
    """The components of the installed plugins, looked up by kind and name."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.plugins: list[PluginRecord] = []
        self.hooks = pluggy.PluginManager("wgan_kit")
        self.hooks.add_hookspecs(hookspecs)
        self._components: dict[str, dict[str, list[Component]]] = {k: {} for k in KINDS}

    def load_module(self, module: ModuleType, *, package: str, version: str = "") -> None:
        """Register one plugin module's components, recording instead of raising on failure."""
        added: list[Component] = []

        def register(component: Component) -> None:
            if component.kind not in KINDS:
                raise ValueError(f"kind {component.kind!r} is not one of {', '.join(KINDS)}")
            earlier = self._components[component.kind].get(component.name, [])
            if any(c.package == package for c in earlier) or any(
                (c.kind, c.name) == (component.kind, component.name) for c in added
            ):
                raise ValueError(f"{component.kind} {component.name!r} is registered twice")
            added.append(replace(component, package=package, version=version))

        try:
            self.hooks.register(module, name=f"{package}:{module.__name__}")
            for impl in self.hooks.hook.register_components.get_hookimpls():
                if impl.plugin is module:
                    impl.function(register=register)
        except Exception as exc:  # a broken plugin must not break the others
            if module in self.hooks.get_plugins():
                self.hooks.unregister(module)
            self._record_failure(package, version, module.__name__, exc)
            return
        for component in added:
            self._components[component.kind].setdefault(component.name, []).append(component)
        self.plugins.append(PluginRecord(package, version, module.__name__, "ok"))

    def _record_failure(self, package: str, version: str, module: str, exc: Exception) -> None:
        if self.strict:
            raise exc
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        self.plugins.append(PluginRecord(package, version, module, "error", error))

    def components(self, kind: str | None = None) -> list[Component]:
        kinds = KINDS if kind is None else (kind,)
        return [c for k in kinds for same in self._components[k].values() for c in same]

    def get(self, kind: str, name: str) -> Component:
        """The component `name` (or `package:name`) of `kind`; a clear error when there is none."""
        package, _, short = name.rpartition(":")
        candidates = self._components[kind].get(short, [])
        if package:
            candidates = [c for c in candidates if c.package == package]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            qualified = ", ".join(c.qualified_name for c in candidates)
            raise WganKitError(f"{kind} {name!r} is registered by several packages; "
                               f"use one of: {qualified}")
        known = sorted(self._components[kind])
        close = difflib.get_close_matches(short, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise WganKitError(f"unknown {kind} {name!r}{hint}; installed: "
                           f"{', '.join(known) or 'none'}")


def _entry_points() -> Iterable[metadata.EntryPoint]:
    allowed = os.environ.get("WGAN_KIT_PLUGINS")
    wanted = None if allowed is None else {p.strip() for p in allowed.split(",") if p.strip()}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = ep.dist.name if ep.dist else "?"
        if wanted is None or package in wanted:
            yield ep


def load_registry(*, strict: bool | None = None) -> Registry:
    """A fresh registry of every installed plugin (each module imported, none of its heavy code)."""
    if strict is None:
        strict = os.environ.get("WGAN_KIT_STRICT_PLUGINS", "") not in ("", "0")
    registry = Registry(strict=strict)
    for ep in _entry_points():
        package = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else ""
        try:
            module = ep.load()
        except Exception as exc:
            registry._record_failure(package, version, ep.value, exc)
            continue
        registry.load_module(module, package=package, version=version)
    return registry
