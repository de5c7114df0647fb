"""Stopping a run cleanly: Ctrl-C or SIGTERM finish the current generator step, write a checkpoint
and return; a second Ctrl-C stops at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.engine import Trainer

EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal number, by convention


@contextmanager
def stop_gracefully(trainer: Trainer, *, announce: bool = True) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM ask `trainer` to stop after its current step; the signal
    received is left in `trainer.stop_requested`. With `announce`, says so on stderr (one rank of
    a data-parallel run speaks for all)."""

    def handle(number: int, frame: FrameType | None) -> None:
        if trainer.stop_requested is not None:
            if number == signal.SIGINT:
                raise KeyboardInterrupt  # the second Ctrl-C: stop now, keep the last checkpoint
            return  # a repeated SIGTERM: the same request
        trainer.stop_requested = signal.Signals(number)
        if announce:
            print(f"\n{trainer.stop_requested.name}: finishing step {trainer.step + 1}, then "
                  "writing a checkpoint (Ctrl-C again to stop at once)", file=sys.stderr,
                  flush=True)

    previous = {number: signal.signal(number, handle) for number in EXIT_STATUS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def passing_signals_to(processes: Callable[[], Iterable[Any]]) -> Iterator[None]:
    """While a parent waits for child processes (ranks, sweep workers): a terminal's Ctrl-C reaches
    each child itself, so the parent ignores it; SIGTERM is passed on to every live child, so that
    they stop cleanly whether it was sent to the parent alone or to the whole process group
    (left to its default it would end the parent at once). Off the main thread, where no handler
    can be installed, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def pass_on(number: int, frame: FrameType | None) -> None:
        for process in processes():
            if process.is_alive():
                os.kill(process.pid, number)

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.SIGTERM: signal.signal(signal.SIGTERM, pass_on)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
