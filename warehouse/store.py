"""Every write and read of the ingest pipeline. Functions are named for what they do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from extractors.alert_email import Story
from extractors.feeds import FeedEntry
from extractors.polling import retry_delay
from extractors.relevance import Relevance
from extractors.topic import Seed
from warehouse.db import transaction

if TYPE_CHECKING:  # types only: trafilatura and numpy cost a run that stores no page 1-2 s of imports
    from extractors.articles import ExtractedArticle
    from extractors.duplicates import Fingerprint


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
    summary: str | None = None  # the entry's summary (for the prefilter)


@dataclass(frozen=True)
class NewArticle:
    task: PageTask
    fetched_url: str
    article: ExtractedArticle
    relevance: Relevance | None = None
    fingerprint: Fingerprint | None = None


@dataclass(frozen=True)
class PageFailure:
    task: PageTask
    reason: str
    http_status: int | None = None
    retry: bool = True  # False: never try again (an address newsmon may not fetch)


_TS = pa.timestamp("us", tz="UTC")
# The relevance columns of articles, in the articles batch and in a rescore's batch alike.
_SCORE_FIELDS = [
    ("relevance", pa.float64()),
    ("is_relevant", pa.bool_()),
    ("relevance_terms", pa.list_(pa.string())),
    ("nearest_seed", pa.string()),
    ("relevance_why", pa.string()),
    ("scored_with", pa.string()),
]
_SCHEMAS = {
    "feeds": pa.schema([("url", pa.string()), ("name", pa.string()), ("added_at", _TS)]),
    "entries": pa.schema(
        [
            ("feed_url", pa.string()),
            ("entry_key", pa.string()),
            ("link", pa.string()),
            ("canonical_link", pa.string()),
            ("title", pa.string()),
            ("summary", pa.string()),
            ("published_at", _TS),
            ("first_seen_at", _TS),
            ("run_id", pa.string()),
            ("state", pa.string()),
        ]
    ),
    "links": pa.schema([("link", pa.string()), ("article_url", pa.string())]),
    "articles": pa.schema(
        [
            ("url", pa.string()),
            ("title", pa.string()),
            ("source", pa.string()),
            ("author", pa.string()),
            ("published_at", _TS),
            ("language", pa.string()),
            ("description", pa.string()),
            ("text", pa.string()),
            ("is_seed", pa.bool_()),
            ("seed_id", pa.string()),
            ("first_seen_at", _TS),
            ("feed_url", pa.string()),
            ("entry_link", pa.string()),
            ("fetched_url", pa.string()),
            ("run_id", pa.string()),
            *_SCORE_FIELDS,
            ("scored_at", _TS),
            ("duplicate_of", pa.string()),
            ("minhash", pa.list_(pa.uint32())),
            ("shingles", pa.int32()),
        ]
    ),
    "bands": pa.schema([("url", pa.string()), ("band", pa.int16()), ("hash", pa.int64())]),
    "fingerprints": pa.schema([("url", pa.string()), ("minhash", pa.list_(pa.uint32())), ("shingles", pa.int32())]),
    "copies": pa.schema([("url", pa.string()), ("duplicate_of", pa.string())]),
    "skips": pa.schema([("link", pa.string()), ("score", pa.float64()), ("why", pa.string())]),
    "scores": pa.schema([("url", pa.string()), *_SCORE_FIELDS]),
}


def _score_columns(relevance: Relevance | None) -> dict[str, Any]:
    if relevance is None:
        return {}
    return {
        "relevance": relevance.score,
        "is_relevant": relevance.is_relevant,
        "relevance_terms": list(relevance.matched),
        "nearest_seed": relevance.nearest_seed,
        "relevance_why": relevance.why,
        "scored_with": relevance.scored_with,
    }


def _with_batch(
    con: duckdb.DuckDBPyConnection, kind: str, rows: Sequence[dict[str, Any]], sql: str
) -> list[tuple[Any, ...]]:
    """Run `sql` with the rows visible as the relation `batch`.

    Batches travel as one Arrow table: binding thousands of Python values as parameters costs duckdb a
    failed `import pandas` per value (measured: 4 s for 1,000 entries; 0.05 s this way).
    """
    con.register("batch", pa.Table.from_pylist(list(rows), schema=_SCHEMAS[kind]))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.unregister("batch")


# --- feeds -----------------------------------------------------------------------------------------------


def sync_feeds(con: duckdb.DuckDBPyConnection, feeds: Sequence[tuple[str, str | None]], now: datetime) -> None:
    """Add configured feeds that are not in the table yet; keep the configured name up to date."""
    if not feeds:
        return
    _with_batch(
        con,
        "feeds",
        [{"url": url, "name": name, "added_at": now} for url, name in feeds],
        "INSERT INTO feeds (url, name, added_at) SELECT * FROM batch "
        "ON CONFLICT (url) DO UPDATE SET name = excluded.name",
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
        {
            "feed_url": outcome.url,
            "entry_key": e.key,
            "link": e.link,
            "canonical_link": e.canonical_link,
            "title": e.title,
            "summary": e.summary,
            "published_at": e.published_at,
            "first_seen_at": outcome.checked_at,
            "run_id": run_id,
            "state": "pending" if e.canonical_link else "no_link",
        }
        for e in outcome.entries
    ]
    inserted = _with_batch(
        con,
        "entries",
        rows,
        "INSERT INTO entries (feed_url, entry_key, link, canonical_link, title, summary, published_at, "
        "first_seen_at, run_id, state) SELECT * FROM batch ON CONFLICT DO NOTHING RETURNING entry_key",
    )
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
               min(e.published_at), arg_min(e.title, e.first_seen_at), coalesce(any_value(p.attempts), 0),
               arg_min(e.summary, e.first_seen_at)
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


CopyTest = Callable[[Sequence[int], int, Sequence[int], int], bool]


def store_pages(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    articles: Sequence[NewArticle],
    failures: Sequence[PageFailure],
    *,
    max_attempts: int,
    is_copy: CopyTest | None = None,
) -> int:
    """Store one batch of fetched pages in one transaction; returns the number of new articles.

    With `is_copy`, each new article that is a copy of an earlier one (by fingerprint) gets `duplicate_of`.
    """
    with transaction(con):
        new_urls = _add_articles(con, run_id, now, articles) if articles else set()
        inserted = len(new_urls)
        _add_bands(con, [(i.article.url, i.fingerprint) for i in articles if i.article.url in new_urls])
        if new_urls:
            con.register("new_urls", pa.table({"url": pa.array(sorted(new_urls), pa.string())}))
            try:
                if is_copy is not None:
                    mark_copies(con, is_copy)
                _queue_alerts(con, run_id, now)
            finally:
                con.unregister("new_urls")
        if articles:
            _with_batch(
                con,
                "links",
                [{"link": item.task.url, "article_url": item.article.url} for item in articles],
                "UPDATE entries SET state = 'stored', article_url = batch.article_url FROM batch "
                "WHERE entries.canonical_link = batch.link AND entries.state = 'pending'",
            )
            con.execute(
                "UPDATE page_failures SET resolved_at = ?, next_retry_at = NULL "
                "WHERE list_contains(?, url) AND resolved_at IS NULL",
                [now, [item.task.url for item in articles]],
            )
        for failure in failures:
            _record_failure(con, run_id, now, failure, max_attempts)
    return inserted


def _article_row(**values: Any) -> dict[str, Any]:
    row = dict.fromkeys(_SCHEMAS["articles"].names)
    row["is_seed"] = False
    row.update(values)
    return row


_INSERT_ARTICLES = "INSERT INTO articles BY NAME SELECT * FROM batch ON CONFLICT (url) DO NOTHING RETURNING url"


def _add_articles(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, items: Sequence[NewArticle]) -> set[str]:
    """Insert the articles whose URL is new; returns those URLs."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        a = item.article
        published = item.task.published_at
        if published is None and a.published is not None:
            published = datetime(a.published.year, a.published.month, a.published.day, tzinfo=now.tzinfo)
        rows.setdefault(  # two links of one batch may resolve to the same article: the first one wins
            a.url,
            _article_row(
                url=a.url,
                title=a.title or item.task.title,
                source=a.site_name or item.task.feed_name,
                author=a.author,
                published_at=published,
                language=a.language,
                description=a.description,
                text=a.text,
                first_seen_at=now,
                feed_url=item.task.feed_url,
                entry_link=item.task.url,
                fetched_url=item.fetched_url,
                run_id=run_id,
                scored_at=now if item.relevance is not None else None,
                minhash=list(item.fingerprint.signature) if item.fingerprint else None,
                shingles=item.fingerprint.shingles if item.fingerprint else 0,
                **_score_columns(item.relevance),
            ),
        )
    return {row[0] for row in _with_batch(con, "articles", list(rows.values()), _INSERT_ARTICLES)}


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
        _article_row(
            url=s.url,
            title=s.title,
            source=s.outlet,
            author=s.author,
            published_at=s.published_at,
            language=s.language,
            text=s.text,
            is_seed=True,
            seed_id=s.seed_id,
            first_seen_at=now,
            run_id=run_id,
        )
        for s in seeds
        if s.seed_id not in present
    ]
    if not rows:
        return 0
    with transaction(con):
        inserted = _with_batch(con, "articles", rows, _INSERT_ARTICLES)
    return len(inserted)


