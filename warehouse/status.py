"""What `newsmon status` reports: recent runs, each feed's health, the alert queue, the warehouse's size.

Read-only queries on the existing tables, plain SQL (no index or constraint is relied on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class RunRow:
    run_id: str  # also the Prefect flow run's id (runs since issue 8)
    started_at: datetime
    finished_at: datetime | None  # None: still running, or interrupted / killed
    forced: bool
    feeds_polled: int
    feeds_not_modified: int
    feeds_failed: int
    entries_new: int
    pages_fetched: int
    articles_stored: int
    pages_failed: int

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @property
    def all_feeds_failed(self) -> bool:
        return self.feeds_polled > 0 and self.feeds_failed == self.feeds_polled


@dataclass(frozen=True)
class FeedRow:
    url: str
    name: str | None
    last_checked_at: datetime | None
    last_status: int | None
    consecutive_errors: int
    last_error: str | None
    next_check_at: datetime | None
    last_new_entry_at: datetime | None  # when an entry of this feed was last seen for the first time

    @property
    def last_success_at(self) -> datetime | None:
        """The last successful poll when the last one succeeded; None when it failed (or none happened)."""
        return self.last_checked_at if self.consecutive_errors == 0 else None


def last_runs(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[RunRow]:
    rows = con.execute(
        "SELECT run_id, started_at, finished_at, forced, feeds_polled, feeds_not_modified, feeds_failed, "
        "entries_new, pages_fetched, articles_stored, pages_failed FROM runs ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [RunRow(*row) for row in rows]


def last_polling_run(con: duckdb.DuckDBPyConnection) -> RunRow | None:
    """The latest finished run that polled at least one feed (a run where no feed was due says nothing)."""
    row = con.execute(
        "SELECT run_id, started_at, finished_at, forced, feeds_polled, feeds_not_modified, feeds_failed, "
        "entries_new, pages_fetched, articles_stored, pages_failed FROM runs "
        "WHERE finished_at IS NOT NULL AND feeds_polled > 0 ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return RunRow(*row) if row else None


def last_mail_error(con: duckdb.DuckDBPyConnection) -> tuple[datetime, str] | None:
    """(when, why) the latest finished run could not send its alert mail; None when it could, or had none."""
    try:
        row = con.execute(
            "SELECT started_at, mail_error FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    except duckdb.BinderException:  # a warehouse no run of this release has migrated yet (status only reads)
        return None
    return (row[0], row[1]) if row and row[1] else None


def feed_health(con: duckdb.DuckDBPyConnection, urls: Sequence[str]) -> list[FeedRow]:
    """The configured feeds' state, worst first (most consecutive errors), then by URL."""
    if not urls:
        return []
    rows = con.execute(
        "SELECT f.url, f.name, f.last_checked_at, f.last_status, f.consecutive_errors, f.last_error, f.next_check_at, "
        "(SELECT max(e.first_seen_at) FROM entries e WHERE e.feed_url = f.url) "
        "FROM feeds f WHERE list_contains(?, f.url) ORDER BY f.consecutive_errors DESC, f.url",
        [list(urls)],
    ).fetchall()
    return [FeedRow(*row) for row in rows]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in the main tables."""
    counts: dict[str, int] = {}
    for table in ("articles", "entries", "feeds", "runs", "alerts"):
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[table] = row[0] if row else 0
    return counts
