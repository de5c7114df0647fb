"""The folder a run leaves behind, and the rule that protects it: never overwritten by accident.

    config.toml      the resolved configuration (`wgan-kit run --config` repeats the run)
    metrics.jsonl    one JSON object per logged step
    checkpoints/     step-NNNNNNNN.safetensors, the last few kept
    best.safetensors the checkpoint that scored best while training (run.eval_every > 0)
    samples/         step-NNNNNNNN.png pictures of generated (and real) samples
    preflight.json   the checks made before training (`wgan-kit check`), with their cost
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import WganKitError
from . import checkpoint

CHECKPOINT = re.compile(r"step-(\d+)\.safetensors")
OWNED = ("config.toml", "metrics.jsonl", "checkpoints", "samples", "preflight.json",
         "best.safetensors")


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = path / "config.toml"
        self.metrics = path / "metrics.jsonl"
        self.checkpoints = path / "checkpoints"
        self.samples = path / "samples"
        self.preflight = path / "preflight.json"
        self.best = path / "best.safetensors"

    @classmethod
    def check(cls, path: str | Path, *, overwrite: bool = False) -> RunFolder:
        """Refuse, before anything is built or written, a folder a new run may not use."""
        folder = cls(Path(path).expanduser())
        if folder.path.exists() and not folder.path.is_dir():
            raise WganKitError(f"--out {folder.path}: exists and is not a folder")
        if folder._owned() and not overwrite:
            raise WganKitError(f"--out {folder.path}: already holds a run; continue it with "
                               f"--resume {folder.path}, or replace it with --overwrite")
        existing = next(p for p in (folder.path, *folder.path.parents) if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise WganKitError(f"--out {folder.path}: cannot write in {existing}")
        return folder

    def create(self) -> RunFolder:
        """Make this checked folder (`RunFolder.check`) a new run's, replacing what an earlier
        run wrote there (only that: never the user's other files)."""
        self._check_writable()
        for name in self._owned():
            target = self.path / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.samples.mkdir(exist_ok=True)
        return self

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """An existing run folder, to resume or sample from."""
        folder = cls(Path(path).expanduser())
        if not folder.config.is_file():
            raise WganKitError(f"{folder.path}: not a run folder (no config.toml in it)")
        return folder

    def _owned(self) -> list[str]:
        return [name for name in OWNED if (self.path / name).exists()]

    def _check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".wgan-kit-write-test"
            probe.write_bytes(b"0")
            probe.unlink()
        except OSError as exc:
            raise WganKitError(f"--out {self.path}: cannot write there ({exc.strerror})") from None

    def write_config(self, text: str) -> None:
        temporary = self.config.with_name(".config.toml.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.config)

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.metrics, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")

    def forget_after(self, step: int) -> None:
        """Drop what was written after `step`: a run continued from there writes it anew (from an
        earlier checkpoint than the newest, `--from-step`: the later checkpoints and pictures are
        another history, and must not be taken for this one's newest)."""
        self.forget_metrics_after(step)
        try:
            best = self.best_score()
        except WganKitError:  # a damaged best.safetensors: the next score writes it again
            best = {"step": step + 1}
        if best is not None and best.get("step", step + 1) > step:  # another history's best
            self.best.unlink(missing_ok=True)
        for later in self.checkpoint_steps():
            if later > step:
                self.checkpoint_path(later).unlink(missing_ok=True)
        if self.samples.is_dir():
            for picture in self.samples.glob("step-*.png"):
                if picture.stem[5:].isdigit() and int(picture.stem[5:]) > step:
                    picture.unlink(missing_ok=True)

    def best_checkpoint(self) -> Path:
        """best.safetensors; refused in one line when the run kept none."""
        if not self.best.is_file():
            raise WganKitError(f"--best: {self.path} has no best.safetensors (it was not scored "
                               "while training); train with --set run.eval_every=N to keep the "
                               "best-scoring checkpoint")
        return self.best

    def best_score(self) -> dict[str, Any] | None:
        """What best.safetensors records of its score (step, name, value, lower_is_better);
        None when there is none."""
        if not self.best.is_file():
            return None
        return checkpoint.read_metadata(self.best).get("best")

    def forget_metrics_after(self, step: int) -> None:
        """Drop lines logged after `step`: a resumed run logs those steps again."""
        if self.metrics.exists():
            lines = self.metrics.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
            self.metrics.write_text("".join(kept), encoding="utf-8")

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:08d}.safetensors"

    def checkpoint_steps(self) -> list[int]:
        if not self.checkpoints.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.checkpoints.iterdir()
                      if (m := CHECKPOINT.fullmatch(p.name)))

    def latest_checkpoint(self) -> Path:
        steps = self.checkpoint_steps()
        if not steps:
            raise WganKitError(f"{self.path}: has no checkpoint yet (checkpoints/ is empty)")
        return self.checkpoint_path(steps[-1])

    def checkpoint_at(self, step: int | None) -> Path:
        """The checkpoint of `step` (None: the newest); refused, listing the steps there are,
        when there is none."""
        if step is None:
            return self.latest_checkpoint()
        steps = self.checkpoint_steps()
        if step not in steps:
            there = (f"its checkpoints are at steps {', '.join(map(str, steps))}" if steps
                     else "it has no checkpoint yet")
            raise WganKitError(f"--from-step {step}: {self.path} has no checkpoint of step "
                               f"{step}; {there}")
        return self.checkpoint_path(step)

    def prune_checkpoints(self, keep: int, archive_every: int = 0) -> None:
        """Delete all but the newest `keep` checkpoints and those at multiples of `archive_every`."""
        for step in self.checkpoint_steps()[:-keep]:
            if not (archive_every and step % archive_every == 0):
                self.checkpoint_path(step).unlink(missing_ok=True)

    def sample_path(self, step: int) -> Path:
        return self.samples / f"step-{step:08d}.png"
