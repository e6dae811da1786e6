"""Ctrl-C and SIGTERM: stop within seconds, say so in one line, leave no process behind, lose nothing.

The first signal raises `Interrupted` in the main thread, where the flow runs: the batch being stored is rolled
back (batches are transactions), the extraction workers are stopped, the warehouse is closed. Whatever still
waits after GRACE_SECONDS (a page request in a fetch thread, Prefect reporting the crash) is cut short: the
clean-up callbacks run (they stop the local Prefect server) and the process exits with 128 + the signal.
Prefect's own crash report and tracebacks are silenced: an interrupt is not an error.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

GRACE_SECONDS = 3.0  # the clean stop's budget; the whole stop must stay under the 5 s a user waits
MESSAGE = "newsmon: interrupted; the next run resumes where this one stopped"

_cleanups: list[Callable[[], None]] = []
_received: list[int] = []
_lock = threading.Lock()


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; `exit_status` is what the process exits with (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def on_exit(cleanup: Callable[[], None]) -> None:
    """Run `cleanup` when the process stops after a signal (also when the grace period runs out)."""
    _cleanups.append(cleanup)


def run_cleanups() -> None:
    while _cleanups:
        cleanup = _cleanups.pop()
        try:
            cleanup()
        except Exception as exc:  # noqa: BLE001 - every clean-up gets its turn
            print(f"newsmon: while stopping: {exc}", file=sys.stderr)


def interrupted() -> int | None:
    """The signal received, if any."""
    return _received[0] if _received else None


def _hard_stop(status: int) -> None:
    run_cleanups()
    sys.stderr.flush()
    os._exit(status)


def _handle(signum: int, frame: FrameType | None) -> None:
    with _lock:
        first = not _received
        _received.append(signum)
    if not first:
        return  # one line, one stop: a second Ctrl-C changes nothing
    logging.disable(logging.CRITICAL)  # Prefect would report the run as crashed, with tracebacks
    print(MESSAGE, file=sys.stderr, flush=True)
    timer = threading.Timer(GRACE_SECONDS, _hard_stop, args=(128 + signum,))
    timer.daemon = True
    timer.start()
    raise Interrupted(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM in this (main) thread; elsewhere, or called again, it changes nothing harmful."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handle)
