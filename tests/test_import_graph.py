"""The package's modules import each other without a circle, the core imports nothing above it,
only the built-ins import the built-ins, no package takes another's private names, and the sweeps
use one door: checked on the imports read from the source with `ast`.

An edge is every import a module makes: at import time, under `if TYPE_CHECKING:` (they state a
dependency of the design) and inside a function (the CLI defers every heavy import that way;
deferring hides a circle from Python, not from the design). No edge is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wgan_kit

PACKAGE = Path(wgan_kit.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def source_of(module: str, node: ast.ImportFrom) -> str:
    """The absolute name of what `from ... import` in `module` imports from."""
    if not node.level:
        return node.module or ""
    package = package_of(module)
    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def imported(module: str, *, deferred: bool) -> set[str]:
    """The package's modules that `module` imports (with `deferred`, also inside functions)."""
    path = MODULES[module]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and not deferred:
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = source_of(module, child)
                submodules = {f"{base}.{alias.name}" for alias in child.names} & set(MODULES)
                found.update(submodules)
                if len(submodules) < len(child.names):  # a name defined in pkg itself
                    found.add(base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in MODULES and name != module}


def test_the_package_has_no_import_circle():
    graph = {module: imported(module, deferred=True) for module in MODULES}
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            circle = path[path.index(module):] + [module]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if module in done:
            return
        for target in sorted(graph[module]):
            walk(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])


def test_the_core_imports_nothing_above_it():
    """wgan_kit/core/ is the ground floor: the launch path, evaluation, sweeps, the CLI and the
    plugin kit build on it, never the other way round."""
    below = ("wgan_kit.core", "wgan_kit.errors")
    upward = {module: sorted(t for t in imported(module, deferred=True)
                             if not any(t == b or t.startswith(b + ".") for b in below))
              for module in MODULES if module == "wgan_kit.core" or module.startswith("wgan_kit.core.")}
    assert {module: found for module, found in upward.items() if found} == {}


def test_only_the_built_ins_import_the_built_ins():
    builtins = "wgan_kit.builtins"
    offenders = {module: sorted(t for t in imported(module, deferred=True)
                                if t == builtins or t.startswith(builtins + "."))
                 for module in MODULES if not module.startswith(builtins)}
    assert {module: found for module, found in offenders.items() if found} == {}


def test_no_module_imports_a_private_name_from_another_package():
    """What a package shares with another has a public name (and a docstring) in its owner; a
    leading underscore means "this package only"."""
    offenders = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            source = source_of(module, node) if isinstance(node, ast.ImportFrom) else ""
            if source not in MODULES or package_of(source) == package_of(module):
                continue
            offenders += [f"{module}: {source}.{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert offenders == []


def test_the_sweeps_reach_the_rest_of_wgan_kit_through_their_one_door():
    """experiments/internals.py names everything of wgan-kit's insides that the sweeps use; the
    package's other modules import only it, each other and the public `wgan_kit`."""
    experiments = "wgan_kit.experiments"
    offenders = {module: sorted(target for target in imported(module, deferred=True)
                                if target != "wgan_kit" and not target.startswith(experiments))
                 for module in MODULES
                 if module.startswith(experiments) and module != f"{experiments}.internals"}
    assert {module: found for module, found in offenders.items() if found} == {}


def test_the_graph_sees_the_imports_it_checks():
    """The reader of imports is itself checked: known edges of each kind are found."""
    assert "wgan_kit.core.components" in imported("wgan_kit.core.registry", deferred=False)
    # under TYPE_CHECKING:
    assert "wgan_kit.core.protocols" in imported("wgan_kit.core.hookspecs", deferred=False)
    # inside a function:
    assert "wgan_kit.training.launch" not in imported("wgan_kit.cli.training", deferred=False)
    assert "wgan_kit.training.launch" in imported("wgan_kit.cli.training", deferred=True)
    # `from .. import checkpoint, randomness`:
    assert "wgan_kit.core.checkpoint" in imported("wgan_kit.core.engine.engine", deferred=False)
