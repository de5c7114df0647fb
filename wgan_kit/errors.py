"""Errors meant for the person running wgan-kit, not for a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class WganKitError(Exception):
    """Bad input or a refused operation, described as one line per problem.

    Each line names what is wrong, what was given and what would be right. The CLI prints the
    lines and exits with status 2; nothing has been written when it is raised.
    """

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class WganKitWarning(UserWarning):
    """Something the person running wgan-kit should know, that does not stop it (the CLI prints
    it as one `warning:` line)."""
