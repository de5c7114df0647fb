"""A progress display that asks its run to stop, as a signal would: for tests of clean stops."""

from __future__ import annotations

import signal


class StopRequestAt:
    """Once `step` is done, asks `trainer` to stop (with `received`, as a handler would)."""

    def __init__(self, trainer, step: int, received: signal.Signals = signal.SIGTERM) -> None:
        self.trainer, self.step, self.received = trainer, step, received

    def start(self, done: int, total: int) -> None: ...

    def advance(self, step: int, metrics) -> None:
        if step == self.step:
            self.trainer.request_stop(self.received)

    def note(self, text: str) -> None: ...
