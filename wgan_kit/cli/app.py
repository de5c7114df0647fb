"""The `wgan-kit` Typer app and its command groups; the commands live in training.py (run, check,
bench), results.py (sample, eval, report) and inventory.py (plugins, recipes, data)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

app = typer.Typer(
    help="Train Wasserstein GANs (WGAN-GP, WGAN with clipping) and their baselines from plugins.\n\n"
         "Start with `wgan-kit run`: WGAN-GP on the 8-Gaussians toy set, about two minutes on a CPU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
plugins_app = typer.Typer(help="List the installed plugins and show their options.",
                          no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
recipes_app = typer.Typer(help="List the recipes (published settings as presets) and show one.",
                          no_args_is_help=True)
app.add_typer(recipes_app, name="recipes")
data_app = typer.Typer(help="Look at a data source before training on it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
stdout = Console(markup=False)  # summaries hold formulas such as E[max(0, ‖∇D‖ − 1)²]


def fail(problems: list[str]) -> typer.Exit:
    """Print each problem as an error line; the exit (status 2) to raise."""
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return typer.Exit(2)
