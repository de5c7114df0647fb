"""`wgan-kit plugins list/show/new`, `recipes list/show` and `data show`: what is installed and
what a data source holds."""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..core.registry import load_registry_with
from ..errors import WganKitError
from .app import data_app, fail, plugins_app, recipes_app, stdout
from .flags import Threads, set_threads

if TYPE_CHECKING:
    from ..core.components import Recipe


@plugins_app.command("list")
def plugins_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                 ) -> None:
    """Every installed component (kind, name, package, version, summary), every plugin module
    that only implements hooks, and every one that failed to load, with the reason. A component
    whose short name another package wins is marked with the qualified name that reaches it."""
    registry = load_registry_with()
    reached_as = {id(c): f"shadowed by {winner.qualified_name}; use {c.qualified_name}"
                  for c, winner in registry.shadowed()}
    rows = [{"kind": c.kind, "name": c.name, "package": c.package, "version": c.version,
             "summary": c.summary, "status": reached_as.get(id(c), "ok")}
            for c in registry.components()]
    rows += [{"kind": "hooks", "name": p.module, "package": p.package, "version": p.version,
              "summary": "implements " + ", ".join(p.hooks), "status": "ok"}
             for p in registry.plugins if p.status == "ok" and p.hooks and not p.provides]
    rows += [{"kind": "plugin", "name": p.module, "package": p.package, "version": p.version,
              "summary": p.error, "status": "error"} for p in registry.failures()]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table("kind", "name", "package", "version", "summary", "status")
    for row in rows:
        style = {"ok": None, "error": "red"}.get(row["status"], "yellow")
        table.add_row(*(row[k] for k in ("kind", "name", "package", "version", "summary",
                                         "status")), style=style)
    stdout.print(table)
    for c, winner in registry.shadowed():
        print(f"notice: {c.kind} {c.name!r} means {winner.qualified_name}; "
              f"{c.package}'s is {c.qualified_name}", file=sys.stderr)


def _type_name(annotation: Any) -> str:
    """A type as a user writes it: `str | None`, `fp32 | bf16`, `int`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


@plugins_app.command("show")
def plugins_show(
    name: Annotated[str, typer.Argument(help="A component name, e.g. gp or pkg:gp.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The options of a component: type, default and description."""
    from ..core.registry import KINDS

    registry = load_registry_with()
    found, problems = [], []
    for kind in KINDS:
        try:
            found.append(registry.get(kind, name))
        except WganKitError as exc:
            problems += exc.problems
    if not found:
        unknown = [p for p in problems if "several packages" in p] or [
            f"no component named {name!r}; `wgan-kit plugins list` shows what is installed",
            *dict.fromkeys(p for p in problems if "failed to load" in p)]
        raise fail(unknown)
    described = [{"kind": c.kind, "name": c.name, "package": c.package, "summary": c.summary,
                  "options": [{"name": key, "type": _type_name(field.annotation),
                               "default": field.default, "description": field.description or ""}
                              for key, field in c.options.model_fields.items()],
                  "suggests": dict(c.suggests),
                  "pairs_only_with": [{"section": p.section, "names": list(p.names),
                                       "reason": p.reason} for p in c.pairs_only_with]}
                 for c in found]
    if json_:
        print(json.dumps(described, indent=2, default=str))
        return
    for entry in described:
        stdout.print(Text.assemble((f"{entry['kind']} {entry['name']}", "bold"),
                                   f" ({entry['package']}): {entry['summary']}"))
        table = Table("option", "type", "default", "description")
        for option in entry["options"]:
            table.add_row(option["name"], option["type"], repr(option["default"]),
                          option["description"])
        stdout.print(table if entry["options"] else "  no options")
        if entry["suggests"]:
            stdout.print("  suggests: " + ", ".join(f"{k}={v!r}"
                                                    for k, v in entry["suggests"].items()))
        for pairing in entry["pairs_only_with"]:
            stdout.print(f"  only with {pairing['section']} "
                         f"{' or '.join(pairing['names'])}: {pairing['reason']}")


@recipes_app.command("list")
def recipes_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                 ) -> None:
    """Every installed recipe: name, summary, source and package."""
    described = [_describe_recipe(r) for r in load_registry_with().recipes()]
    if json_:
        print(json.dumps(described, indent=2))
        return
    table = Table("name", "summary", "source", "package")
    for entry in described:
        table.add_row(entry["name"], entry["summary"], entry["source"], entry["package"])
    stdout.print(table)


