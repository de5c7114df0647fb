"""Shared fixtures: tiny nets and short runs, so the whole suite stays fast on two CPU cores."""

from __future__ import annotations

import pytest

import wgan_kit

TINY = {"gen.hidden": 32, "critic.hidden": 32}


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
        return wgan_kit.compose(registry=registry, options=options, **kwargs)

    return make
