"""Stopping a run cleanly: Ctrl-C or SIGTERM finish the current generator step, write a checkpoint
and return; a second Ctrl-C or SIGTERM stops at once, even a step stuck inside a native kernel."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.engine import Engine

EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal number, by convention
# A SIGTERM sent to a process group reaches a rank or sweep worker twice, once directly and once
# passed on by its parent (`passing_signals_to`), within milliseconds: that is one request.
SAME_REQUEST_S = 1.0
# How long a second signal waits for the main thread to stop by itself before the process ends.
GRACE_S = 3.0


@contextmanager
def stop_gracefully(engine: Engine, *, announce: bool = True,
                    stopped_at_once: Callable[[], str] = lambda: "stopped at once") -> Iterator[None]:
    """While inside, SIGINT and SIGTERM ask `engine` to stop after its current step; the signal
    received is left in `engine.stop_requested`. With `announce`, says so on stderr (one rank of
    a data-parallel run speaks for all). A second signal raises KeyboardInterrupt; if the step is
    stuck in native code, where Python cannot run a handler, the process prints
    `stopped_at_once()` and exits with the signal's status."""
    first_term = 0.0

    def handle(number: int, frame: FrameType | None) -> None:
        nonlocal first_term
        if engine.stop_requested is not None:
            if number == signal.SIGTERM and time.monotonic() - first_term < SAME_REQUEST_S:
                return  # the same SIGTERM, passed on by a parent
            raise KeyboardInterrupt  # the second signal: stop now, keep the last checkpoint
        engine.request_stop(signal.Signals(number))
        first_term = time.monotonic()
        if announce:
            print(f"\n{engine.stop_requested.name}: finishing step {engine.step + 1}, then "
                  "writing a checkpoint (Ctrl-C again to stop at once)", file=sys.stderr,
                  flush=True)

    previous = {number: signal.signal(number, handle) for number in EXIT_STATUS}
    try:
        with _ending_a_stuck_step(stopped_at_once if announce else lambda: ""):
            yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _ending_a_stuck_step(message: Callable[[], str]) -> Iterator[None]:
    """Python runs a signal handler only when the main thread is back in the interpreter, which a
    kernel that never returns (a hung native call) never is. The C-level handler still writes each
    signal's number to the wakeup file descriptor: a thread reading it ends the process when a
    second signal has not stopped the main thread within `GRACE_S`."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    done = threading.Event()

    def watch() -> None:
        first: float | None = None
        while not done.is_set():
            try:
                received = reader.recv(64)
            except OSError:
                return
            for number in received:
                if number not in EXIT_STATUS:
                    continue
                now = time.monotonic()
                if first is None or (number == signal.SIGTERM and now - first < SAME_REQUEST_S):
                    first = first or now
                    continue
                if not done.wait(GRACE_S):
                    if text := message():
                        print(f"\n{text} (the step did not return from native code)",
                              file=sys.stderr, flush=True)
                    os._exit(EXIT_STATUS[signal.Signals(number)])

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="wgan-kit-stuck-step", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(previous_fd)
        writer.close()  # the watcher's recv returns b"" and it ends
        watcher.join()
        reader.close()


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
