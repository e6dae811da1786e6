"""One ingest of a configuration at a time, across processes: an OS file lock held for the whole run.

The lock is keyed by the warehouse and the set of feed URLs: a `newsmon run` by hand while `newsmon serve`'s
scheduled run ingests the same feeds waits for it (or, with --no-wait, says so), and two runs over disjoint feed
lists into one warehouse are not held up (the storage layer admits several writers). The kernel releases the
lock when its holder dies, even by SIGKILL: there is no stale lock to clean up.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from extractors.urls import canonicalize

_held: dict[Path, int] = {}  # lock files this process holds, with how many holders (the lock is reentrant)


class Busy(Exception):
    """Another process holds the lock; `holder` is its description (pid, command)."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"another ingest of this configuration is running ({holder})")
        self.path = path
        self.holder = holder


def lock_path(warehouse: Path, feed_urls: Sequence[str]) -> Path:
    """The lock file for an ingest of these feeds into this warehouse (the order of the feeds does not matter)."""
    feeds = sorted({canonicalize(url) for url in feed_urls})
    key = hashlib.sha256("\n".join([str(warehouse.resolve()), *feeds]).encode()).hexdigest()[:16]
    return warehouse.parent / "locks" / f"ingest-{key}.lock"


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "a process that has not said who it is"


@contextmanager
def ingest_lock(
    warehouse: Path, feed_urls: Sequence[str], *, wait: bool = True, on_wait: object = None
) -> Iterator[Path]:
    """Hold the ingest lock of this configuration. Raises Busy at once when `wait` is false and it is taken;
    else calls `on_wait(holder)` (a callable, if given) and blocks until it is free."""
    path = lock_path(warehouse, feed_urls)
    if path in _held:
        _held[path] += 1
        try:
            yield path
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise Busy(path, holder) from None
            if callable(on_wait):
                on_wait(holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        _held[path] = 1
        try:
            yield path
        finally:
            del _held[path]
            handle.seek(0)
            handle.truncate()
            handle.flush()
    finally:
        handle.close()  # closing the file releases the lock
