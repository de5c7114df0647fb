"""Shared fixtures: tiny nets and short runs, so the whole suite stays fast on two CPU cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import wgan_kit

TINY = {"gen.hidden": 32, "critic.hidden": 32}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `cuda` skip where torch sees no GPU (torch is imported only for them)."""
    if item.get_closest_marker("cuda"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU (run `pytest -m cuda` on one)")


@pytest.fixture(scope="session")
def registry() -> wgan_kit.Registry:
    return wgan_kit.load_registry(strict=True)


@pytest.fixture
def tiny_trainer(registry):
    """A factory of small, fast trainers on 8 Gaussians."""

    def make(**kwargs):
        options = {**TINY, **kwargs.pop("options", {})}
        kwargs.setdefault("steps", 4)
        kwargs.setdefault("batch_size", 32)
        if not {"objective", "constraint"} & kwargs.keys():
            # Algorithm 1's α, which these tests' tolerances were measured with (Adam's updates,
            # and the rounding differences they carry, scale with it); the toy default is 3e-4.
            kwargs.setdefault("lr", 1e-4)
        return wgan_kit.compose(registry=registry, options=options, **kwargs)

    return make


@pytest.fixture
def quick_example(tmp_path):
    """Runs `python examples/<name>.py --quick` in a subprocess, as a user would (with a cache of
    its own for the classifier behind image scores); returns its output folder and results.json."""

    def run(name: str) -> tuple[Path, dict[str, Any]]:
        script = Path(__file__).parents[1] / "examples" / f"{name}.py"
        out = tmp_path / name
        environment = {**os.environ, "WGAN_KIT_CACHE": str(tmp_path / "cache")}
        done = subprocess.run([sys.executable, str(script), "--quick", "--threads", "1",
                               "--out", str(out)], capture_output=True, text=True, timeout=300,
                              env=environment)
        assert done.returncode == 0, done.stderr[-3000:]
        return out, json.loads((out / "results.json").read_text())

    return run
