"""A run's config (wgan_kit/core/config.py), resolved from its layers.

A configuration is a table per section, the same in a TOML file and in `--set section.key=value`:
`run` holds the loop's settings; `gen`, `critic`, `constraint`, `objective` and `data` each hold a
plugin `name` and that plugin's options. Later layers win:

    defaults < the chosen components' suggestions < --recipe < --config FILE < named flags < --set

`resolve_config` is the one place that order is put together; the CLI, `compose`, `resume` and
the ranks of a data-parallel run all call it.

Suggestions are the settings each component's source paper used (the objective's optimizer, the
toy sets' batch size and λ, ...); a suggestion for an option the chosen plugin lacks is skipped.
Which settings a suggestion set, and whose, is kept (`RunConfig.suggested`): config.toml records
it under [suggested], and a new run says on stderr which of a part's own defaults another
component's suggestion replaced (the toy sets' λ = 0.1 over gp's 10).
A recipe is a named preset of one paper's settings (plugin names included), an ordinary layer.
Every problem in every layer is reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
import warnings

import tomllib
from pydantic import BaseModel, ValidationError

from ..errors import WganKitError, WganKitWarning
from .components import Component
from .run_folder import RunFolder
from .config import PROVENANCE, RECORDS, SECTIONS, SUGGESTED, Layer, Part, RunConfig, \
    RunSettings, provenance

if TYPE_CHECKING:
    from .registry import Registry

DEFAULT_NAMES = {"gen": "mlp", "critic": "mlp", "constraint": "gp", "objective": "wgan",
                 "data": "8gaussians"}
NETS = ("gen", "critic")  # the sections whose default the data source may suggest
# Whose suggestions win when two components suggest the same key: the more specific, later.
SUGGESTION_ORDER = ("gen", "critic", "objective", "constraint", "data")
# Except the optimizer and its step size, which belong to a method (DCGAN's Adam at 2e-4, LSGAN's
# and weight clipping's RMSProp): a data source's apply only where the objective and the
# constraint name none, as for the Wasserstein loss with a penalty (the toy sets' 3e-4).
METHOD_SETTINGS = ("run.optimizer", "run.lr")

# The only settings a resumed run may change: how far and where it trains, and in which
# precision (which changes the arithmetic, not what the run is).
RESUMABLE = ("steps", "device", "precision")


def parse_value(text: str) -> Any:
    """A `--set` value as a TOML literal (`5`, `1e-4`, `true`, `[0.5, 0.9]`), else a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(assignments: Iterable[str],
                      sections: tuple[str, ...] = ("run", *SECTIONS)) -> Layer:
    """`section.key=value` strings as a layer; malformed ones are reported all together."""
    layer: Layer = {}
    problems = []
    for item in assignments:
        key, sep, text = item.partition("=")
        section, dot, option = key.strip().partition(".")
        if not sep or not dot or not option:
            problems.append(f"--set {item!r}: expected section.key=value, e.g. "
                            f"{sections[0]}.steps=500")
        elif section not in sections:
            problems.append(f"--set {item!r}: unknown section {section!r}; sections are "
                            f"{', '.join(sections)}")
        else:
            layer.setdefault(section, {})[option] = parse_value(text.strip())
    if problems:
        raise WganKitError(problems)
    return layer


def dotted_layer(settings: Mapping[str, Any], what: str) -> Layer:
    """`{"section.key": value}` (a recipe's settings, Python `options`) as a layer."""
    layer: Layer = {}
    problems = []
    for key, value in settings.items():
        section, _, option = key.partition(".")
        if section not in ("run", *SECTIONS) or not option:
            problems.append(f"{what} {key!r}: expected section.key with a section among run, "
                            f"{', '.join(SECTIONS)}")
        else:
            layer.setdefault(section, {})[option] = value
    if problems:
        raise WganKitError(problems)
    return layer


