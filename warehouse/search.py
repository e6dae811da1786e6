"""The search index (BM25 over search_docs and search_terms) and the analyst's macros.

The index is plain tables, not DuckDB's fts extension: `PRAGMA create_fts_index` rebuilds everything each time
(and cannot run on DuckLake), and its tokeniser keeps nothing of Korean. `index_new_articles` adds only the
articles not yet indexed; ranking is computed in SQL at query time (warehouse/sql/macros.sql).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from extractors.tokens import document_postings, phrase_words, probes, query_words
from warehouse.db import in_transaction
from warehouse.lookup import article_columns

SQL = importlib.resources.files("warehouse") / "sql"
# Articles seen this long before the newest indexed one are checked again (and skipped when indexed): a run's
# articles carry its storing time, and a clock set back by less than this loses none of them.
WATERMARK_SLACK = "INTERVAL 1 DAY"
INDEX_BATCH = 2_000
# search_terms is rewritten sorted by term once the postings appended since the last compaction come from more
# than this share of the indexed articles (and at least COMPACT_MIN_DOCS of them): a lookup scans that unsorted
# tail whole. Measured with bench/analysis.py: at 100,000 articles a sorted index answers in a few ms where an
# unsorted one takes ~0.5 s; with a tail of at most a fifth, the rewrite happens after each fifth of growth,
# so each posting is rewritten about six times over the warehouse's life (1 + 1/1.2 + 1/1.2² + …).
COMPACT_FRACTION = 0.2
# compact_index sorts this many postings at a time. Measured on a copy of a bench/ingest.py warehouse grown to
# 14.4 M postings (50,000 articles' worth), one run each: one ORDER BY of everything +630 MiB of RSS, chunks of
# 1 M postings +252 MiB (of which the DELETE of the old rows ~100-170 MiB) in the same time (7.4 vs 6.8 s).
COMPACT_CHUNK_POSTINGS = 1_000_000
TERM_SPACE = 1 << 64  # search_terms.term is md5_number_upper: a UBIGINT
COMPACT_MIN_DOCS = 5_000  # articles tokenised per insert: bounds the memory of a first indexing of a big warehouse
# An article's text is also stored cut into passages of this many characters (search_passages, migration 0012),
# from which the search cuts its snippets: a Parquet row group of 2,048 passages then holds ~0.3 MB of text,
# where one of 2,048 articles holds ~4.5 MB, and a snippet costs what its row group costs to decode. Chosen with
# bench/analysis.py at 100,000 articles (a search's snippets: 47 ms at 128, 92 ms at 256, 264 ms from articles;
# docs/analysis.md). Migration 0013 cut the texts indexed before it the same way.
PASSAGE_CHARS = 128

# What the index takes of each article (read a batch at a time, by time: warehouse.lookup).
_FIELDS = "title, text, language, is_seed, source, coalesce(published_at, first_seen_at), first_seen_at"
_TERMS = pa.schema(
    [("doc", pa.int32()), ("term", pa.string()), ("tf", pa.int64()), ("positions", pa.list_(pa.int32()))]
)
_PASSAGES = pa.schema([("doc", pa.int32()), ("part", pa.int32()), ("passage", pa.string())])
_DOCS = pa.schema(
    [
        ("doc", pa.int32()),
        ("url", pa.string()),
        ("language", pa.string()),
        ("is_seed", pa.bool_()),
        ("source", pa.string()),
        ("seen_at", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("length", pa.int32()),
        ("first_seen_at", pa.timestamp("us", tz="UTC")),
        ("indexed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Register the query tokeniser and create the analyst's macros, for this connection only."""
    for name, function, arguments, returns in (
        ("newsmon_query_words", query_words, ["VARCHAR", "VARCHAR"], "VARCHAR[][]"),
        ("newsmon_probes", probes, ["VARCHAR"], "VARCHAR[]"),
        ("newsmon_phrase_words", phrase_words, ["VARCHAR"], "STRUCT(place INTEGER, spellings VARCHAR[])[]"),
    ):
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered yet
            con.remove_function(name)
        con.create_function(name, function, arguments, returns, null_handling="special")  # type: ignore[call-overload]
    con.execute((SQL / "macros.sql").read_text(encoding="utf-8"))