# --- relevance -------------------------------------------------------------------------------------------


def articles_to_score(con: duckdb.DuckDBPyConnection, *, all_rows: bool = False) -> list[tuple[str, str | None, str]]:
    """(url, title, text) of the articles without a score (of every article with all_rows)."""
    where = "" if all_rows else " WHERE relevance IS NULL"
    return con.execute(f"SELECT url, title, text FROM articles{where} ORDER BY url").fetchall()


def scored_otherwise(con: duckdb.DuckDBPyConnection, version: str) -> int:
    """How many articles hold a score made under another topic definition or scorer than `version`."""
    row = con.execute(
        "SELECT count(*) FROM articles WHERE relevance IS NOT NULL AND scored_with IS DISTINCT FROM ?", [version]
    ).fetchone()
    return int(row[0]) if row else 0


def set_scores(con: duckdb.DuckDBPyConnection, now: datetime, scores: Sequence[tuple[str, Relevance]]) -> None:
    """Store relevance scores in one transaction."""
    if not scores:
        return
    with transaction(con):
        _with_batch(
            con,
            "scores",
            [{"url": url, **_score_columns(relevance)} for url, relevance in scores],
            "UPDATE articles SET relevance = batch.relevance, is_relevant = batch.is_relevant, "
            "relevance_terms = batch.relevance_terms, nearest_seed = batch.nearest_seed, "
            "relevance_why = batch.relevance_why, scored_with = batch.scored_with, "
            f"scored_at = '{now.isoformat()}'::TIMESTAMPTZ "
            "FROM batch WHERE articles.url = batch.url",
        )


