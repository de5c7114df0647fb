"""`wandb`: a lifecycle-hook plugin that logs each run to Weights & Biases, offline by default.

Every run that writes a folder becomes a W&B run in `<run>/wandb/`: its config is the resolved
configuration, flattened (`run.lr`, `gen.name`, ...), its history every logged line of
metrics.jsonl at its generator step plus the sample pictures (`samples`), and when training
reaches `run.steps` the final checkpoint is logged as a `model` artifact. W&B runs offline unless
`WANDB_MODE` says otherwise, so it needs no account and no network; `wandb sync <run>/wandb/
offline-run-*` uploads a run later. `WANDB_PROJECT` names the project ("wgan-kit" otherwise). A
trial of a sweep is grouped by the sweep and tagged `sweep:<name>` and `trial:<n>` (from
`WGAN_KIT_SWEEP` / `WGAN_KIT_TRIAL`, which wgan-kit's sweeps set); a resumed run continues its W&B
run (same id). wandb is imported when a run starts, never when plugins are listed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from wgan_kit import hookimpl

if TYPE_CHECKING:
    from wandb.sdk.wandb_run import Run

    from wgan_kit import Trainer

WGAN_KIT_PLUGIN_API = ">=1,<2"
# <run>/wandb/offline-run-<date>_<time>-<id>, and -1, -2, ... for later attempts of that run.
RUN_FOLDER = re.compile(r"(?:offline-)?run-\d{8}_\d{6}-(?P<id>[a-z0-9]+)(?:-\d+)?")


class Tracked:
    """One wgan-kit run's W&B run, and the newest checkpoint to log when it finishes."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.checkpoint: Path | None = None


_runs: WeakKeyDictionary[Trainer, Tracked] = WeakKeyDictionary()


def flattened(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A config's tables as one level of `section.key` entries, as W&B's tables show them."""
    return {f"{section}.{key}": value for section, table in tables.items()
            for key, value in table.items() if value is not None}


def earlier_id(folder: Path) -> str | None:
    """The id of the newest W&B run logged in this run folder, for a resumed run to continue."""
    runs = sorted((p.stat().st_mtime, p.name) for p in (folder / "wandb").glob("*run-*")
                  if RUN_FOLDER.fullmatch(p.name))
    return RUN_FOLDER.fullmatch(runs[-1][1])["id"] if runs else None  # type: ignore[index]


@hookimpl
def run_started(trainer: Trainer) -> None:
    if trainer.folder is None:
        return
    import wandb

    folder = trainer.folder.path.resolve()
    sweep, trial = os.environ.get("WGAN_KIT_SWEEP"), os.environ.get("WGAN_KIT_TRIAL")
    resumed = earlier_id(folder) if trainer.step > 0 else None
    run = wandb.init(
        project=os.environ.get("WANDB_PROJECT", "wgan-kit"), dir=str(folder), name=folder.name,
        config=flattened(trainer.config.to_dict()), group=sweep,
        tags=[f"sweep:{sweep}", f"trial:{trial}"] if sweep else None,
        id=resumed, resume="allow" if resumed else None,
        mode=os.environ.get("WANDB_MODE", "offline"),  # type: ignore[arg-type]
        reinit="create_new",  # one W&B run per trainer, however many a process trains
        settings=wandb.Settings(silent=True, console="off"))
    _runs[trainer] = Tracked(run)


@hookimpl
def step_logged(trainer: Trainer, metrics: dict[str, float]) -> None:
    tracked = _runs.get(trainer)
    if tracked is not None:
        tracked.run.log({k: v for k, v in metrics.items() if k != "step"},
                        step=int(metrics["step"]))


@hookimpl
def samples_saved(trainer: Trainer, path: Path) -> None:
    tracked = _runs.get(trainer)
    if tracked is None:
        return
    import wandb

    tracked.run.log({"samples": wandb.Image(str(path), caption=path.stem)}, step=trainer.step)


@hookimpl
def checkpoint_saved(trainer: Trainer, path: Path) -> None:
    tracked = _runs.get(trainer)
    if tracked is not None:
        tracked.checkpoint = path


@hookimpl
def run_finished(trainer: Trainer) -> None:
    tracked = _runs.pop(trainer, None)
    if tracked is None:
        return
    if tracked.checkpoint is not None and tracked.checkpoint.exists():
        import wandb

        artifact = wandb.Artifact(f"{tracked.run.name}-checkpoint", type="model",
                                  metadata={"step": trainer.step})
        artifact.add_file(str(tracked.checkpoint))
        tracked.run.log_artifact(artifact)
    tracked.run.finish()
