"""The example third-party package, plugins/wgan-kit-spectral, passes its own tests as installed.

The core suite installs nothing: the package's source folder goes on PYTHONPATH next to a
`*.dist-info` made from its own pyproject.toml, so wgan-kit finds it through its entry point
exactly as after `pip install plugins/wgan-kit-spectral`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

SPECTRAL = Path(__file__).resolve().parents[2] / "plugins" / "wgan-kit-spectral"


def declare_distribution(package: Path, site: Path) -> None:
    """A `*.dist-info` for the package at `package`, with the entry points of its pyproject.toml."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
        for group, points in project["entry-points"].items()))


def test_the_spectral_package_passes_its_own_tests(tmp_path):
    declare_distribution(SPECTRAL, tmp_path / "site")
    path = [str(tmp_path / "site"), str(SPECTRAL / "src"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         str(SPECTRAL / "tests")],
        cwd=SPECTRAL, env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