# --- duplicates ------------------------------------------------------------------------------------------


def _add_bands(con: duckdb.DuckDBPyConnection, fingerprints: Sequence[tuple[str, Fingerprint | None]]) -> None:
    rows = [
        {"url": url, "band": band, "hash": value}
        for url, fp in fingerprints
        if fp is not None
        for band, value in enumerate(fp.bands)
    ]
    if rows:
        _with_batch(con, "bands", rows, "INSERT INTO article_bands SELECT * FROM batch")


def mark_copies(con: duckdb.DuckDBPyConnection, is_copy: CopyTest) -> int:
    """Set duplicate_of for each article in the relation `new_urls` that is a copy of one seen before it.

    The original is the earliest article (first_seen_at, then url) that is itself no copy; articles of one
    batch are taken in that same order, so the first copy stored stays the original.
    """
    rows = con.execute(
        """
        WITH new AS (SELECT url, minhash, shingles, first_seen_at FROM articles
                     WHERE url IN (SELECT url FROM new_urls) AND minhash IS NOT NULL),
        pairs AS (
            SELECT DISTINCT n.url AS new_url, o.url AS old_url
            FROM article_bands nb
            JOIN new n ON n.url = nb.url
            JOIN article_bands ob ON ob.band = nb.band AND ob.hash = nb.hash AND ob.url <> nb.url
            JOIN articles o ON o.url = ob.url
            WHERE (o.first_seen_at, o.url) < (n.first_seen_at, n.url)
        )
        SELECT p.new_url, n.minhash, n.shingles, o.url, o.minhash, o.shingles, o.duplicate_of
        FROM pairs p JOIN new n ON n.url = p.new_url JOIN articles o ON o.url = p.old_url
        ORDER BY n.first_seen_at, n.url, o.first_seen_at, o.url
        """
    ).fetchall()
    copies: dict[str, str] = {}
    for new_url, new_sig, new_size, old_url, old_sig, old_size, old_original in rows:
        if new_url in copies:
            continue
        original = copies.get(old_url) or old_original or old_url
        if is_copy(new_sig, new_size, old_sig, old_size):
            copies[new_url] = original
    if copies:
        _with_batch(
            con,
            "copies",
            [{"url": url, "duplicate_of": original} for url, original in copies.items()],
            "UPDATE articles SET duplicate_of = batch.duplicate_of FROM batch WHERE articles.url = batch.url",
        )
    return len(copies)


