"""Every built-in plugin is declared in pyproject.toml's entry points, as a third-party one would be:
a built-in module left out would silently not exist, and a declared one that registers nothing is
dead weight."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import wgan_kit

ROOT = Path(__file__).resolve().parents[2]
BUILTINS = Path(wgan_kit.__file__).parent / "builtins"


def declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["entry-points"]["wgan_kit"]


def registering_modules() -> set[str]:
    """The built-in modules that implement a hook at module level (`@hookimpl def ...`)."""
    found = set()
    for path in BUILTINS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef)
               and any(getattr(d, "id", None) == "hookimpl" for d in node.decorator_list)
               for node in tree.body):
            parts = path.relative_to(BUILTINS.parent.parent).with_suffix("").parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_built_in_with_a_hook_is_an_entry_point_and_every_entry_point_registers():
    assert set(declared().values()) == registering_modules()


def test_the_reader_finds_known_plugins():
    """The scan itself is checked: a module file and a package's `__init__` are both found."""
    assert {"wgan_kit.builtins.gradient_penalty", "wgan_kit.builtins.toy"} <= registering_modules()
