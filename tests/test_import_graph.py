"""The package's modules import each other without a circle, the core imports nothing above it,
and only the built-ins import the built-ins: checked on the import graph read from the source with
`ast`.

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


def imported(module: str, *, deferred: bool) -> set[str]:
    """The package's modules that `module` imports (with `deferred`, also inside functions)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and not deferred:
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([child.module] if child.module else [])])
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