def load_toml(path: str | Path) -> Layer:
    path = Path(path).expanduser()
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WganKitError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WganKitError(f"--config {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise WganKitError(f"--config {path}: not valid TOML ({exc})") from None
    problems = [f"--config {path}: [{key}] is not a section; sections are run, {', '.join(SECTIONS)}"
                for key, value in tables.items()
                if key not in ("run", *SECTIONS, *RECORDS) or not isinstance(value, dict)]
    if problems:
        raise WganKitError(problems)
    return tables


def resolve_config(registry: Registry, *, recipe: str | None = None,
                     config: str | Path | Layer | None = None,
                     names: Mapping[str, str | None] | None = None,
                     run: Mapping[str, Any] | None = None, overrides: Layer | None = None,
                     objects: Mapping[str, Any] | None = None) -> RunConfig:
    """A run's settings from everything that may choose them, in the one order (lowest first):
    the `recipe`, a `config` (a TOML file or its tables), the plugin `names` per section, the `run`
    settings, then `overrides` (`--set`, Python `options`). Under them all: the defaults and the
    chosen components' suggestions. A None value in `names` or `run` leaves the setting alone."""
    layers = [load_toml(config) if isinstance(config, (str, Path)) else dict(config)] \
        if config is not None else []
    recorded = layers[0].pop(PROVENANCE, {}) if layers else {}
    layers.append({section: {"name": name} for section, name in (names or {}).items()
                   if name is not None})
    layers.append({"run": {key: value for key, value in (run or {}).items() if value is not None}})
    layers.append(overrides or {})
    try:
        settings = resolve_layers(layers, registry, objects, recipe=recipe)
    except WganKitError as exc:
        raise WganKitError(exc.problems + _plugin_files_to_give(recorded, registry)) from None
    kept = {section: was for section, was in recorded.items()  # the parts not chosen anew
            if same_name(layers[0].get(section, {}).get("name"), settings.name_of(section))}
    for difference in provenance_differences(kept, settings):
        warnings.warn(difference, WganKitWarning, stacklevel=2)
    return settings


def architecture_differences(recorded_toml: Any, config: RunConfig) -> list[str]:
    """How the nets' settings (generator, critic, and the data and constraint, which shape them)
    that a checkpoint's config records differ from `config`'s, one phrase each."""
    try:
        recorded = tomllib.loads(recorded_toml) if isinstance(recorded_toml, str) else {}
    except tomllib.TOMLDecodeError:
        return []
    current = config.to_dict()
    differences = []
    for section in ("gen", "critic", "data", "constraint"):
        was, now = recorded.get(section, {}), current.get(section, {})
        if not was:
            continue
        if not same_name(was.get("name"), now.get("name")):
            differences.append(f"{section} {was.get('name')!r} in the checkpoint, "
                               f"{now.get('name')!r} in this run")
        elif section != "constraint":  # its options (a λ) shape no weights
            differences += [f"{section}.{key} = {was.get(key)!r} in the checkpoint, "
                            f"{now.get(key)!r} in this run"
                            for key in sorted(was.keys() | now.keys())
                            if key != "name" and was.get(key) != now.get(key)]
    return differences


def provenance_differences(recorded: Mapping[str, Any], settings: RunConfig) -> list[str]:
    """How the parts resolved now differ from those a config recorded (its `provenance`)."""
    differences = []
    for section, was in recorded.items():
        part = settings.parts.get(section)
        if part is None or not isinstance(was, dict):
            continue
        now = provenance(part.component)
        if now != was:
            differences.append(f"{section}: {part.component.qualified_name} was "
                               f"{_described(was)} when the run was made; now it is "
                               f"{_described(now)}, so results may differ")
    return differences


def _described(provenance: Mapping[str, str]) -> str:
    where = f" from {provenance['file']}" if provenance.get("file") else ""
    return f"{provenance.get('package', '?')} {provenance.get('version', '?')}{where}"


def _plugin_files_to_give(recorded: Mapping[str, Any], registry: Registry) -> list[str]:
    """For each recorded `--plugin` file whose component is not registered now: give it again."""
    registered = {c.file for c in registry.components() if c.file}
    files = {was["file"] for was in recorded.values()
             if isinstance(was, dict) and was.get("file")}
    return [f"the run was composed with --plugin {file}; give that --plugin again"
            for file in sorted(files - registered)]


def resolve_layers(layers: list[Layer], registry: Registry,
                   objects: Mapping[str, Any] | None = None, *,
                   recipe: str | None = None) -> RunConfig:
    """Resolve layers of settings, above the `recipe`'s if one is named; sections given as objects
    are skipped (they have no options)."""
    objects = objects or {}
    stray = [f"{section}.{key}: {section} is given as an object, which takes no options"
             for section, table in merge(layers).items() if section in objects
             for key in table if key != "name"]
    if stray:
        raise WganKitError(stray)
    if recipe is not None:
        try:
            preset = registry.recipe(recipe)
        except WganKitError as exc:
            raise WganKitError([f"--recipe: {problem}" for problem in exc.problems]) from None
        layers = [dotted_layer(preset.settings, f"recipe {preset.name}"), *layers]
    layers = [{s: t for s, t in layer.items() if s not in objects} for layer in layers]
    return resolve(layers, registry, skip=set(objects)).with_objects(objects)


def refuse_changes_on_resume(changed: list[str]) -> None:
    """The rule of resuming: a run continues as it was configured; only `RESUMABLE` may change.
    `changed` names what was given otherwise, as the caller spells it (`batch_size`, `--recipe`)."""
    if changed:
        given = ", ".join(changed)
        allowed = ", ".join(RESUMABLE[:-1]) + f" and {RESUMABLE[-1]}"
        raise WganKitError(f"--resume: {given} cannot change when resuming; drop {given} (only "
                           f"{allowed} may change), or start a new run with --config "
                           "<run>/config.toml instead")


def parts_named_as_recorded(folder: str | Path, names: Mapping[str, str | None],
                            registry: Registry) -> tuple[str, ...]:
    """The sections of `names` (a plugin name per section, as `--gen` gives it; None: not given)
    whose name means the component the run in `folder` already uses: its recorded name, or
    another for the same component (`gp` for `wgan-kit:gp`). Naming one when resuming changes
    nothing, so it is no change for `refuse_changes_on_resume`; a name that means another
    component, or none, is one."""
    recorded = load_toml(RunFolder.open(folder).config)
    kept = []
    for section, kind in SECTIONS.items():
        given, was = names.get(section), recorded.get(section, {}).get("name")
        try:
            if given and was and (registry.get(kind, given).qualified_name
                                  == registry.get(kind, was).qualified_name):
                kept.append(section)
        except WganKitError:
            pass  # an unknown name: refused as a change
    return tuple(kept)


def merge(layers: Iterable[Mapping[str, Mapping[str, Any]]],
          defaults: Mapping[str, str] = DEFAULT_NAMES) -> Layer:
    """Layers merged in order. A layer that names another plugin for a section drops the options
    earlier layers gave the previous one (at first, the section's default), which would not fit
    the new plugin."""
    merged: Layer = {}
    for layer in layers:
        for section, table in layer.items():
            current = merged.setdefault(section, {})
            previous = current.get("name", defaults.get(section))
            if "name" in table and not same_name(table["name"], previous):
                current.clear()
            current.update(table)
    return merged


def same_name(a: Any, b: Any) -> bool:
    """Whether two plugin names may mean one component: equal, or equal short names where one
    is unqualified (`gp` and `wgan-kit:gp`)."""
    if not (isinstance(a, str) and isinstance(b, str)) or a == b:
        return a == b
    (pa, _, sa), (pb, _, sb) = a.rpartition(":"), b.rpartition(":")
    return sa == sb and not (pa and pb)


def resolve(layers: Iterable[Mapping[str, Mapping[str, Any]]], registry: Registry, *,
            skip: set[str] | frozenset[str] = frozenset()) -> RunConfig:
    """Validate the merged layers against the chosen plugins' options; every problem at once.
    Sections in `skip` are provided otherwise (as objects) and get no part."""
    layers = list(layers)
    defaults = default_names(layers, registry)
    merged = merge(layers, defaults)
    problems: list[str] = []
    chosen: dict[str, Component] = {}
    for section, kind in SECTIONS.items():
        if section in skip:
            continue
        name = merged.get(section, {}).get("name", defaults[section])
        if not isinstance(name, str) or not name:
            problems.append(f"{section}.name: expected a plugin name, got {name!r}")
            continue
        try:
            chosen[section] = registry.get(kind, name)
        except WganKitError as exc:
            problems += [f"{section}.name: {p}" for p in exc.problems]

    problems += _unpaired(chosen)

    values: Layer = {"run": {}, **{section: {} for section in chosen}}
    suggested: dict[str, str] = {}  # the settings a suggestion set, and whose
    by_method = {key for section in ("objective", "constraint") if section in chosen
                 for key in chosen[section].suggests if key in METHOD_SETTINGS}
    for section in SUGGESTION_ORDER:
        if section in chosen:
            for key, value in chosen[section].suggests.items():
                if section == "data" and key in by_method:
                    continue
                target, _, option = key.partition(".")
                fields = (RunSettings.model_fields if target == "run" else
                          chosen[target].options.model_fields if target in chosen else {})
                if option in fields:
                    values[target][option] = value
                    suggested[key] = f"{section} {chosen[section].qualified_name}"
    for section, table in merged.items():
        if section in values:
            values[section].update({k: v for k, v in table.items() if k != "name"})
            for key in table:  # set by a layer: no longer the suggestion's
                suggested.pop(f"{section}.{key}", None)
    for key, by in recorded_suggestions(layers).items():  # where it still is the suggestion
        target, _, option = key.partition(".")
        source = chosen.get(by.partition(" ")[0])
        if source is not None and key in source.suggests and target in values and \
                _plain(source.suggests[key]) == _plain(values[target].get(option)):
            suggested[key] = by

    run = validate_options(RunSettings, values["run"], "run", "run", problems)
    parts = {}
    for section, component in chosen.items():
        owner = component.name
        if "name" not in merged.get(section, {}) and defaults[section] != DEFAULT_NAMES[section]:
            owner += f" (the net data {chosen['data'].name} suggests; name another with --{section})"
        options = validate_options(component.options, values[section], section, owner, problems)
        if options is not None:
            parts[section] = Part(section, component, options)
    if problems:
        raise WganKitError(problems)
    assert run is not None
    return RunConfig(run, parts, suggested=suggested)


def recorded_suggestions(layers: list[Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """What a run's config.toml, given again as a layer, recorded under [suggested]: still so
    where no later layer sets the setting, names another plugin for its section or for the
    section of the component that suggested it (a resumed run keeps its record)."""
    carried: dict[str, str] = {}
    for index, layer in enumerate(layers):
        record = layer.get(SUGGESTED)
        if not isinstance(record, Mapping):
            continue
        later = {f"{section}.{key}" for other in layers[index + 1:]
                 for section, table in other.items() for key in table}
        for key, by in record.items():
            sections = (key.partition(".")[0], str(by).partition(" ")[0])
            if key not in later and not any(f"{s}.name" in later for s in sections):
                carried[key] = str(by)
    return carried


def _plain(value: Any) -> Any:
    """A value as TOML gives it back (a tuple as a list), to compare a setting read from a file."""
    return list(value) if isinstance(value, tuple) else value


def default_names(layers: list[Mapping[str, Mapping[str, Any]]], registry: Registry
                  ) -> dict[str, str]:
    """The plugin of each section that no layer names: `DEFAULT_NAMES`, but the nets the chosen
    data source suggests (`"gen.name": "dcgan"` in its `suggests`), so that images get
    convolutional nets and points MLPs without the user naming either."""
    defaults = dict(DEFAULT_NAMES)
    name = merge(layers).get("data", {}).get("name", DEFAULT_NAMES["data"])
    try:
        data = registry.get("data", name) if isinstance(name, str) else None
    except WganKitError:
        data = None
    if data is None:  # `resolve` reports the bad name with every other problem
        return defaults
    for section in NETS:
        suggested = data.suggests.get(f"{section}.name")
        if isinstance(suggested, str):
            defaults[section] = suggested
    return defaults


def _unpaired(chosen: Mapping[str, Component]) -> list[str]:
    """One line per chosen component whose `pairs_only_with` another chosen one breaks. A section
    given as an object (`compose(objective=MyLoss())`) is not checked: it was composed by hand."""
    problems = []
    for section, component in chosen.items():
        for pairing in component.pairs_only_with:
            other = chosen.get(pairing.section)
            if other is not None and not {other.name, other.qualified_name} & set(pairing.names):
                problems.append(f"{section}.name: {component.name!r} with {pairing.section} "
                                f"{other.name!r}: {pairing.reason}; use "
                                f"{pairing.section}={pairing.names[0]}")
    return problems


def validate_options(model: type[BaseModel], values: dict[str, Any], section: str, owner: str,
                     problems: list[str]) -> Any:
    """`values` checked against `model` (a component's options, or the run settings); None, with
    each error added to `problems` as one line for people ("section.key: ..."), when they fail."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in (section, *error["loc"]))
            if error["type"] == "extra_forbidden":
                allowed = ", ".join(model.model_fields) or "none"
                problems.append(f"{key}: {owner} has no such option; its options are: {allowed}")
            else:
                message = error["msg"][0].lower() + error["msg"][1:]
                problems.append(f"{key}: {message}, got {error['input']!r}")
        return None
