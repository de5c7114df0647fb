"""Finding components by name, through the entry points of installed packages.

Every package, wgan-kit's own built-ins included, declares modules in the entry-point group
`wgan_kit`; each module implements `register_components` and/or `register_recipes`. Loading is
guarded per plugin: a module that fails to import or to register is recorded with its package and
error, and everything else keeps working. Set `WGAN_KIT_STRICT_PLUGINS=1` to make such failures
raise (for plugin authors), and `WGAN_KIT_PLUGINS=pkg-a,pkg-b` to load only the named distributions
(empty: none).

A plugin module may declare the plugin API versions it fits (`WGAN_KIT_PLUGIN_API = ">=1,<2"`);
one that does not fit `PLUGIN_API` is recorded as an error and not loaded. `register` adds a
component or a plugin module for one process (notebooks, `wgan-kit run --plugin file.py`); it is
loaded through the same path, under the package name `local`.

One rule settles a short name that several packages register: the user's own (`local`: `--plugin`
files and `register`) wins it, then wgan-kit's built-ins; any other package's component is reached
by its qualified name `package:name` (`wgan-kit plugins list` says so). A short name that two other
packages register is ambiguous: the error lists the qualified names.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pluggy

from ..errors import WganKitError
from . import hookspecs
from .components import Component, Recipe
from .hookspecs import hookimpl

ENTRY_POINT_GROUP = "wgan_kit"
KINDS = ("generator", "critic", "constraint", "objective", "data", "features")
PLUGIN_API = 1  # the version of the protocols, hooks and Component; raised on a breaking change
LOCAL_PACKAGE = "local"
BUILTIN_PACKAGE = "wgan-kit"
PRECEDENCE = (LOCAL_PACKAGE, BUILTIN_PACKAGE)  # who wins a short name several packages register
_local_plugins: dict[str, ModuleType] = {}  # registered in this process, by name


@dataclass(frozen=True)
class PluginRecord:
    """One plugin module and how loading it went."""

    package: str
    version: str
    module: str
    status: str  # "ok" or "error"
    error: str = ""
    hooks: tuple[str, ...] = ()  # the lifecycle hooks it implements
    provides: int = 0  # components and recipes it registered


class Registry:
    """The components of the installed plugins, looked up by kind and name."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.plugins: list[PluginRecord] = []
        self.hooks = pluggy.PluginManager("wgan_kit")
        self.hooks.add_hookspecs(hookspecs)
        self._components: dict[str, dict[str, list[Component]]] = {k: {} for k in KINDS}
        self._recipes: dict[str, list[Recipe]] = {}

    def load_module(self, module: ModuleType, *, package: str, version: str = "") -> None:
        """Register one plugin module's components and recipes, recording instead of raising on
        failure."""
        added: list[Component] = []
        recipes: list[Recipe] = []
        file = getattr(module, "__file__", None) if package == LOCAL_PACKAGE else None
        file = str(Path(file).resolve()) if file else ""  # a --plugin file: its hash, its version
        version = version or (file_version(file) if file else "")

        def register(component: Component) -> None:
            if component.kind not in KINDS:
                raise ValueError(f"kind {component.kind!r} is not one of {', '.join(KINDS)}")
            earlier = self._components[component.kind].get(component.name, [])
            if any(c.package == package for c in earlier) or any(
                (c.kind, c.name) == (component.kind, component.name) for c in added
            ):
                raise ValueError(f"{component.kind} {component.name!r} is registered twice")
            added.append(replace(component, package=package, version=version, file=file))

        def register_recipe(recipe: Recipe) -> None:
            earlier = self._recipes.get(recipe.name, [])
            if any(r.package == package for r in earlier) or any(r.name == recipe.name
                                                                 for r in recipes):
                raise ValueError(f"recipe {recipe.name!r} is registered twice")
            recipes.append(replace(recipe, package=package, version=version))

        try:
            _check_plugin_api(module)
            self.hooks.register(module, name=f"{package}:{module.__name__}")
            self.hooks.check_pending()  # a misspelt hook name is a load error, not silence
            for hook, callback in ((self.hooks.hook.register_components, register),
                                   (self.hooks.hook.register_recipes, register_recipe)):
                for impl in hook.get_hookimpls():
                    if impl.plugin is module:
                        impl.function(register=callback)
        except Exception as exc:  # a broken plugin must not break the others
            if module in self.hooks.get_plugins():
                self.hooks.unregister(module)
            self._record_failure(package, version, module.__name__, exc)
            return
        for component in added:
            self._components[component.kind].setdefault(component.name, []).append(component)
        for recipe in recipes:
            self._recipes.setdefault(recipe.name, []).append(recipe)
        hooks = tuple(sorted(caller.name for caller in self.hooks.get_hookcallers(module) or ()
                             if caller.name not in ("register_components", "register_recipes")))
        self.plugins.append(PluginRecord(package, version, module.__name__, "ok", hooks=hooks,
                                         provides=len(added) + len(recipes)))

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
        return _find(self._components[kind], kind, name, self.failures())

    def recipes(self) -> list[Recipe]:
        return [r for same in self._recipes.values() for r in same]

    def recipe(self, name: str) -> Recipe:
        """The recipe `name` (or `package:name`); a clear error listing them when there is none."""
        return _find(self._recipes, "recipe", name, self.failures())

    def failures(self) -> list[PluginRecord]:
        """The plugin modules that failed to load."""
        return [p for p in self.plugins if p.status != "ok"]

    def shadowed(self) -> list[tuple[Component, Component]]:
        """Each component whose short name another package wins, with the winner."""
        pairs = []
        for same in (same for by_name in self._components.values() for same in by_name.values()):
            winners = _preferred(same)
            if len(winners) == 1:
                pairs += [(c, winners[0]) for c in same if c is not winners[0]]
        return pairs