def _new_articles(con: duckdb.DuckDBPyConnection, *, everything: bool) -> list[tuple[Any, ...]]:
    # Articles are stored in time order: those seen since the newest indexed one (less WATERMARK_SLACK) sit in
    # the table's last row groups, which the scan alone reads (min/max statistics): the anti-join stays small.
    # everything=True checks every article (after a restore, or a clock that went back).
    mark = (
        None
        if everything
        else con.execute(f"SELECT max(first_seen_at) - {WATERMARK_SLACK} FROM search_docs").fetchone()
    )
    since = mark[0] if mark else None
    # Two spellings, not `$since IS NULL OR …`: DuckDB pushes only a plain comparison into the scan, and without
    # it every article's text is read (measured: 6.8 s instead of ~1 s per 1,000 new at 1,000,000 articles).
    recent = "" if since is None else " AND a.first_seen_at >= $since"
    recent_docs = "" if since is None else " AND d.first_seen_at >= $since"
    # Only the keys: the texts are read a batch at a time (index_new_articles), so a run's memory holds one
    # batch of texts, not every new article's (issue 12: a 10,000-page run).
    return con.execute(
        "SELECT a.url, a.first_seen_at"
        " FROM articles a"
        f" WHERE true{recent}"
        f" AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.url = a.url{recent_docs})"
        " ORDER BY a.first_seen_at, a.url",
        {"since": since} if since is not None else {},
    ).fetchall()


IndexRow = tuple[str, str | None, str, str | None, bool, str | None, datetime, datetime]
"""What the index reads of an article: url, title, text, language, is_seed, source, its day's time (published,
else first seen) and first_seen_at."""


def index_new_articles(con: duckdb.DuckDBPyConnection, *, everything: bool = False) -> int:
    """Add the articles that are not in the search index yet; returns how many."""
    new = _new_articles(con, everything=everything)
    if not new:
        return 0
    top = con.execute("SELECT coalesce(max(doc), 0) FROM search_docs").fetchone()
    next_doc = int(top[0]) + 1 if top else 1
    now = datetime.now(UTC)
    for start in range(0, len(new), INDEX_BATCH):
        chunk = [url for url, _ in new[start : start + INDEX_BATCH]]
        fields = article_columns(con, chunk, _FIELDS)
        rows = [(url, *fields[url]) for url in chunk if url in fields]
        batch = _postings(rows, next_doc, now)
        next_doc += len(rows)
        in_transaction(con, functools.partial(_insert_documents, batch=batch))
    if _tail_is_long(con):
        compact_index(con)
    return len(new)


def index_articles(c: duckdb.DuckDBPyConnection, rows: list[IndexRow], now: datetime) -> None:
    """Inside the transaction that stores these articles: index them too, so that a reader's snapshot that
    holds an article holds its postings (the pipeline's way; `index_new_articles` catches up on the rest)."""
    if rows:
        _insert_documents(c, _postings(rows, 1, now), new=True)


@dataclass(frozen=True)
class IndexBatch:
    """What a batch of articles adds to the index: search_docs rows, search_terms postings (terms as tokens,
    numbered in SQL) and search_passages rows."""

    docs: pa.Table
    terms: pa.Table
    passages: pa.Table


def _postings(rows: list[IndexRow] | list[tuple[Any, ...]], next_doc: int, now: datetime) -> IndexBatch:
    """The index rows of `rows`, numbered from next_doc."""
    docs: dict[str, list[Any]] = {name: [] for name in _DOCS.names}
    terms: dict[str, list[Any]] = {"doc": [], "term": [], "tf": [], "positions": []}
    passages: dict[str, list[Any]] = {"doc": [], "part": [], "passage": []}
    for url, title, text, language, is_seed, source, seen, first_seen in rows:
        postings, length = document_postings(title, text, language)
        day = seen.astimezone(UTC).date()
        values = (next_doc, url, language, is_seed, source, seen, day, length, first_seen, now)
        for name, value in zip(_DOCS.names, values, strict=True):
            docs[name].append(value)
        terms["doc"].extend([next_doc] * len(postings))
        terms["term"].extend(postings)
        for tf, where in postings.values():
            terms["tf"].append(tf)
            terms["positions"].append(where)
        cut = [text[i : i + PASSAGE_CHARS] for i in range(0, len(text), PASSAGE_CHARS)]
        passages["doc"].extend([next_doc] * len(cut))
        passages["part"].extend(range(len(cut)))
        passages["passage"].extend(cut)
        next_doc += 1
    return IndexBatch(
        pa.Table.from_pydict(docs, schema=_DOCS),
        pa.Table.from_pydict(terms, schema=_TERMS),
        pa.Table.from_pydict(passages, schema=_PASSAGES),
    )


