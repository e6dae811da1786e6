"""Articles and what is known of them: storing a batch of pages, seeds, relevance scores, fingerprints, copies."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from extractors.relevance import Relevance
from extractors.topic import Seed
from warehouse import marks
from warehouse.alerts import queue_alerts
from warehouse.batches import SCHEMAS, with_batch, with_table
from warehouse.db import in_transaction
from warehouse.feeds import PageFailure, PageTask, mark_entries_stored, record_failure
from warehouse.search import IndexRow, index_articles

if TYPE_CHECKING:  # types only: trafilatura and numpy cost a run that stores no page 1-2 s of imports
    from extractors.articles import ExtractedArticle
    from extractors.duplicates import Fingerprint


@dataclass(frozen=True)
class NewArticle:
    task: PageTask
    fetched_url: str
    article: ExtractedArticle
    relevance: Relevance | None = None
    fingerprint: Fingerprint | None = None


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
    """Store one batch of fetched pages in one transaction (one lake snapshot); returns the new articles.

    With `is_copy`, each new article that is a copy of an earlier one (by fingerprint) gets `duplicate_of`.
    A reader sees the whole batch (articles, entry states, alert rows) or none of it."""

    def work(c: duckdb.DuckDBPyConnection) -> int:
        rows = _unstored(c, _article_rows(run_id, now, articles))
        new_urls = {row["url"] for row in rows}
        # one per URL: two links of one batch may resolve to the same article
        fingerprints = {i.article.url: i.fingerprint for i in articles if i.article.url in new_urls and i.fingerprint}
        prints = [(url, fp, now) for url, fp in fingerprints.items()]
        bands = _bands(prints)
        if is_copy is not None:
            # Copies are found before the rows are written, so that each row is appended with its duplicate_of:
            # an UPDATE of rows just added rewrote them in the lake (a delete file and a data file more per batch).
            copies = find_copies(c, is_copy, prints, now, bands)
            for row in rows:
                row["duplicate_of"] = copies.get(row["url"])
        _append_articles(c, rows)
        _add_bands(c, bands)
        index_articles(c, [_index_row(row) for row in rows], now)
        queue_alerts(c, run_id, now, [row["url"] for row in rows if row["is_relevant"] and not row["duplicate_of"]])
        if articles:
            links = [(item.task.url, item.article.url) for item in articles]
            mark_entries_stored(c, links, now, [item.task.url for item in articles if item.task.failed_before])
        for failure in failures:
            record_failure(c, run_id, now, failure, max_attempts)
        return len(new_urls)

    return in_transaction(con, work)


def _article_row(**values: Any) -> dict[str, Any]:
    row = dict.fromkeys(SCHEMAS["articles"].names)
    row["is_seed"] = False
    row.update(values)
    return row


def _unstored(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose URL (the articles' key) is not stored yet. They are looked up first, and the others
    appended as they are: the INSERT then reads nothing (an anti-join in the INSERT read the articles table a
    second time)."""
    if not rows:
        return []
    found = with_batch(
        con,
        "urls",
        [{"url": row["url"]} for row in rows],
        "SELECT url FROM articles WHERE url IN (SELECT url FROM batch)",
    )
    stored = {url for (url,) in found}
    return [row for row in rows if row["url"] not in stored]


def _insert_articles(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the rows whose URL is not stored yet; returns those URLs."""
    new = _unstored(con, rows)
    _append_articles(con, new)
    return {row["url"] for row in new}


def _append_articles(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows whose URLs are known not to be stored (see _unstored)."""
    if rows:
        with_batch(con, "articles", rows, "INSERT INTO articles BY NAME SELECT * FROM batch")


def _index_row(row: dict[str, Any]) -> IndexRow:
    seen = row["published_at"] or row["first_seen_at"]
    return (row["url"], row["title"], row["text"], row["language"], False, row["source"], seen, row["first_seen_at"])


def _article_rows(run_id: str, now: datetime, items: Sequence[NewArticle]) -> list[dict[str, Any]]:
    """The articles table's rows for a batch, one per article URL."""
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
                page_published=a.published,
                **_score_columns(item.relevance),
            ),
        )
    return list(rows.values())


def add_seeds(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, seeds: Sequence[Seed]) -> int:
    """Load the seed documents once: seeds already present (by seed id) are left alone.

    Once every seed of `seeds` is stored, a mark holds the digest of their ids (warehouse/marks.py): later runs
    with the same seeds read no article."""
    digest = hashlib.sha256("\n".join(sorted(s.seed_id for s in seeds)).encode()).hexdigest()[:16]
    if marks.get(con, "seeds", digest) is not None:
        return 0
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
    added = len(in_transaction(con, lambda c: _insert_articles(c, rows))) if rows else 0
    marks.put(con, "seeds", marks.Mark(digest, 0, now), now)
    return added


# --- relevance -------------------------------------------------------------------------------------------


