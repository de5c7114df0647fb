"""Fake installed plugins for the registry's tests: a module and a `*.dist-info` on sys.path."""

from __future__ import annotations

import itertools
import textwrap

_counter = itertools.count()

GOOD = """
from wgan_kit import Component, NoOptions, hookimpl

class Hinge:
    def critic_loss(self, real, fake):
        return (1 - real).clamp(min=0).mean() + (1 + fake).clamp(min=0).mean()

    def generator_loss(self, fake):
        return -fake.mean()

@hookimpl
def register_components(register):
    register(Component("objective", {name!r}, lambda options: Hinge(), NoOptions, "Hinge loss."))
"""


def install(tmp_path, monkeypatch, package: str, source: str) -> str:
    """Write a module and a `*.dist-info` declaring it in the `wgan_kit` entry-point group."""
    module = f"fake_plugin_{next(_counter)}"
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{package.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[wgan_kit]\nplugin = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    return module
