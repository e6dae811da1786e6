"""Every write and read of the ingest pipeline. Functions are named for what they do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from extractors.articles import ExtractedArticle
from extractors.feeds import FeedEntry
from extractors.polling import retry_delay
from extractors.topic import Seed
from warehouse.db import transaction


@dataclass(frozen=True)
class FeedState:
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None
    consecutive_errors: int


@dataclass(frozen=True)
class FeedOutcome:
    """What one poll of a feed found; `error` is None when the poll succeeded (200 or 304)."""

    url: str
    checked_at: datetime
    next_check_at: datetime
    status: int | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    entries: tuple[FeedEntry, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class PageTask:
    """A page to fetch: one canonical link, wanted by one or more pending entries."""

    url: str  # the entry's canonical link
    feed_url: str
    feed_name: str | None
    published_at: datetime | None
    title: str | None
    attempts: int  # failed attempts so far


@dataclass(frozen=True)
class NewArticle:
    task: PageTask
    fetched_url: str
    article: ExtractedArticle


@dataclass(frozen=True)
class PageFailure:
    task: PageTask
    reason: str
    http_status: int | None = None
    retry: bool = True  # False: never try again (an address newsmon may not fetch)


def _values(rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A multi-row VALUES clause and its parameters: one statement for a whole batch."""
    width = len(rows[0])
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


# --- feeds -----------------------------------------------------------------------------------------------


def sync_feeds(con: duckdb.DuckDBPyConnection, feeds: Sequence[tuple[str, str | None]], now: datetime) -> None:
    """Add configured feeds that are not in the table yet; keep the configured name up to date."""
    if not feeds:
        return
    clause, params = _values([(url, name, now) for url, name in feeds])
    con.execute(
        f"INSERT INTO feeds (url, name, added_at) VALUES {clause} ON CONFLICT (url) DO UPDATE SET name = excluded.name",
        params,
    )


def feeds_due(
    con: duckdb.DuckDBPyConnection, urls: Sequence[str], now: datetime, *, force: bool = False
) -> list[FeedState]:
    """The configured feeds whose next check has come (all of them with force)."""
    if not urls:
        return []
    rows = con.execute(
        "SELECT url, name, etag, last_modified, consecutive_errors FROM feeds "
        "WHERE list_contains(?, url) AND (? OR next_check_at IS NULL OR next_check_at <= ?) ORDER BY url",
        [list(urls), force, now],
    ).fetchall()
    return [FeedState(*row) for row in rows]


def record_feed_outcome(
    con: duckdb.DuckDBPyConnection, run_id: str, outcome: FeedOutcome, *, force: bool = False
) -> int:
    """Store a poll: the new entries first, the feed's validators last, in one transaction.

    Returns the number of entries that were new. A 304 touches only timestamps; a failure keeps the old
    validators so that the next run asks again; a forced run keeps old validators where the response sent none.
    """
    with transaction(con):
        new = _add_entries(con, run_id, outcome) if outcome.entries else 0
        if outcome.error is not None:
            con.execute(
                "UPDATE feeds SET last_checked_at = ?, next_check_at = ?, last_status = ?, "
                "consecutive_errors = consecutive_errors + 1, last_error = ? WHERE url = ?",
                [outcome.checked_at, outcome.next_check_at, outcome.status, outcome.error, outcome.url],
            )
        elif outcome.not_modified:
            con.execute(
                "UPDATE feeds SET last_checked_at = ?, next_check_at = ?, last_status = ?, "
                "consecutive_errors = 0, last_error = NULL WHERE url = ?",
                [outcome.checked_at, outcome.next_check_at, outcome.status, outcome.url],
            )
        else:
            validators = "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified)"
            if not force:
                validators = "etag = ?, last_modified = ?"
            con.execute(
                f"UPDATE feeds SET {validators}, title = coalesce(?, title), last_checked_at = ?, "
                "next_check_at = ?, last_status = ?, consecutive_errors = 0, last_error = NULL WHERE url = ?",
                [
                    outcome.etag,
                    outcome.last_modified,
                    outcome.title,
                    outcome.checked_at,
                    outcome.next_check_at,
                    outcome.status,
                    outcome.url,
                ],
            )
    return new


