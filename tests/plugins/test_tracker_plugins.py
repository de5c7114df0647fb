"""The tracker packages, plugins/wgan-kit-mlflow and plugins/wgan-kit-wandb, pass their own tests
as installed, against the real MLflow and W&B clients that the `dev` extra installs (a local
SQLite store, an offline W&B run: no account, no network). As for wgan-kit-spectral, each
package's source goes on PYTHONPATH beside a `*.dist-info` made from its pyproject.toml, so
wgan-kit finds it through its entry point and CI installs nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_spectral_plugin import declare_distribution

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.mark.parametrize("package, client", [("wgan-kit-mlflow", "mlflow"),
                                             ("wgan-kit-wandb", "wandb")])
def test_the_tracker_package_passes_its_own_tests(tmp_path, package, client):
    pytest.importorskip(client, reason=f"{client} comes with the dev extra")
    folder = PLUGINS / package
    declare_distribution(folder, tmp_path / "site")
    path = [str(tmp_path / "site"), str(folder / "src"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "tests"), str(folder / "tests")],
        cwd=folder, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