def articles_to_score(con: duckdb.DuckDBPyConnection, *, all_rows: bool = False) -> list[tuple[str, str | None, str]]:
    """(url, title, text) of the articles without a score (of every article with all_rows); without all_rows,
    only those after the mark 'unscored' (`settle`)."""
    if all_rows:
        return con.execute("SELECT url, title, text FROM articles ORDER BY url").fetchall()
    start = marks.since(con, "unscored")
    return con.execute(
        "SELECT url, title, text FROM articles WHERE relevance IS NULL AND ($since IS NULL OR first_seen_at >= $since)"
        " ORDER BY url",
        {"since": start},
    ).fetchall()


def settle(con: duckdb.DuckDBPyConnection, check: str, checked_at: datetime, now: datetime) -> None:
    """Record that the articles found by the check `check` ('unscored': articles_to_score, 'unfingerprinted':
    articles_without_fingerprint) at `checked_at` have all been dealt with (warehouse/marks.py)."""
    marks.advance(con, check, marks.since(con, check), marks.next_mark(checked_at), now)


def scored_otherwise(con: duckdb.DuckDBPyConnection, version: str, now: datetime | None = None) -> int:
    """How many articles hold a score made under another topic definition or scorer than `version`.

    The count of the articles before the mark 'scored_with' of `version` is the mark's; only the later ones are
    read. With `now`, the mark is moved up when it lags (a rescore forgets it: set_scores)."""

    def counts(c: duckdb.DuckDBPyConnection, since: datetime | None, proposed: datetime | None) -> tuple[int, int]:
        row = c.execute(
            "SELECT count(*), count(*) FILTER (WHERE first_seen_at < $proposed) FROM articles"
            " WHERE relevance IS NOT NULL AND scored_with IS DISTINCT FROM $version"
            " AND ($since IS NULL OR first_seen_at >= $since)",
            {"version": version, "since": since, "proposed": proposed},
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    return marks.counted(con, "scored_with", counts, now, value=version)


def set_scores(
    con: duckdb.DuckDBPyConnection, now: datetime, scores: Sequence[tuple[str, Relevance]], *, rescore: bool = False
) -> None:
    """Store relevance scores in one transaction. Scores forget the count of stories (story_count's mark), a
    `rescore` (scores that replace others) also that of the articles scored otherwise (scored_otherwise's)."""
    if not scores:
        return
    rows = [{"url": url, **_score_columns(relevance)} for url, relevance in scores]

    def work(c: duckdb.DuckDBPyConnection) -> None:
        with_batch(
            c,
            "scores",
            rows,
            "UPDATE articles SET relevance = batch.relevance, is_relevant = batch.is_relevant, "
            "relevance_terms = batch.relevance_terms, nearest_seed = batch.nearest_seed, "
            "relevance_why = batch.relevance_why, scored_with = batch.scored_with, "
            f"scored_at = '{now.isoformat()}'::TIMESTAMPTZ "
            "FROM batch WHERE articles.url = batch.url",
        )
        marks.forget(c, "stories")  # the count of relevant originals before it may change
        if rescore:
            marks.forget(c, "scored_with")

    in_transaction(con, work)  # keyed: a mark counted meanwhile from the scores before fails, and counts again


# --- duplicates ------------------------------------------------------------------------------------------


# A new article is compared with the articles first seen at most this long before it, and with the seed
# documents whatever their age. Syndicated copies (wire stories, press releases republished by other outlets) come
# out within hours or a few days of the original; a copy of a story older than this is stored as a story of its
# own. A bound on the work of each batch, not a measured property of the shared data (which holds no dated
# copies): the lookup reads the window's bands, 64 per article, so its cost follows the daily rate times the
# window (bench/scale.py's million articles over two years: ~1,400 a day, ~600,000 band rows in 7 days).
COPY_WINDOW_DAYS = 7
# The time a seed document's bands carry: always inside the window (migration 0011), whatever the seed's age.
SEED_BANDS_AT = datetime(9999, 12, 31, tzinfo=UTC)

Print = tuple[str, "Fingerprint", datetime]  # url, fingerprint, first_seen_at (SEED_BANDS_AT: a seed document)


def _bands(prints: Sequence[Print]) -> pa.Table:
    """The article_bands rows of `prints`, built column by column: one row per band, 64 an article (as a list of
    dicts, 17 ms per batch of 200 articles, made twice: for the copy lookup and for the insert)."""
    counts = [len(fp.bands) for _, fp, _ in prints]
    rows = pa.array([number for number, count in enumerate(counts) for _ in range(count)], pa.int32())
    schema = SCHEMAS["bands"]
    columns = [
        pa.array([url for url, _, _ in prints], pa.string()).take(rows),
        pa.array([band for count in counts for band in range(count)], pa.int16()),
        pa.array([value for _, fp, _ in prints for value in fp.bands], pa.int64()),
        pa.array([seen for _, _, seen in prints], schema.field("first_seen_at").type).take(rows),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _add_bands(con: duckdb.DuckDBPyConnection, bands: pa.Table) -> None:
    if bands.num_rows:
        with_table(con, bands, "INSERT INTO article_bands SELECT * FROM batch")


# Candidates share a band with a new article and were first seen in the window (seeds: SEED_BANDS_AT). The
# time filter is one plain comparison on the scan: DuckLake skips the files and row groups before the window.
_CANDIDATES = """
SELECT DISTINCT nb.url AS new_url, ob.url AS old_url
FROM batch nb
JOIN article_bands ob ON ob.band = nb.band AND ob.hash = nb.hash AND ob.url <> nb.url
WHERE ob.first_seen_at >= $since
"""
# The candidates' fingerprints: recent ones by time, seeds by is_seed, so that each scan prunes by its filter
# (neither reads the minhash column of the whole table).
_CANDIDATE_PRINTS = """
SELECT url, minhash, shingles, duplicate_of, first_seen_at FROM articles
WHERE first_seen_at >= $since AND url IN (SELECT old_url FROM candidates)
UNION ALL
SELECT url, minhash, shingles, duplicate_of, first_seen_at FROM articles
WHERE is_seed AND url IN (SELECT old_url FROM candidates)
"""


def find_copies(
    con: duckdb.DuckDBPyConnection,
    is_copy: CopyTest,
    prints: Sequence[Print],
    now: datetime,
    bands: pa.Table,
) -> dict[str, str]:
    """The new articles of `prints` (url, fingerprint, first seen; not stored yet) that are copies of one seen
    before them, in the last COPY_WINDOW_DAYS, among the seeds or earlier in the batch, each with its original.

    The original is the earliest article (first_seen_at, then url) that is itself no copy; articles of one
    batch are taken in that same order, so the first copy stored stays the original. `bands`: the bands of
    `prints` (_bands), which the caller inserts afterwards.
    """
    if not prints:
        return {}
    since = now - timedelta(days=COPY_WINDOW_DAYS)
    found = with_table(con, bands, _CANDIDATES, params={"since": since})
    pairs = {(new_url, old_url) for new_url, old_url in found}
    sharing: defaultdict[tuple[int, int], list[str]] = defaultdict(list)  # the batch's own bands
    for url, fp, _seen in prints:
        for band in enumerate(fp.bands):
            sharing[band].append(url)
    for urls in sharing.values():
        pairs.update((a, b) for a in urls for b in urls if a != b)
    if not pairs:
        return {}
    new = {url: (fp, seen) for url, fp, seen in prints}
    old: dict[str, tuple[Any, ...]] = {url: (fp.signature, fp.shingles, None, seen) for url, (fp, seen) in new.items()}
    stored = sorted({old_url for _, old_url in pairs if old_url not in new})
    if stored:
        con.register("candidates", pa.table({"old_url": pa.array(stored, pa.string())}))
        try:
            old |= {row[0]: row[1:] for row in con.execute(_CANDIDATE_PRINTS, {"since": since}).fetchall()}
        finally:
            con.unregister("candidates")
    ordered = sorted(
        ((new_url, old_url) for new_url, old_url in pairs if old_url in old),
        key=lambda p: (new[p[0]][1], p[0], old[p[1]][3], p[1]),
    )
    copies: dict[str, str] = {}
    for new_url, old_url in ordered:
        old_sig, old_size, old_original, old_seen = old[old_url]
        new_fp, new_seen = new[new_url]
        if new_url in copies or (old_seen, old_url) >= (new_seen, new_url):
            continue
        original = copies.get(old_url) or old_original or old_url
        if is_copy(new_fp.signature, new_fp.shingles, old_sig, old_size):
            copies[new_url] = original
    return copies


def articles_without_fingerprint(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(url, text) of articles never fingerprinted (seeds, rows from before fingerprints existed), after the
    mark 'unfingerprinted' (`settle`).

    Every fingerprinted row has `shingles` set (0 for a text too short to compare)."""
    return con.execute(
        "SELECT url, text FROM articles WHERE shingles IS NULL AND ($since IS NULL OR first_seen_at >= $since)"
        " ORDER BY url",
        {"since": marks.since(con, "unfingerprinted")},
    ).fetchall()


def set_fingerprints(con: duckdb.DuckDBPyConnection, fingerprints: Sequence[tuple[str, Fingerprint | None]]) -> None:
    """Store fingerprints (shingles = 0 marks a text too short to compare, so it is not tried again)."""
    if not fingerprints:
        return

    def work(c: duckdb.DuckDBPyConnection) -> None:
        # Another writer may have fingerprinted some meanwhile: their bands are not added twice.
        missing = {
            row[0]: SEED_BANDS_AT if row[1] else row[2]  # a seed's bands are always compared (migration 0011)
            for row in c.execute(
                "SELECT url, is_seed, first_seen_at FROM articles WHERE shingles IS NULL AND list_contains(?, url)",
                [[url for url, _ in fingerprints]],
            ).fetchall()
        }
        todo = [(url, fp) for url, fp in fingerprints if url in missing]
        if not todo:
            return
        rows = [
            {"url": url, "minhash": list(fp.signature) if fp else None, "shingles": fp.shingles if fp else 0}
            for url, fp in todo
        ]
        with_batch(
            c,
            "fingerprints",
            rows,
            "UPDATE articles SET minhash = batch.minhash, shingles = batch.shingles FROM batch "
            "WHERE articles.url = batch.url",
        )
        _add_bands(c, _bands([(url, fp, missing[url]) for url, fp in todo if fp is not None]))

    in_transaction(con, work)