def _add_entries(con: duckdb.DuckDBPyConnection, run_id: str, outcome: FeedOutcome) -> int:
    rows = [
        (
            outcome.url,
            e.key,
            e.link,
            e.canonical_link,
            e.title,
            e.summary,
            e.published_at,
            outcome.checked_at,
            run_id,
            "pending" if e.canonical_link else "no_link",
        )
        for e in outcome.entries
    ]
    clause, params = _values(rows)
    inserted = con.execute(
        "INSERT INTO entries (feed_url, entry_key, link, canonical_link, title, summary, published_at, "
        f"first_seen_at, run_id, state) VALUES {clause} ON CONFLICT DO NOTHING RETURNING entry_key",
        params,
    ).fetchall()
    return len(inserted)


# --- pages -----------------------------------------------------------------------------------------------


def link_known_entries(con: duckdb.DuckDBPyConnection) -> int:
    """Mark pending entries whose link is already an article (another feed, an earlier entry) as stored."""
    rows = con.execute(
        """
        UPDATE entries SET state = 'stored', article_url = known.article_url
        FROM (
            SELECT canonical_link, any_value(article_url) AS article_url FROM entries
            WHERE state = 'stored' GROUP BY canonical_link
            UNION ALL
            SELECT url, url FROM articles
        ) AS known
        WHERE entries.state = 'pending' AND entries.canonical_link = known.canonical_link
        RETURNING entries.entry_key
        """
    ).fetchall()
    return len(rows)


def pages_due(con: duckdb.DuckDBPyConnection, now: datetime, *, limit: int | None = None) -> list[PageTask]:
    """One task per canonical link that pending entries want and whose retry time has come."""
    rows = con.execute(
        """
        SELECT e.canonical_link, arg_min(e.feed_url, e.first_seen_at), arg_min(f.name, e.first_seen_at),
               min(e.published_at), arg_min(e.title, e.first_seen_at), coalesce(any_value(p.attempts), 0)
        FROM entries e
        JOIN feeds f ON f.url = e.feed_url
        LEFT JOIN page_failures p ON p.url = e.canonical_link
        WHERE e.state = 'pending' AND (p.url IS NULL OR p.next_retry_at <= ?)
        GROUP BY e.canonical_link
        ORDER BY min(e.first_seen_at), e.canonical_link
        """
        + (f" LIMIT {int(limit)}" if limit else ""),
        [now],
    ).fetchall()
    return [PageTask(*row) for row in rows]


def store_pages(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    articles: Sequence[NewArticle],
    failures: Sequence[PageFailure],
    *,
    max_attempts: int,
) -> int:
    """Store one batch of fetched pages in one transaction; returns the number of new articles."""
    with transaction(con):
        inserted = _add_articles(con, run_id, now, articles) if articles else 0
        if articles:
            clause, params = _values([(item.task.url, item.article.url) for item in articles])
            con.execute(
                f"UPDATE entries SET state = 'stored', article_url = v.article_url FROM (VALUES {clause}) "
                "AS v(link, article_url) WHERE entries.canonical_link = v.link AND entries.state = 'pending'",
                params,
            )
            con.execute(
                "UPDATE page_failures SET resolved_at = ?, next_retry_at = NULL "
                "WHERE list_contains(?, url) AND resolved_at IS NULL",
                [now, [item.task.url for item in articles]],
            )
        for failure in failures:
            _record_failure(con, run_id, now, failure, max_attempts)
    return inserted


