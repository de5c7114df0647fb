"""`wgan-kit plugins new` writes a package of each kind that passes its own test as generated,
declares its light module as an entry point, and names its distribution and module by convention.
The generated tests run in one subprocess with each package's src on PYTHONPATH (no install)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import typer
from typer.testing import CliRunner

from wgan_kit.cli import app
from wgan_kit.kit.scaffold import KINDS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_of_plugin_package_passes_its_own_test(tmp_path):
    for kind in KINDS:
        result = runner.invoke(app, ["plugins", "new", f"my-{kind}", "--kind", kind,
                                     "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        project = tomllib.loads((tmp_path / f"wgan-kit-my-{kind}" / "pyproject.toml").read_text())
        assert project["project"]["name"] == f"wgan-kit-my-{kind}"
        entry_points = project["project"]["entry-points"]["wgan_kit"]
        assert entry_points == {f"my-{kind}": f"wgan_kit_my_{kind}"}
    projection = runner.invoke(app, ["plugins", "new", "my-projection", "--kind", "constraint",
                                     "--template", "projection", "--dir", str(tmp_path)])
    assert projection.exit_code == 0, projection.output
    penalty = (tmp_path / "wgan-kit-my-constraint" / "src" / "wgan_kit_my_constraint"
               / "constraint.py").read_text()
    assert "create_graph=True" in penalty and "Penalty(" in penalty  # the default template
    packages = sorted(tmp_path.iterdir())
    path = [str(p / "src") for p in packages] + [os.environ.get("PYTHONPATH", "")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), *(str(p / "tests") for p in packages)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "6 passed" in done.stdout  # net registers a generator and a critic


def test_bad_names_kinds_and_existing_folders_are_refused(tmp_path):
    result = runner.invoke(app, ["plugins", "new", "My_Loss", "--kind", "loss", "--dir",
                                 str(tmp_path)])
    assert result.exit_code == 2
    assert "error: NAME 'My_Loss': use lowercase letters" in result.output
    assert "error: --kind 'loss': choose one of constraint, objective, net, data" in result.output
    runner.invoke(app, ["plugins", "new", "my-hinge", "--kind", "objective", "--dir",
                        str(tmp_path)])
    template = runner.invoke(app, ["plugins", "new", "mine", "--kind", "objective", "--template",
                                   "penalty", "--dir", str(tmp_path)])
    assert template.exit_code == 2
    assert "error: --template 'penalty': an objective has one template" in template.output
    again = runner.invoke(app, ["plugins", "new", "my-hinge", "--kind", "objective", "--dir",
                                str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_the_example_plugin_names_of_the_readme_and_the_scaffold_are_no_built_in_names(registry):
    # What a user saw: after the README's `plugins new hinge`, `--objective hinge` trained the
    # built-in hinge, which keeps the short name.
    built_in = {c.name for c in registry.components() if c.package == "wgan-kit"}
    new = typer.main.get_command(app).commands["plugins"].commands["new"]
    shown = {
        "README.md": (ROOT / "README.md").read_text(),
        "CONTRIBUTING.md": (ROOT / "CONTRIBUTING.md").read_text(),
        "plugins new --help": " ".join([new.epilog or "", *(p.help or "" for p in new.params)]),
        "plugins new's refusal": runner.invoke(app, ["plugins", "new", "Bad_Name", "--kind",
                                                     "objective"]).output,
    }
    for where, text in shown.items():
        names = set(re.findall(r"plugins new ([a-z][a-z0-9-]*)", text)) | set(
            re.findall(r"e\.g\. ([a-z][a-z0-9-]*)", text) if where.startswith("plugins") else [])
        assert names, f"{where}: no example name found"
        assert not names & built_in, f"{where}: {sorted(names & built_in)} are built-in names"