def articles_without_fingerprint(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(url, text) of articles never fingerprinted (seeds, rows from before fingerprints existed).

    Every fingerprinted row has `shingles` set (0 for a text too short to compare)."""
    return con.execute("SELECT url, text FROM articles WHERE shingles IS NULL ORDER BY url").fetchall()


def set_fingerprints(con: duckdb.DuckDBPyConnection, fingerprints: Sequence[tuple[str, Fingerprint | None]]) -> None:
    """Store fingerprints (shingles = 0 marks a text too short to compare, so it is not tried again)."""
    if not fingerprints:
        return
    with transaction(con):
        _with_batch(
            con,
            "fingerprints",
            [
                {"url": url, "minhash": list(fp.signature) if fp else None, "shingles": fp.shingles if fp else 0}
                for url, fp in fingerprints
            ],
            "UPDATE articles SET minhash = batch.minhash, shingles = batch.shingles FROM batch "
            "WHERE articles.url = batch.url",
        )
        _add_bands(con, fingerprints)


def skip_entries(con: duckdb.DuckDBPyConnection, skipped: Sequence[tuple[str, float, str]]) -> None:
    """Mark the pending entries of these links as skipped by the prefilter, with its score and reason."""
    if not skipped:
        return
    with transaction(con):
        _with_batch(
            con,
            "skips",
            [{"link": link, "score": value, "why": why} for link, value, why in skipped],
            "UPDATE entries SET state = 'skipped', prefilter_score = batch.score, prefilter_why = batch.why "
            "FROM batch WHERE entries.canonical_link = batch.link AND entries.state = 'pending'",
        )


# --- alerts ----------------------------------------------------------------------------------------------


def _queue_alerts(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    """One outbox row per article of `new_urls` that is relevant and no copy (inside the storing transaction)."""
    con.execute(
        "INSERT INTO alerts (url, created_at, run_id) SELECT url, ?, ? FROM articles "
        "WHERE url IN (SELECT url FROM new_urls) AND is_relevant AND duplicate_of IS NULL AND NOT is_seed "
        "ON CONFLICT DO NOTHING",
        [now, run_id],
    )


def pending_alerts(con: duckdb.DuckDBPyConnection, recipient: str) -> list[Story]:
    """The stories not yet sent (nor being sent) to `recipient`, oldest alert first, with their copies."""
    rows = con.execute(
        """
        SELECT a.url, ar.title, ar.source, ar.published_at, ar.text, ar.relevance, ar.relevance_why,
               coalesce(ar.relevance_terms, []),
               coalesce((SELECT list({'source': c.source, 'url': c.url} ORDER BY c.first_seen_at)
                         FROM articles c WHERE c.duplicate_of = a.url), [])
        FROM alerts a
        JOIN articles ar ON ar.url = a.url
        LEFT JOIN alert_deliveries d ON d.url = a.url AND d.recipient = ?
        WHERE d.url IS NULL
        ORDER BY a.created_at, a.url
        """,
        [recipient],
    ).fetchall()
    return [
        Story(
            url=url,
            title=title,
            source=source,
            published_at=published,
            text=text,
            relevance=relevance,
            why=why,
            terms=tuple(terms),
            copies=tuple((c["source"], c["url"]) for c in copies),
        )
        for url, title, source, published, text, relevance, why, terms, copies in rows
    ]


def start_delivery(
    con: duckdb.DuckDBPyConnection, urls: Sequence[str], recipient: str, message_id: str, now: datetime
) -> None:
    """Record that a message carrying these alerts is about to be sent (committed before sending)."""
    con.execute(
        "INSERT INTO alert_deliveries (url, recipient, state, message_id, started_at) "
        "SELECT unnest(?), ?, 'sending', ?, ?",
        [list(urls), recipient, message_id, now],
    )


def finish_delivery(con: duckdb.DuckDBPyConnection, message_id: str, now: datetime) -> None:
    """The SMTP server accepted the message."""
    con.execute(
        "UPDATE alert_deliveries SET state = 'sent', sent_at = ? WHERE message_id = ? AND state = 'sending'",
        [now, message_id],
    )


def abandon_delivery(con: duckdb.DuckDBPyConnection, message_id: str) -> None:
    """The SMTP server refused the message: its alerts are pending again."""
    con.execute("DELETE FROM alert_deliveries WHERE message_id = ? AND state = 'sending'", [message_id])


def retry_uncertain(con: duckdb.DuckDBPyConnection) -> int:
    """Put deliveries left 'sending' by a killed process back in the queue (they may then arrive twice)."""
    rows = con.execute("DELETE FROM alert_deliveries WHERE state = 'sending' RETURNING url").fetchall()
    return len(rows)


# Alerts not yet delivered to every one of the recipients bound as its two parameters (with no recipients:
# every alert). Serves the waiting count and the pending list.
_UNDELIVERED = "(SELECT count(*) FROM alert_deliveries d WHERE d.url = a.url AND list_contains(?, d.recipient)) < ?"


def alerts_waiting(con: duckdb.DuckDBPyConnection, recipients: Sequence[str]) -> int:
    """How many alerts some recipient has not had (all alerts when there are no recipients)."""
    row = con.execute(
        f"SELECT count(*) FROM alerts a WHERE {_UNDELIVERED}", [list(recipients), max(len(recipients), 1)]
    ).fetchone()
    return row[0] if row else 0


def alert_overview(con: duckdb.DuckDBPyConnection, recipients: Sequence[str], limit: int = 20) -> dict[str, Any]:
    """Counts and recent rows for `newsmon alerts` and the run report."""
    uncertain = con.execute("SELECT count(*) FROM alert_deliveries WHERE state = 'sending'").fetchone()
    recent = con.execute(
        "SELECT d.sent_at, d.recipient, d.state, ar.title, d.url FROM alert_deliveries d "
        "JOIN articles ar ON ar.url = d.url ORDER BY d.started_at DESC, d.url LIMIT ?",
        [limit],
    ).fetchall()
    pending = con.execute(
        f"SELECT a.created_at, ar.title, a.url FROM alerts a JOIN articles ar ON ar.url = a.url WHERE {_UNDELIVERED} "
        "ORDER BY a.created_at DESC LIMIT ?",
        [list(recipients), max(len(recipients), 1), limit],
    ).fetchall()
    return {
        "waiting": alerts_waiting(con, recipients),
        "uncertain": uncertain[0] if uncertain else 0,
        "recent": recent,
        "pending": pending,
    }
