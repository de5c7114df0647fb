"""The `wgan-kit` command line: flags in, one library call, output printed. torch loads only
inside the commands that train or sample."""

import sys
import warnings

# Each module registers its commands; imported in the order `wgan-kit --help` lists them.
from . import training, results, sweep, inventory  # noqa: F401, I001
from ..thread_policy import use_thread_policy
from .app import app, missing_module, show_warning


def main() -> None:
    use_thread_policy()  # before any command loads torch (see wgan_kit/thread_policy.py)
    warnings.showwarning = show_warning
    try:
        app()
    except ModuleNotFoundError as exc:  # an optional package the command needs: say which
        print(f"error: {missing_module(exc)}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["app", "main"]
