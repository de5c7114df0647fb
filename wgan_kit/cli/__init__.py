"""The `wgan-kit` command line."""

from .training import app, main

__all__ = ["app", "main"]
