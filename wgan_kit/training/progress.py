"""Showing a run's progress: a live bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

SHOWN = ("wasserstein", "critic_loss", "penalty", "generator_loss")


def _short(metrics: dict[str, float]) -> str:
    return "  ".join(f"{name} {metrics[name]:.4g}" for name in SHOWN if name in metrics)


def speed(steps_per_s: float | None) -> str:
    """Steps per second, or seconds per step for slow runs (which would show as 0.0 it/s)."""
    if not steps_per_s:
        return "-- it/s"
    return f"{steps_per_s:.1f} it/s" if steps_per_s >= 1 else f"{1 / steps_per_s:.3g} s/it"


class _StepsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(speed(task.finished_speed or task.speed), style="progress.data.speed")


class BarProgress:
    """A rich progress bar: step, it/s, the Wasserstein estimate and the time left."""

    def __init__(self, console: Console | None = None) -> None:
        self.bar = Progress(TextColumn("step"), MofNCompleteColumn(), BarColumn(),
                            _StepsPerSecond(), TextColumn("W {task.fields[w]}"),
                            TextColumn("ETA"), TimeRemainingColumn(),
                            console=console or Console(stderr=True))
        self.task = None

    def start(self, done: int, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, completed=done, w="--")

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        fields = {"w": f"{metrics['wasserstein']:.4f}"} if metrics else {}
        self.bar.update(self.task, completed=step, **fields)

    def note(self, text: str) -> None:
        self.bar.console.print(text)

    def stop(self) -> None:
        self.bar.stop()


class LineProgress:
    """One plain line per logged step, for logs, pipes and --quiet."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.total = 0
        self.started = time.perf_counter()

    def start(self, done: int, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()
        print(f"training from step {done} to {total}", file=self.stream, flush=True)

    def advance(self, step: int, metrics: dict[str, float] | None) -> None:
        if metrics:
            rate = speed(metrics.get("gen_steps_per_s"))
            print(f"step {step}/{self.total}  {rate}  {_short(metrics)}",
                  file=self.stream, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def stop(self) -> None:
        pass
