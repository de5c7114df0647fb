"""Pictures of samples, by sample kind: a scatter for points, a grid for images, lines for text.

Takes what `DataSource.decode` returns. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def save_picture(kind: str, generated: Any, path: Path, *, real: Any = None,
                 title: str = "") -> bool:
    """Draw `generated` (and `real`, where the kind shows both) to a PNG; False for unknown kinds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if kind == "points":
        figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
        if real is not None:
            axes.scatter(*np.asarray(real)[:, :2].T, s=4, c="tab:orange", alpha=0.5, label="real")
        axes.scatter(*np.asarray(generated)[:, :2].T, s=4, c="tab:green", alpha=0.5,
                     label="generated")
        axes.legend(loc="upper right", markerscale=3)
        axes.set_aspect("equal", adjustable="datalim")
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
        lines = list(generated)
        figure, axes = plt.subplots(figsize=(8, 0.25 * len(lines) + 0.6), dpi=100)
        axes.text(0, 1, "\n".join(lines), family="monospace", va="top", fontsize=9)
        axes.axis("off")
    else:
        return False
    if title:
        axes.set_title(title)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    return True
