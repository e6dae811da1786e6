"""Feeds and their entries: polling state, new entries, the pages still to fetch and those that failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from extractors.feeds import FeedEntry
from extractors.polling import retry_delay
from warehouse.batches import changed, with_batch
from warehouse.db import in_transaction


@dataclass(frozen=True)
class FeedState:
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None
    consecutive_errors: int
    body_digest: str | None = None  # of the last body parsed (migration 0016)


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
    body_digest: str | None = None  # of the body parsed ('ok'), else None

    @property
    def kind(self) -> str:
        return "error" if self.error is not None else "not_modified" if self.not_modified else "ok"


@dataclass(frozen=True)
class PageTask:
    """A page to fetch: one canonical link, wanted by one or more pending entries."""

    url: str  # the entry's canonical link
    feed_url: str
    feed_name: str | None
    published_at: datetime | None
    title: str | None
    attempts: int  # failed attempts so far
    summary: str | None = None  # the entry's summary (for the prefilter)
    failed_before: bool = False  # an unresolved page_failures row exists (attempts may be 0: a host given up)


@dataclass(frozen=True)
class PageFailure:
    task: PageTask
    reason: str
    http_status: int | None = None
    retry: bool = True  # False: never try again (an address newsmon may not fetch)
    counted: bool = True  # False: not requested at all (its host was given up this run): no attempt spent


# --- feeds -----------------------------------------------------------------------------------------------


def sync_feeds(con: duckdb.DuckDBPyConnection, feeds: Sequence[tuple[str, str | None]], now: datetime) -> None:
    """Add configured feeds that are not in the table yet; keep the configured name up to date.

    A feed whose name did not change is not touched, and when none changed nothing is written: a lake
    transaction with its commit costs an idle run ~50 ms, the read ~10 ms."""
    if not feeds:
        return
    wanted = dict(feeds)
    known = dict(con.execute("SELECT url, name FROM feeds WHERE list_contains(?, url)", [list(wanted)]).fetchall())
    if all(url in known and known[url] == name for url, name in wanted.items()):
        return
    rows = [{"url": url, "name": name, "added_at": now} for url, name in wanted.items()]
    in_transaction(
        con,
        lambda c: with_batch(
            c,
            "feeds",
            rows,
            "MERGE INTO feeds USING batch ON feeds.url = batch.url "
            "WHEN MATCHED AND feeds.name IS DISTINCT FROM batch.name THEN UPDATE SET name = batch.name "
            "WHEN NOT MATCHED THEN INSERT (url, name, added_at) VALUES (batch.url, batch.name, batch.added_at)",
        ),
    )


def feeds_due(
    con: duckdb.DuckDBPyConnection, urls: Sequence[str], now: datetime, *, force: bool = False
) -> list[FeedState]:
    """The configured feeds whose next check has come (all of them with force)."""
    if not urls:
        return []
    rows = con.execute(
        "SELECT url, name, etag, last_modified, consecutive_errors, body_digest FROM feeds "
        "WHERE list_contains(?, url) AND (? OR next_check_at IS NULL OR next_check_at <= ?) ORDER BY url",
        [list(urls), force, now],
    ).fetchall()
    return [FeedState(*row) for row in rows]


# A poll's effect on its feed's row, for the three kinds of outcome at once. A 304 touches only timestamps; a
# failure keeps the old validators so that the next run asks again; a forced run keeps old validators where
# the response sent none.
_UPDATE_FEEDS = """
UPDATE feeds SET
    etag = CASE WHEN b.kind <> 'ok' THEN feeds.etag WHEN {force} THEN coalesce(b.etag, feeds.etag) ELSE b.etag END,
    last_modified = CASE WHEN b.kind <> 'ok' THEN feeds.last_modified
                         WHEN {force} THEN coalesce(b.last_modified, feeds.last_modified) ELSE b.last_modified END,
    title = CASE WHEN b.kind = 'ok' THEN coalesce(b.title, feeds.title) ELSE feeds.title END,
    last_checked_at = b.checked_at,
    next_check_at = b.next_check_at,
    last_status = b.status,
    consecutive_errors = CASE WHEN b.kind = 'error' THEN feeds.consecutive_errors + 1 ELSE 0 END,
    last_error = b.error,
    body_digest = CASE WHEN b.kind = 'ok' THEN b.body_digest ELSE feeds.body_digest END