Named = TypeVar("Named", Component, Recipe)


def _preferred(candidates: list[Named]) -> list[Named]:
    """Those of `candidates` (one short name) that win it, by `PRECEDENCE`."""
    for package in PRECEDENCE:
        winners = [c for c in candidates if c.package == package]
        if winners:
            return winners
    return candidates


def _find(by_name: Mapping[str, list[Named]], what: str, name: str,
          failures: list[PluginRecord]) -> Named:
    """The one entry called `name` (or `package:name`), else an error naming what there is and
    which plugins failed to load."""
    package, _, short = name.rpartition(":")
    candidates = by_name.get(short, [])
    candidates = ([c for c in candidates if c.package == package] if package
                  else _preferred(candidates))
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        qualified = ", ".join(sorted(c.qualified_name for c in candidates))
        raise WganKitError(f"{what} {name!r} is registered by several packages; "
                           f"use one of: {qualified}")
    known = sorted(by_name)
    close = difflib.get_close_matches(short, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    problem = f"unknown {what} {name!r}{hint}; installed: {', '.join(known) or 'none'}"
    if package and by_name.get(short):
        problem = (f"unknown {what} {name!r}: no package {package!r} registers it; "
                   f"use one of: {', '.join(sorted(c.qualified_name for c in by_name[short]))}")
    failed = [f"package {p.package} failed to load ({p.module}: {p.error})" for p in failures]
    raise WganKitError([problem, *(f"{failure}; it may have provided {name!r}"
                                   for failure in failed)])


class IncompatiblePlugin(Exception):
    """A plugin written for plugin API versions other than this wgan-kit's."""


_COMPARISONS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
                "==": operator.eq, "!=": operator.ne}
_CLAUSE = re.compile(r"\s*(>=|>|<=|<|==|!=)\s*(\d+)\s*")


def _check_plugin_api(module: ModuleType) -> None:
    needed = getattr(module, "WGAN_KIT_PLUGIN_API", None)
    if needed is None:
        return
    clauses = [_CLAUSE.fullmatch(clause) for clause in str(needed).split(",")]
    if not all(clauses):
        raise IncompatiblePlugin(f"WGAN_KIT_PLUGIN_API = {needed!r} is not a range of plugin "
                                 "API versions such as '>=1,<2'")
    if not all(_COMPARISONS[c[1]](PLUGIN_API, int(c[2])) for c in clauses if c):
        raise IncompatiblePlugin(f"written for wgan-kit plugin API {needed}, but this wgan-kit "
                                 f"has plugin API {PLUGIN_API}; install a wgan-kit whose plugin "
                                 f"API is {needed}, or a release of the plugin for API "
                                 f"{PLUGIN_API}")


def register(plugin: Component | ModuleType) -> None:
    """Register a component, or a plugin module (with `register_components` and any hooks), for
    this process only, without packaging: every registry loaded from now on has it, under the
    package name `local`. Registering a component name or a module name again replaces it."""
    if isinstance(plugin, Component):
        component, plugin = plugin, ModuleType(f"{plugin.kind}:{plugin.name}")

        @hookimpl
        def register_components(register: Callable[[Component], None]) -> None:
            register(component)

        plugin.register_components = register_components  # type: ignore[attr-defined]
    _local_plugins[plugin.__name__] = plugin


def file_version(path: str | Path) -> str:
    """The version of a `--plugin` file: the SHA-256 of its bytes (short), so that a changed file
    is told from the one a run used."""
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "unreadable"


def import_plugin_file(path: str | Path) -> ModuleType:
    """A Python file imported as a plugin module (for `wgan-kit run --plugin FILE`)."""
    path = Path(path).expanduser()
    if not path.is_file() or path.suffix != ".py":
        raise WganKitError(f"--plugin {path}: no such Python file")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise WganKitError(f"--plugin {path}: importing it failed: {type(exc).__name__}: "
                           f"{exc}".splitlines()[0]) from None
    return module


def load_registry_with(plugin_files: Iterable[str | Path] = ()) -> Registry:
    """A fresh registry that also has the plugin files given (`--plugin`), registered for this
    process; as the user named them, their load errors are the user's."""
    for path in plugin_files:
        register(import_plugin_file(path))
    registry = load_registry()
    failed = [f"--plugin {p.module}: {p.error}" for p in registry.plugins
              if p.package == LOCAL_PACKAGE and p.status != "ok"]
    if failed:
        raise WganKitError(failed)
    return registry


def _entry_points() -> Iterable[metadata.EntryPoint]:
    allowed = os.environ.get("WGAN_KIT_PLUGINS")
    wanted = None if allowed is None else {p.strip() for p in allowed.split(",") if p.strip()}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = ep.dist.name if ep.dist else "?"
        if wanted is None or package in wanted:
            yield ep


def load_registry(*, strict: bool | None = None) -> Registry:
    """A fresh registry of every installed plugin (each module imported, none of its heavy code)
    and of every plugin registered in this process with `register`."""
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
    for module in _local_plugins.values():
        registry.load_module(module, package=LOCAL_PACKAGE)
    return registry
