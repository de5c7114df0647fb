"""`tensorboard`: a lifecycle-hook plugin that mirrors a run's metrics into TensorBoard.

Active only when the `tensorboard` package is installed (`pip install 'wgan-kit[tensorboard]'`)
and the run writes a folder: each logged metric becomes a scalar of `<run>/tensorboard/`, so
`tensorboard --logdir runs` shows every run's curves. metrics.jsonl is written either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from wgan_kit import hookimpl

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from wgan_kit import RunView

_writers: WeakKeyDictionary[RunView, SummaryWriter] = WeakKeyDictionary()


@hookimpl
def run_started(trainer: RunView) -> None:
    if trainer.folder is None:
        return
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is not installed: metrics.jsonl alone
        return

    _writers[trainer] = SummaryWriter(str(trainer.folder.path / "tensorboard"))


@hookimpl
def step_logged(trainer: RunView, metrics: dict[str, float]) -> None:
    writer = _writers.get(trainer)
    if writer is None:
        return
    for name, value in metrics.items():
        if name != "step":
            writer.add_scalar(name, value, global_step=int(metrics["step"]))
    writer.flush()  # a run that stops on an error keeps every curve logged so far


@hookimpl
def run_finished(trainer: RunView) -> None:
    writer = _writers.pop(trainer, None)
    if writer is not None:
        writer.close()