FROM batch b WHERE feeds.url = b.url
"""


def record_feed_outcomes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: Sequence[FeedOutcome], *, force: bool = False
) -> int:
    """Store the polls of one run: the new entries first, the feeds' validators last, in one transaction.

    Returns the number of entries that were new. One transaction for all feeds: each lake commit costs a
    snapshot (~0.1 s with the SQLite catalog), so a run of 50 feeds commits once, not 50 times."""
    if not outcomes:
        return 0
    polls = [
        {
            "url": o.url,
            "kind": o.kind,
            "checked_at": o.checked_at,
            "next_check_at": o.next_check_at,
            "status": o.status,
            "etag": o.etag,
            "last_modified": o.last_modified,
            "title": o.title,
            "error": o.error,
            "body_digest": o.body_digest,
        }
        for o in outcomes
    ]

    def work(c: duckdb.DuckDBPyConnection) -> int:
        new = _add_entries(c, run_id, outcomes)
        with_batch(c, "polls", polls, _UPDATE_FEEDS.format(force="true" if force else "false"))
        return new

    return in_transaction(con, work)


def record_feed_outcome(
    con: duckdb.DuckDBPyConnection, run_id: str, outcome: FeedOutcome, *, force: bool = False
) -> int:
    """One poll (see record_feed_outcomes)."""
    return record_feed_outcomes(con, run_id, [outcome], force=force)


def _add_entries(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: Sequence[FeedOutcome]) -> int:
    rows = [
        {
            "feed_url": o.url,
            "entry_key": e.key,
            "link": e.link,
            "canonical_link": e.canonical_link,
            "title": e.title,
            "summary": e.summary,
            "published_at": e.published_at,
            "first_seen_at": o.checked_at,
            "run_id": run_id,
            "state": "pending" if e.canonical_link else "no_link",
        }
        for o in outcomes
        for e in o.entries
    ]
    if not rows:
        return 0
    # The key (feed_url, entry_key): an entry already stored, or twice in one feed, is added once.
    return changed(
        with_batch(
            con,
            "entries",
            rows,
            "INSERT INTO entries (feed_url, entry_key, link, canonical_link, title, summary, published_at, "
            "first_seen_at, run_id, state) "
            "SELECT DISTINCT ON (b.feed_url, b.entry_key) b.* FROM batch b "
            "WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.feed_url = b.feed_url AND e.entry_key = b.entry_key)",
        )
    )


# --- pages -----------------------------------------------------------------------------------------------


def link_known_entries(con: duckdb.DuckDBPyConnection) -> int:
    """Mark pending entries whose link is already an article (another feed, an earlier entry) as stored."""

    def work(c: duckdb.DuckDBPyConnection) -> int:
        return changed(
            c.execute(
                """
                UPDATE entries SET state = 'stored', article_url = known.article_url
                FROM (
                    WITH wanted AS (SELECT DISTINCT canonical_link FROM entries WHERE state = 'pending')
                    SELECT canonical_link, any_value(article_url) AS article_url FROM entries
                    WHERE state = 'stored' AND canonical_link IN (SELECT canonical_link FROM wanted)
                    GROUP BY canonical_link
                    UNION ALL
                    SELECT url, url FROM articles WHERE url IN (SELECT canonical_link FROM wanted)
                ) AS known
                WHERE entries.state = 'pending' AND entries.canonical_link = known.canonical_link
                """
            ).fetchall()
        )

    return in_transaction(con, work, keyed=False)


def pages_due(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    *,
    limit: int | None = None,
    feed_urls: Sequence[str] | None = None,
) -> list[PageTask]:
    """One task per canonical link that pending entries want and whose retry time has come.

    With `feed_urls`, only entries of those (the configured) feeds: a feed removed from the configuration
    has its pending pages left alone."""
    rows = con.execute(
        """
        SELECT e.canonical_link, arg_min(e.feed_url, e.first_seen_at), arg_min(f.name, e.first_seen_at),
               min(e.published_at), arg_min(e.title, e.first_seen_at), coalesce(any_value(p.attempts), 0),
               arg_min(e.summary, e.first_seen_at), bool_or(p.url IS NOT NULL AND p.resolved_at IS NULL)
        FROM entries e
        JOIN feeds f ON f.url = e.feed_url
        LEFT JOIN page_failures p ON p.url = e.canonical_link
        WHERE e.state = 'pending' AND (p.url IS NULL OR p.next_retry_at <= ?)
          AND (? IS NULL OR list_contains(?, e.feed_url))
        GROUP BY e.canonical_link
        ORDER BY min(e.first_seen_at), e.canonical_link
        """
        + (f" LIMIT {int(limit)}" if limit else ""),
        [now, None if feed_urls is None else list(feed_urls), None if feed_urls is None else list(feed_urls)],
    ).fetchall()
    return [PageTask(*row) for row in rows]


def skip_entries(con: duckdb.DuckDBPyConnection, skipped: Sequence[tuple[str, float, str]]) -> None:
    """Mark the pending entries of these links as skipped by the prefilter, with its score and reason."""
    if not skipped:
        return
    rows = [{"link": link, "score": value, "why": why} for link, value, why in skipped]
    in_transaction(
        con,
        lambda c: with_batch(
            c,
            "skips",
            rows,
            "UPDATE entries SET state = 'skipped', prefilter_score = batch.score, prefilter_why = batch.why "
            "FROM batch WHERE entries.canonical_link = batch.link AND entries.state = 'pending'",
        ),
        keyed=False,
    )


def mark_entries_stored(
    con: duckdb.DuckDBPyConnection, links: Sequence[tuple[str, str]], now: datetime, failed: Sequence[str] = ()
) -> None:
    """Inside the storing transaction: these links' pending entries now have their article; the failures
    recorded for `failed` (the links that failed before) are resolved. A DuckLake UPDATE costs ~50 ms even
    when it changes nothing, so page_failures is left alone when no link of the batch failed before."""
    with_batch(
        con,
        "links",
        [{"link": link, "article_url": url} for link, url in links],
        "UPDATE entries SET state = 'stored', article_url = batch.article_url FROM batch "
        "WHERE entries.canonical_link = batch.link AND entries.state = 'pending'",
    )
    if failed:
        with_batch(
            con,
            "urls",
            [{"url": link} for link in failed],
            f"UPDATE page_failures SET resolved_at = '{now.isoformat()}'::TIMESTAMPTZ, next_retry_at = NULL "
            "WHERE url IN (SELECT url FROM batch) AND resolved_at IS NULL",
        )


def record_failure(
    con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, failure: PageFailure, max_attempts: int
) -> None:
    """Inside the storing transaction: one more failed attempt at a page (given up after max_attempts)."""
    attempts = failure.task.attempts + (1 if failure.counted else 0)
    give_up = not failure.retry or attempts >= max_attempts
    next_retry = None if give_up else now + retry_delay(attempts)
    con.execute(
        """
        MERGE INTO page_failures p
        USING (SELECT ?::VARCHAR AS url, ?::VARCHAR AS feed_url, ?::VARCHAR AS reason, ?::INTEGER AS http_status,
                      ?::INTEGER AS attempts, ?::TIMESTAMPTZ AS failed_at, ?::TIMESTAMPTZ AS next_retry_at,
                      ?::VARCHAR AS run_id) AS n
        ON p.url = n.url
        WHEN MATCHED THEN UPDATE SET reason = n.reason, http_status = n.http_status, attempts = n.attempts,
            last_failed_at = n.failed_at, next_retry_at = n.next_retry_at, run_id = n.run_id, resolved_at = NULL
        WHEN NOT MATCHED THEN INSERT (url, feed_url, reason, http_status, attempts, first_failed_at,
                                      last_failed_at, next_retry_at, run_id)
            VALUES (n.url, n.feed_url, n.reason, n.http_status, n.attempts, n.failed_at, n.failed_at,
                    n.next_retry_at, n.run_id)
        """,
        [
            failure.task.url,
            failure.task.feed_url,
            failure.reason,
            failure.http_status,
            attempts,
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