@recipes_app.command("show")
def recipes_show(
    name: Annotated[str, typer.Argument(help="A recipe name, e.g. wgan-gp or pkg:wgan-gp.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The settings of a recipe and where they come from."""
    try:
        entry = _describe_recipe(load_registry_with().recipe(name))
    except WganKitError as exc:
        raise fail(exc.problems) from None
    if json_:
        print(json.dumps(entry, indent=2))
        return
    stdout.print(Text.assemble((f"recipe {entry['name']}", "bold"),
                               f" ({entry['package']}): {entry['summary']}"))
    stdout.print(f"  source: {entry['source']}")
    table = Table("setting", "value")
    for key, value in entry["settings"].items():
        table.add_row(key, json.dumps(value))
    stdout.print(table)


def _describe_recipe(recipe: Recipe) -> dict[str, Any]:
    return {"name": recipe.name, "package": recipe.package, "summary": recipe.summary,
            "source": recipe.source, "settings": dict(recipe.settings)}


@data_app.command("show", epilog="""**Examples**

`wgan-kit data show mnist`  —  64 training digits in real.png, and the set's figures

`wgan-kit data show images --set data.path=~/faces --set data.size=64 --out faces.png`
""")
def data_show(
    name: Annotated[str, typer.Argument(help="A data source, e.g. mnist or images.")],
    n: Annotated[int, typer.Option(min=1, max=100_000, help="How many samples to show.")] = 64,
    out: Annotated[Path, typer.Option(help="The picture to write (.png).")] = Path("real.png"),
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="data.key=value, repeatable; e.g. --set data.size=32.")] = None,
    seed: Annotated[int, typer.Option(help="Which training batch to show.")] = 0,
    threads: Threads = None,
) -> None:
    """Save a picture of real training samples and print the set's size, sample shape, value
    range and class counts: the first thing to check about a data set."""
    from ..core.layers import parse_assignments

    set_threads(threads)
    try:
        layer = parse_assignments(set_ or [])
        if set(layer) - {"data"}:
            raise WganKitError(f"--set: data show takes only data.* settings, got "
                               f"{', '.join(sorted(set(layer) - {'data'}))}")
        from ..evaluation.preview import preview_data

        shown = preview_data(name, out, n=n, options=layer.get("data", {}), seed=seed)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    sizes = (f"{shown.train_size:,} training, {shown.held_out_size:,} held out"
             if shown.train_size is not None else "sampled afresh for every batch")
    print(f"data     {name} ({shown.package} {shown.version})")
    print(f"size     {sizes}")
    print(f"shape    {shown.shape}, kind {shown.kind}")
    print(f"values   {shown.low:.4g} … {shown.high:.4g} in these samples"
          + (f"; declared {shown.declared[0]:g} … {shown.declared[1]:g}" if shown.declared
             else ""))
    if shown.class_counts:
        print("classes  " + ", ".join(f"{label}: {count:,}"
                                      for label, count in enumerate(shown.class_counts)))
    print(f"picture  {shown.picture}")


@plugins_app.command("new", epilog="**Example**\n\n`wgan-kit plugins new my-hinge --kind "
                                    "objective && pip install -e './wgan-kit-my-hinge[dev]' && "
                                    "pytest wgan-kit-my-hinge`")
def plugins_new(
    name: Annotated[str, typer.Argument(help="The plugin's name, e.g. my-hinge: the package is "
                                             "wgan-kit-NAME, the module wgan_kit_NAME.")],
    kind: Annotated[str, typer.Option(help="constraint, net (a generator and a critic), "
                                           "objective or data.")],
    dir_: Annotated[Path, typer.Option("--dir", help="Where to write the package.")] = Path("."),
    template: Annotated[str | None, typer.Option(
        help="For --kind constraint: penalty (a gradient penalty, the default) or projection "
             "(a weight projection after each step).")] = None,
) -> None:
    """Write a ready plugin package: pyproject with the entry point, options model, factory,
    torch code and a test using the conformance kit. It installs and passes its test as is."""
    from ..kit.scaffold import name_taken, new_plugin

    try:
        root = new_plugin(name, kind, dir_, template)
    except WganKitError as exc:
        raise fail(exc.problems) from None
    for warning in name_taken(name, kind, load_registry_with()):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {root}\nnext: pip install -e '{root}[dev]' && pytest {root}", file=sys.stderr)
