"""Data files that published packages ship inside their wheels, found without importing the
packages (their modules may be heavy or pin old dependencies): only their files are read."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from wgan_kit import WganKitError


def package_file(distribution: str, path: str, *, field: str, install: str) -> Path:
    """The file `path` inside the installed `distribution`, or an error that says how to get it."""
    try:
        found = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise WganKitError(f"{field}: needs the {distribution} package, which is not installed; "
                           f"run: {install}") from None
    file = Path(str(found.locate_file(path)))
    if not file.exists():
        raise WganKitError(f"{field}: {distribution} {found.version} has no {path}; "
                           f"reinstall it: {install}")
    return file