def _add_articles(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, items: Sequence[NewArticle]) -> int:
    rows = []
    seen: set[str] = set()
    for item in items:
        a = item.article
        if a.url in seen:  # two links of one batch that resolve to the same article
            continue
        seen.add(a.url)
        published = item.task.published_at
        if published is None and a.published is not None:
            published = datetime(a.published.year, a.published.month, a.published.day, tzinfo=now.tzinfo)
        rows.append(
            (
                a.url,
                a.title or item.task.title,
                a.site_name or item.task.feed_name,
                a.author,
                published,
                a.language,
                a.description,
                a.text,
                now,
                item.task.feed_url,
                item.task.url,
                item.fetched_url,
                run_id,
            )
        )
    clause, params = _values(rows)
    inserted = con.execute(
        "INSERT INTO articles (url, title, source, author, published_at, language, description, text, "
        f"first_seen_at, feed_url, entry_link, fetched_url, run_id) VALUES {clause} "
        "ON CONFLICT (url) DO NOTHING RETURNING url",
        params,
    ).fetchall()
    return len(inserted)


def _record_failure(
    con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, failure: PageFailure, max_attempts: int
) -> None:
    attempts = failure.task.attempts + 1
    give_up = not failure.retry or attempts >= max_attempts
    next_retry = None if give_up else now + retry_delay(attempts)
    con.execute(
        """
        INSERT INTO page_failures (url, feed_url, reason, http_status, attempts, first_failed_at,
                                   last_failed_at, next_retry_at, run_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (url) DO UPDATE SET reason = excluded.reason, http_status = excluded.http_status,
            attempts = excluded.attempts, last_failed_at = excluded.last_failed_at,
            next_retry_at = excluded.next_retry_at, run_id = excluded.run_id, resolved_at = NULL
        """,
        [
            failure.task.url,
            failure.task.feed_url,
            failure.reason,
            failure.http_status,
            attempts,
            now,
            now,
            next_retry,
            run_id,
        ],
    )
    if give_up:
        con.execute(
            "UPDATE entries SET state = ? WHERE canonical_link = ? AND state = 'pending'",
            ["failed" if failure.retry else "refused", failure.task.url],
        )


def retry_window(con: duckdb.DuckDBPyConnection, now: datetime) -> timedelta | None:
    """How long until the next failed page may be retried (None: nothing waits)."""
    row = con.execute(
        "SELECT min(next_retry_at) FROM page_failures WHERE next_retry_at IS NOT NULL AND resolved_at IS NULL"
    ).fetchone()
    return (row[0] - now) if row and row[0] else None


# --- runs and seeds -----------------------------------------------------------------------------------------


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, *, forced: bool) -> None:
    con.execute("INSERT INTO runs (run_id, started_at, forced) VALUES (?, ?, ?)", [run_id, now, forced])


RUN_COUNTS = (
    "feeds_polled",
    "feeds_not_modified",
    "feeds_failed",
    "entries_new",
    "pages_fetched",
    "articles_stored",
    "articles_known",
    "pages_failed",
    "seeds_loaded",
)


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, counts: dict[str, int]) -> None:
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in counts)
    con.execute(
        f"UPDATE runs SET finished_at = ?{', ' if sets else ''}{sets} WHERE run_id = ?",
        [now, *counts.values(), run_id],
    )


def add_seeds(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, seeds: Sequence[Seed]) -> int:
    """Load the seed documents once: seeds already present (by seed id) are left alone."""
    present = {row[0] for row in con.execute("SELECT seed_id FROM articles WHERE is_seed").fetchall()}
    rows = [
        (s.url, s.title, s.outlet, s.author, s.published_at, s.language, s.text, True, s.seed_id, now, run_id)
        for s in seeds
        if s.seed_id not in present
    ]
    if not rows:
        return 0
    clause, params = _values(rows)
    with transaction(con):
        inserted = con.execute(
            "INSERT INTO articles (url, title, source, author, published_at, language, text, is_seed, seed_id, "
            f"first_seen_at, run_id) VALUES {clause} ON CONFLICT (url) DO NOTHING RETURNING url",
            params,
        ).fetchall()
    return len(inserted)
