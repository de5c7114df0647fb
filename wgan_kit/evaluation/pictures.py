"""Pictures of samples, by sample kind: a scatter for points, a grid for images, lines for text.

Takes what `DataSource.decode` returns. matplotlib is imported only when a picture is drawn.

Generated text is arbitrary, so every picture draws its text as plain text (`plain_text`): never
as mathtext (two `$` in a line would be parsed as a formula) nor through LaTeX; characters a font
cannot show (control characters, lone surrogates) are drawn as their escapes (`\\x07`), and lines
are cut to `MAX_LINE_CHARACTERS` and `MAX_LINES`, so that any line draws.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}
MAX_LINE_CHARACTERS = 160  # a longer line is cut, ending in "…"
MAX_LINES = 100  # more lines are counted, not drawn

Drawing = TypeVar("Drawing", bound=Callable[..., Any])


def plain_text(draw: Drawing) -> Drawing:
    """Make every text a drawing function creates plain text (`PLAIN_TEXT`): run names, labels and
    generated lines may hold `$`, `\\`, `_` or `^`, which mathtext or LaTeX would parse."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(PLAIN_TEXT):
            return draw(*args, **kwargs)

    return drawn  # type: ignore[return-value]


def printable(line: str, width: int = MAX_LINE_CHARACTERS) -> str:
    """`line` as it can be drawn: each character that is not printable (control characters, line
    breaks, lone surrogates) as its escape, and cut to `width` characters, ending in "…"."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in line)
    return shown if len(shown) <= width else shown[:width - 1] + "…"


def text_block(lines: Iterable[Any]) -> str:
    """Lines of generated text as one block to draw: at most `MAX_LINES`, each `printable`."""
    lines = [str(line) for line in lines]
    shown = [printable(line) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"… and {len(lines) - MAX_LINES} more lines")
    return "\n".join(shown)


@plain_text
def draw_picture(kind: str, generated: Any, *, real: Any = None, title: str = "") -> Any:
    """A matplotlib figure of `generated` (and `real`, where the kind shows both); None for
    unknown kinds. Its text is plain text (see `plain_text`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if kind == "points":
        figure, axes = plt.subplots(figsize=(5, 5), dpi=100, layout="constrained")
        if real is not None:
            axes.scatter(*np.asarray(real)[:, :2].T, s=4, c="tab:orange", alpha=0.5, label="real")
        axes.scatter(*np.asarray(generated)[:, :2].T, s=4, c="tab:green", alpha=0.5,
                     label="generated")
        axes.set_aspect("equal", adjustable="datalim")
        # Below the axes, never over the data: a mode may sit in any corner.
        figure.legend(loc="outside lower center", ncol=2, markerscale=3, frameon=False)
    elif kind == "image":
        images = np.asarray(generated)
        columns = math.ceil(math.sqrt(len(images)))
        rows = math.ceil(len(images) / columns)
        height, width, channels = images.shape[1:]
        grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255,
                       dtype=np.uint8)
        for i, image in enumerate(images):
            top, left = 1 + (i // columns) * (height + 1), 1 + (i % columns) * (width + 1)
            grid[top:top + height, left:left + width] = image
        figure, axes = plt.subplots(figsize=(6, 6 * grid.shape[0] / grid.shape[1]), dpi=100)
        axes.imshow(grid.squeeze(-1) if channels == 1 else grid, cmap="gray", vmin=0, vmax=255)
        axes.axis("off")
    elif kind == "sequence":
        block = text_block(generated)
        figure, axes = plt.subplots(figsize=(8, 0.16 * (block.count("\n") + 1) + 0.6), dpi=100)
        axes.text(0, 1, block, family="monospace", va="top", fontsize=9)
        axes.axis("off")
    else:
        return None
    if title:
        axes.set_title(printable(title))
    return figure


@plain_text
def save_picture(kind: str, generated: Any, path: Path, *, real: Any = None,
                 title: str = "") -> bool:
    """Draw `generated` (and `real`, where the kind shows both) to a PNG; False for other kinds."""
    figure = draw_picture(kind, generated, real=real, title=title)
    if figure is None:
        return False
    import matplotlib.pyplot as plt

    try:
        figure.savefig(path, bbox_inches="tight")
    finally:
        plt.close(figure)
    return True
