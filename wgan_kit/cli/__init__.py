"""The `wgan-kit` command line: flags in, one library call, output printed. torch loads only
inside the commands that train or sample."""

# Each module registers its commands; imported in the order `wgan-kit --help` lists them.
from . import training, results, inventory  # noqa: F401, I001
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