def _insert_documents(c: duckdb.DuckDBPyConnection, batch: IndexBatch, *, new: bool = False) -> None:
    """Inside a keyed lake transaction: add a batch to the index. Another writer may have indexed some of these
    articles, or taken these document numbers, since they were numbered: the articles already indexed are
    dropped and the numbers shifted past the newest one. `new`: the articles were added by this transaction,
    so none can be indexed yet (search_docs is not read for them)."""
    c.register("doc_batch", batch.docs)
    c.register("term_batch", batch.terms)
    c.register("passage_batch", batch.passages)
    try:
        row = c.execute(
            "SELECT (SELECT coalesce(max(doc), 0) FROM search_docs) + 1 - (SELECT min(doc) FROM doc_batch)"
        ).fetchone()
        shift = max(int(row[0]), 0) if row and row[0] is not None else 0
        since = None if new else c.execute("SELECT min(first_seen_at) FROM doc_batch").fetchone()
        # An article indexed already has its row with its own first_seen_at: only rows from the batch's first
        # time on are compared (a plain comparison: the scan skips the older files).
        fresh = (
            "doc IN (SELECT doc FROM doc_batch WHERE url NOT IN "
            f"(SELECT url FROM search_docs WHERE first_seen_at >= '{since[0].isoformat()}'::TIMESTAMPTZ))"
            if since and since[0] is not None
            else "true"
        )
        # the term's number is computed here, vectorised (tokens.term_id is the same in Python)
        c.execute(
            "INSERT INTO search_terms (doc, term, tf, positions) SELECT doc + ?, md5_number_upper(term) AS id,"
            f" least(tf, 65535), positions FROM term_batch WHERE {fresh} ORDER BY id",
            [shift],
        )
        c.execute(
            f"INSERT INTO search_passages SELECT doc + ?, part, passage FROM passage_batch WHERE {fresh}", [shift]
        )
        c.execute(
            f"INSERT INTO search_docs BY NAME SELECT * REPLACE (doc + ? AS doc) FROM doc_batch WHERE {fresh}",
            [shift],
        )
    finally:
        for name in ("doc_batch", "term_batch", "passage_batch"):
            c.unregister(name)


def _tail_is_long(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT max(doc), (SELECT coalesce(max(through_doc), 0) FROM search_compactions) FROM search_docs"
    ).fetchone()
    if row is None or row[0] is None:
        return False
    top, sorted_through = int(row[0]), int(row[1])
    return top - sorted_through > max(COMPACT_MIN_DOCS, COMPACT_FRACTION * top)


def compact_index(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite search_terms sorted by term (no article is tokenised again); returns the postings."""

    def work(c: duckdb.DuckDBPyConnection) -> int:
        # One snapshot, so readers see the old order or the new one. The sorted copy is appended first and the
        # old rows deleted after, by row id (the committed rows' ids are below those the copy gets): DuckDB
        # sorts out of core within the connection's memory limit, where reading the postings into Python first
        # held them all in memory (5 GB at a million articles). A time-travel read of the table after deleting
        # its rows in the same transaction sees none of them (DuckLake 1.5.5), hence this order.
        row = c.execute("SELECT max(rowid), count(*) FROM search_terms").fetchone()
        top, postings = (row[0], int(row[1])) if row else (None, 0)
        if top is None:
            return 0
        # Sorted a range of term numbers at a time (they are md5 hashes: ranges of equal width hold equal
        # shares), appended in range order: the same table as one ORDER BY, but one sort holds a chunk. One
        # ORDER BY of everything grew the process by 630 MiB at 14.4 M postings, whatever DuckDB's memory limit.
        chunks = max(1, math.ceil(postings / COMPACT_CHUNK_POSTINGS))
        width = TERM_SPACE // chunks
        for number in range(chunks):
            upper = "" if number == chunks - 1 else " AND term < $hi"
            c.execute(
                f"INSERT INTO search_terms SELECT * FROM search_terms WHERE rowid <= $top AND term >= $lo{upper}"
                " ORDER BY term, doc",
                {"top": top, "lo": number * width} | ({"hi": (number + 1) * width} if upper else {}),
            )
        c.execute("DELETE FROM search_terms WHERE rowid <= ?", [top])
        c.execute("INSERT INTO search_compactions SELECT (SELECT max(doc) FROM search_docs), ?, now()", [postings])
        return postings

    return in_transaction(con, work)


def stored_languages(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The languages of the indexed articles (ISO codes), sorted: what `search --lang` can filter on."""
    rows = con.execute("SELECT DISTINCT language FROM search_docs WHERE language IS NOT NULL ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows]


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _result(relation: duckdb.DuckDBPyConnection) -> Result:
    columns = [d[0] for d in relation.description or []]
    return Result(columns, relation.fetchall())


def search(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    language: str | None = None,
    since: date | None = None,
    limit: int = 20,
) -> Result:
    """Ranked articles for `query` (BM25), with a snippet; the macros must be defined on `con`."""
    return _result(
        con.execute(
            "SELECT * FROM search_articles($q, lang := $lang, since := $since, lim := $lim)",
            {"q": query, "lang": language, "since": since, "lim": limit},
        )
    )


def term_trends(con: duckdb.DuckDBPyConnection, terms: list[str]) -> Result:
    """Per day and term: the articles using it and their outlets."""
    return _result(con.execute("SELECT * FROM term_trends($terms)", {"terms": terms}))


def first_reports(con: duckdb.DuckDBPyConnection, term: str, limit: int = 10) -> Result:
    """The outlets that used `term` first, with their first article using it."""
    return _result(con.execute("SELECT * FROM first_reports($term, lim := $lim)", {"term": term, "lim": limit}))
