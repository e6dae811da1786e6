"""What a run did, for the person who started it: counts, failures with reasons, timings, progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from warehouse.store import FeedOutcome, PageFailure

if TYPE_CHECKING:
    from flows.alerts import AlertReport

MAX_LISTED = 20  # failures listed one by one in the report; the rest are counted


@dataclass
class RunReport:
    run_id: str
    started_at: datetime
    warehouse: str
    finished_at: datetime | None = None
    seeds_loaded: int = 0
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_skipped: int = 0  # not due yet (Cache-Control, <ttl>, min_poll_minutes, error backoff)
    entries_new: int = 0
    entries_skipped: int = 0  # judged off the topic by the prefilter: not fetched
    page_requests: int = 0
    pages_fetched: int = 0
    articles_stored: int = 0
    articles_known: int = 0
    pages_failed: int = 0
    pages_given_up: int = 0
    pages_left: int = 0  # not requested: the run's fetch deadline came first; the next run fetches them
    retry_in: timedelta | None = None
    alerts: AlertReport | None = None  # what mail was sent (immediate mode)
    alerts_waiting: int | None = None  # alerts queued when no [alerts] section sends them
    scored_otherwise: int = 0  # articles whose score was made under another topic definition or scorer
    hosts_given_up: dict[str, str] = field(default_factory=dict)  # host:port -> the first connection-level error
    feed_errors: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def feeds_failed(self) -> int:
        return len(self.feed_errors)

    @property
    def all_feeds_failed(self) -> bool:
        """Every feed polled failed: `newsmon run` exits 1 so that a monitor notices."""
        return self.feeds_polled > 0 and self.feeds_failed == self.feeds_polled

    @property
    def seconds(self) -> float:
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds()

    def add_feed_outcome(self, outcome: FeedOutcome) -> None:
        self.feeds_polled += 1
        if outcome.error is not None:
            self.feed_errors.append((outcome.url, outcome.error))
        elif outcome.not_modified:
            self.feeds_not_modified += 1

    def add_page_failures(self, failures: Sequence[PageFailure], *, max_attempts: int) -> None:
        for failure in failures:
            self.pages_failed += 1
            if not failure.retry or failure.task.attempts + failure.counted >= max_attempts:
                self.pages_given_up += 1
            self.page_errors.append((failure.task.url, failure.reason))

    def counts(self) -> dict[str, int]:
        """The figures kept in the runs table."""
        return {
            "feeds_polled": self.feeds_polled,
            "feeds_not_modified": self.feeds_not_modified,
            "feeds_failed": self.feeds_failed,
            "entries_new": self.entries_new,
            "pages_fetched": self.pages_fetched,
            "articles_stored": self.articles_stored,
            "articles_known": self.articles_known,
            "pages_failed": self.pages_failed,
            "seeds_loaded": self.seeds_loaded,
        }

    def render(self) -> str:
        ok = self.feeds_polled - self.feeds_failed - self.feeds_not_modified
        lines = [
            f"newsmon run {self.run_id} finished in {self.seconds:.1f} s",
            f"  warehouse  {self.warehouse}",
            f"  feeds      {self.feeds_polled} polled: {ok} changed, {self.feeds_not_modified} not modified, "
            f"{self.feeds_failed} failed" + (f"; {self.feeds_skipped} not due yet" if self.feeds_skipped else ""),
            f"  entries    {self.entries_new} new"
            + (f", {self.entries_skipped} skipped by the prefilter" if self.entries_skipped else ""),
            f"  articles   {self.articles_stored} stored, {self.articles_known} already known "
            f"({self.pages_fetched} pages fetched, {self.page_requests} requests)",
            f"  failures   {self.pages_failed} pages failed"
            + (f", {self.pages_given_up} given up" if self.pages_given_up else "")
            + (f"; next retry in {_duration(self.retry_in)}" if self.retry_in is not None else ""),
        ]
        if self.pages_left:
            lines.append(
                f"  deadline   {self.pages_left} pages not requested: the run's fetch deadline came first "
                "([fetch] deadline_seconds); the next run fetches them"
            )
        if self.alerts is not None:
            lines.append(self.alerts.render())
        elif self.alerts_waiting is not None:
            lines.append(
                f"  alerts     {self.alerts_waiting} waiting (no [alerts] section in the config: no mail sent)"
            )
        if self.seeds_loaded:
            lines.append(f"  seeds      {self.seeds_loaded} seed documents loaded")
        if self.scored_otherwise:
            lines.append(
                f"  scores     {self.scored_otherwise} articles were scored under another topic definition "
                "(topic.toml, seeds, threshold or newsmon's scorer changed): `newsmon rescore` updates them"
            )
        lines += _listed(
            "hosts given up for this run (unreachable; their pages are retried next run)",
            [(origin, error) for origin, error in self.hosts_given_up.items()],
        )
        if self.all_feeds_failed:
            lines.append(f"  status     every feed polled failed ({self.feeds_failed}): exit status 1")
        lines += _listed("failed feeds", self.feed_errors)
        lines += _listed("failed pages", self.page_errors)
        return "\n".join(lines)


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "the next run"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def _listed(title: str, errors: Sequence[tuple[str, str]]) -> list[str]:
    if not errors:
        return []
    lines = [f"  {title}:"]
    lines += [f"    {url}: {reason}" for url, reason in errors[:MAX_LISTED]]
    if len(errors) > MAX_LISTED:
        lines.append(f"    ... and {len(errors) - MAX_LISTED} more (see the page_failures table)")
    return lines


class Progress:
    """One line per step of long work, on stderr, so that stdout keeps only the report."""

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.total = 0
        self.done = 0
        self.label = ""
        self.started = 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.started = label, total, 0, time.monotonic()
        self._say(f"{label}: {total} to fetch")

    def advance(self, count: int, *, stored: int, failed: int) -> None:
        self.done += count
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0
        self._say(
            f"{self.label}: {self.done}/{self.total} done, {stored} stored, {failed} failed "
            f"({rate:.{0 if rate >= 10 else 1}f}/s, about {left:.0f} s left)"
        )

    def say(self, text: str) -> None:
        self._say(text)

    def _say(self, text: str) -> None:
        # Written, not printed: inside a flow Prefect turns print() into log records (log_prints), which its
        # WARNING level then drops.
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()
