"""Analysis benchmark: the documented views, macros and searches on a big warehouse, and what keeping the search
index current costs.

The warehouse: N articles over two years (2024-2025) in English (50%), Korean (30%), German (10%) and
Vietnamese (10%), each 4-10 paragraphs drawn from the shared corpora of its language (the topic articles; for
English also the scrapinghub bodies) and of one label (on 25%, near 35%, off 40%: on-topic articles are the
relevant ones), 40 outlets per language, 20 feeds, 3% syndicated copies, one entry per article, a run per 100.
Built in SQL, so that a million articles fit in memory. The base index is composed from each paragraph's term
counts (tokenised by extractors/tokens.py, exactly as index_new_articles would count the text; titles are not
counted twice here), and the texts cut into search passages as the pipeline cuts them; then a run adds 1,000
articles and `index_new_articles` indexes them for real, timed.

Every query is timed as the best of 3 (the machine is shared; the figures are noisy), with a baseline
(`SELECT count(*) FROM articles`) measured in the same run.

Usage: .venv/bin/python -m bench.analysis [--articles 100000] [--dir DIR] [--keep]
       .venv/bin/python -m bench.analysis --queries-only DIR/bench-100000   (again, on a kept warehouse)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bench.relevance import _article
from extractors.tokens import places, term_id
from warehouse.db import CATALOG_NAME, checkpoint, connect, file_count, transaction
from warehouse.search import PASSAGE_CHARS, compact_index, define_macros, index_new_articles

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NEW_ARTICLES = 1_000
CHUNK = 50_000  # articles generated and indexed per statement: bounds the memory of a million

# The documented queries (docs/analysis.md) and macros, as an analyst runs them.
QUERIES = {
    "baseline: count(*) FROM articles": "SELECT count(*) FROM articles",
    "relevant_articles, latest 50": "SELECT * FROM relevant_articles ORDER BY day DESC LIMIT 50",
    "relevant_articles, count": "SELECT count(*) FROM relevant_articles",
    "stories, latest 20": "SELECT * FROM stories ORDER BY day DESC, url LIMIT 20",
    "stories with copies": "SELECT count(*), sum(copies) FROM stories WHERE copies > 0",
    "daily_volume, all": "SELECT * FROM daily_volume",
    "sources, all": "SELECT * FROM sources",
    "feed_health, all": "SELECT * FROM feed_health",
    "runs, latest 10": "SELECT * FROM runs ORDER BY started_at DESC LIMIT 10",
    "search_articles('Kursk troops')": "SELECT * FROM search_articles('Kursk troops')",
    "search_articles('North Korea Russia treaty')": "SELECT * FROM search_articles('North Korea Russia treaty')",
    "search_articles('파병', lang := 'ko')": "SELECT * FROM search_articles('파병', lang := 'ko')",
    "search_articles('Truppen Russland')": "SELECT * FROM search_articles('Truppen Russland')",
    "search_articles('Triều Tiên', since := 2025-06-01)": (
        "SELECT * FROM search_articles('Triều Tiên', since := '2025-06-01')"
    ),
    "term_trends(['Kursk', 'Article 4', '파병'])": "SELECT * FROM term_trends(['Kursk', 'Article 4', '파병'])",
    "first_reports('Kursk')": "SELECT * FROM first_reports('Kursk')",
}


def paragraphs() -> list[tuple[str, str, str]]:
    """(language, label, paragraph) from the topic articles and, for English, the scrapinghub bodies."""
    found = []
    with (SHARED / "topic" / "articles.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            _, text = _article(SHARED / "topic" / "articles" / row["file"])
            for line in text.splitlines():
                if len(line.strip()) >= 40 and not line.startswith(("![", "---", "- **")):
                    found.append((row["lang"], row["label"], line.strip()))
    truth = json.loads((SHARED / "extraction" / "scrapinghub" / "ground-truth.json").read_text(encoding="utf-8"))
    for item in truth.values():
        found += [("en", "off", p.strip()) for p in item["articleBody"].splitlines() if len(p.strip()) >= 40]
    return found


def _load_pool(con: duckdb.DuckDBPyConnection) -> None:
    rows = paragraphs()
    numbered: Counter[tuple[str, str]] = Counter()
    pool: dict[str, list[Any]] = {"lang": [], "label": [], "idx": [], "para": [], "places": []}
    terms: dict[str, list[Any]] = {"lang": [], "label": [], "idx": [], "term": [], "tf": [], "positions": []}
    for language, label, text in rows:
        idx = numbered[(language, label)]
        numbered[(language, label)] += 1
        found, width = places(text, language)
        for name, value in zip(pool, (language, label, idx, text, width), strict=True):
            pool[name].append(value)
        for term, where in found.items():
            for name, value in zip(terms, (language, label, idx, term_id(term), len(where), where), strict=True):
                terms[name].append(value)
    pool_table = pa.table(pool)  # noqa: F841  (read by name below)
    term_table = pa.table(  # noqa: F841
        {
            **terms,
            "term": pa.array(terms["term"], pa.uint64()),
            "tf": pa.array(terms["tf"], pa.int32()),
            "positions": pa.array(terms["positions"], pa.list_(pa.int32())),
        }
    )
    con.execute("CREATE TEMP TABLE pool AS SELECT * FROM pool_table")
    con.execute("CREATE TEMP TABLE pool_terms AS SELECT * FROM term_table")
    con.execute("CREATE TEMP TABLE pool_sizes AS SELECT lang, label, count(*) AS size FROM pool GROUP BY ALL")


# One article per id, in time order. A copy (3%) takes its text, language and label from an earlier id.
_ARTICLE_PARTS = """
CREATE OR REPLACE TEMP TABLE parts AS
WITH ids AS (SELECT i,
                    CASE WHEN hash(i, 'copy') % 100 < 3 AND i > 60 THEN i - 1 - (hash(i, 'of') % 50)::BIGINT END AS of_i
             FROM range($start, $end) t(i)),
base AS (
    SELECT i, of_i, coalesce(of_i, i) AS s FROM ids
),
kinds AS (
    SELECT i, of_i, s,
        CASE WHEN hash(s, 'lang') % 100 < 50 THEN 'en' WHEN hash(s, 'lang') % 100 < 80 THEN 'ko'
             WHEN hash(s, 'lang') % 100 < 90 THEN 'de' ELSE 'vi' END AS lang,
        CASE WHEN hash(s, 'label') % 100 < 25 THEN 'on' WHEN hash(s, 'label') % 100 < 60 THEN 'near' ELSE 'off' END
            AS label,
        (4 + hash(s, 'n') % 7)::BIGINT AS n
    FROM base
)
SELECT k.i, k.of_i, k.lang, k.label, p.k, hash(k.s, p.k) % z.size AS idx
FROM (SELECT *, unnest(range(n)) AS k FROM kinds) AS p
JOIN kinds k ON k.i = p.i
JOIN pool_sizes z ON z.lang = k.lang AND z.label = k.label
"""

_ADD_ARTICLES = """
INSERT INTO articles BY NAME
WITH texts AS (
    SELECT p.i, any_value(p.of_i) AS of_i, any_value(p.lang) AS lang, any_value(p.label) AS label,
        string_agg(o.para, chr(10) ORDER BY p.k) AS text, arg_min(o.para, p.k) AS lead
    FROM parts p JOIN pool o ON o.lang = p.lang AND o.label = p.label AND o.idx = p.idx
    GROUP BY p.i
),
timed AS (
    SELECT *, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((i * $span / $total)::BIGINT) AS published
    FROM texts
)
SELECT
    'https://news' || hash(i, 'outlet') % 40 || '.' || lang || '.example/' || i AS url,
    left(lead, 90) AS title,
    upper(lang) || ' outlet ' || hash(i, 'outlet') % 40 AS source,
    published AS published_at,
    lang AS language,
    text,
    false AS is_seed,
    published + to_seconds((600 + hash(i, 'delay') % 20000)::BIGINT) AS first_seen_at,
    'https://feeds.example/' || hash(i, 'feed') % 20 || '.xml' AS feed_url,
    'run-' || i // 100 AS run_id,
    CASE WHEN label = 'on' THEN 0.6 + (hash(i) % 40) / 100 ELSE (hash(i) % 40) / 100 END AS relevance,
    label = 'on' AS is_relevant,
    CASE WHEN label = 'on' THEN 'Russia and North Korea together in ' || 2 + hash(i) % 9 || ' sentence(s)'
         ELSE 'one side only' END AS relevance_why,
    CASE WHEN of_i IS NOT NULL THEN 'https://news' || hash(of_i, 'outlet') % 40 || '.' || lang || '.example/' || of_i
         END AS duplicate_of,
    published + to_seconds((700 + hash(i, 'delay') % 20000)::BIGINT) AS scored_at
FROM timed
ORDER BY first_seen_at, url  -- stored in the order the pipeline stores them: by when they were seen
"""

_ADD_ENTRIES = """
INSERT INTO entries BY NAME
SELECT feed_url, url AS entry_key, url AS link, url AS canonical_link, title, published_at, first_seen_at, run_id,
    'stored' AS state, url AS article_url
FROM articles WHERE first_seen_at > $since
"""

# A chunk's postings, then its documents with their length (a DuckLake UPDATE would rewrite search_docs whole).
# A paragraph's places follow those of the paragraphs before it (the text joins them with newlines, which no
# token spans). A posting's places come in no particular order (the macros need none): ordering them in the
# aggregate took 63 s per chunk of 50,000 articles, against 14.5 s.
_CHUNK_TERMS = """
CREATE OR REPLACE TEMP TABLE chunk_terms AS
WITH placed AS (
    SELECT p.i, p.k, p.lang, p.label, p.idx,
        coalesce(sum(o.places) OVER (PARTITION BY p.i ORDER BY p.k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                 0)::INTEGER AS shift
    FROM parts p JOIN pool o ON o.lang = p.lang AND o.label = p.label AND o.idx = p.idx
)
SELECT p.i + 1 AS doc, t.term, sum(t.tf)::USMALLINT AS tf,
    flatten(list(list_transform(t.positions, x -> x + p.shift))) AS positions
FROM placed p JOIN pool_terms t ON t.lang = p.lang AND t.label = p.label AND t.idx = p.idx
GROUP BY p.i, t.term
"""
_INDEX_BASE = """
INSERT INTO search_terms BY NAME SELECT * FROM chunk_terms;
INSERT INTO search_docs BY NAME
SELECT p.i + 1 AS doc, a.url, a.language, false AS is_seed, a.source,
    coalesce(a.published_at, a.first_seen_at) AS seen_at,
    coalesce(a.published_at, a.first_seen_at)::DATE AS day, l.length, a.first_seen_at, now() AS indexed_at
FROM (SELECT DISTINCT i, lang FROM parts) p
JOIN (SELECT doc, sum(tf)::INTEGER AS length FROM chunk_terms GROUP BY doc) l ON l.doc = p.i + 1
JOIN articles a ON a.url = 'https://news' || hash(p.i, 'outlet') % 40 || '.' || p.lang || '.example/' || p.i;
"""
# The chunk's texts cut into passages (as warehouse.search._postings and migration 0013 cut them).
_INDEX_PASSAGES = f"""
INSERT INTO search_passages
SELECT doc, part, substr(text, part * {PASSAGE_CHARS} + 1, {PASSAGE_CHARS})
FROM (
    SELECT d.doc, a.text, unnest(range(0, (length(a.text) + {PASSAGE_CHARS - 1}) // {PASSAGE_CHARS})) AS part
    FROM search_docs d JOIN articles a ON a.first_seen_at = d.first_seen_at AND a.url = d.url
    WHERE d.doc > $low AND d.doc <= $high
)
ORDER BY doc, part
"""


def add_articles(con: duckdb.DuckDBPyConnection, start: int, end: int, total: int) -> None:
    """Articles start..end-1 of `total` (spread over two years), with their entries."""
    for low in range(start, end, CHUNK):
        con.execute(_ARTICLE_PARTS, {"start": low, "end": min(low + CHUNK, end)})
        since = con.execute("SELECT coalesce(max(first_seen_at), '-infinity'::TIMESTAMPTZ) FROM articles").fetchone()
        con.execute(_ADD_ARTICLES, {"span": 730 * 86_400, "total": total})
        con.execute(_ADD_ENTRIES, {"since": since[0] if since else None})


def index_composed(con: duckdb.DuckDBPyConnection, articles: int) -> None:
    """The base index, composed from the paragraphs' term counts (see the module's docstring)."""
    for low in range(0, articles, CHUNK):
        con.execute(_ARTICLE_PARTS, {"start": low, "end": min(low + CHUNK, articles)})
        con.execute(_CHUNK_TERMS)
        with transaction(con):
            con.execute(_INDEX_BASE)
            con.execute(_INDEX_PASSAGES, {"low": low, "high": min(low + CHUNK, articles)})


def _finish(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO feeds (url, name, last_checked_at, next_check_at, last_status, consecutive_errors, last_error,"
        " added_at) SELECT 'https://feeds.example/' || i || '.xml', 'Feed ' || i, TIMESTAMPTZ '2026-01-01',"
        " TIMESTAMPTZ '2026-01-01 00:30:00+00', CASE WHEN i < 2 THEN 503 ELSE 200 END, CASE WHEN i < 2 THEN 3 ELSE 0"
        " END, CASE WHEN i < 2 THEN 'HTTP 503' END, TIMESTAMPTZ '2024-01-01' FROM range(20) t(i)"
    )
    con.execute(
        "INSERT INTO runs (run_id, started_at, finished_at, articles_stored)"
        " SELECT run_id, min(first_seen_at), max(first_seen_at), count(*) FROM articles GROUP BY run_id"
    )


def _best_of(con: duckdb.DuckDBPyConnection, sql: str, times: int = 3) -> tuple[float, int]:
    best = float("inf")
    rows = 0
    for _ in range(times):
        started = time.perf_counter()
        rows = len(con.execute(sql).fetchall())
        best = min(best, time.perf_counter() - started)
    return best, rows


def _disk_mb(where: Path) -> float:
    """The warehouse's size on disk: the catalog and every Parquet file under its directory."""
    return round(sum(p.stat().st_size for p in where.rglob("*") if p.is_file()) / 1e6, 1)


def _maintain(con: duckdb.DuckDBPyConnection) -> None:
    """The pipeline's maintenance (warehouse.db.checkpoint: merge small files), then what it leaves once its
    day of retention has passed: old snapshots expired and the files only they used deleted."""
    checkpoint(con)
    con.execute(f"CALL ducklake_expire_snapshots('{CATALOG_NAME}', older_than => now())")
    con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG_NAME}', cleanup_all => true)")


def measure(where: Path, articles: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"articles": articles}
    con = connect(where)  # the lake as the pipeline opens it (warehouse.db): SQLite catalog, Parquet data
    con.execute("SET threads = 2")  # building is no run: all of this machine's cores
    con.execute("SET memory_limit = '6GB'")  # a shared machine: the sorts of a million articles spill to disk
    con.execute(f"SET temp_directory = '{where.parent / (where.name + '.tmp')}'")  # not the working directory
    started = time.perf_counter()
    _load_pool(con)
    add_articles(con, 0, articles, articles)
    _finish(con)
    _maintain(con)
    figures["build_articles_s"] = round(time.perf_counter() - started, 1)
    figures["disk_mb_without_index"] = _disk_mb(where)
    started = time.perf_counter()
    index_composed(con, articles)
    figures["build_index_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    compact_index(con)
    _maintain(con)
    figures["compact_index_s"] = round(time.perf_counter() - started, 1)
    figures["disk_mb"] = _disk_mb(where)
    postings = con.execute("SELECT count(*) FROM search_terms").fetchone()
    figures["postings"] = postings[0] if postings else 0
    figures["files"] = file_count(con)
    groups = con.execute(
        f"SELECT count(DISTINCT (file_name, row_group_id)), max(row_group_num_rows)"
        f" FROM parquet_metadata('{where / 'data' / 'main' / 'articles'}/*.parquet')"
    ).fetchone()
    figures["articles_row_groups"], figures["articles_rows_per_group_max"] = groups if groups else (0, 0)
    # A run adds 1,000 articles (the days after the base)
    add_articles(con, articles, articles + NEW_ARTICLES, articles)
    con.close()

    # ... and brings the index up to date on the pipeline's own connection (one thread, 512 MB: warehouse.db).
    pipeline = connect(where)
    started = time.perf_counter()
    added = index_new_articles(pipeline)
    figures["index_1000_new_s"] = round(time.perf_counter() - started, 2)
    figures["index_1000_new_added"] = added
    started = time.perf_counter()
    index_new_articles(pipeline)
    figures["index_nothing_new_s"] = round(time.perf_counter() - started, 3)
    pipeline.close()

    figures["queries"] = time_queries(where)
    return figures


def time_queries(where: Path) -> dict[str, Any]:
    """Every documented query on an analyst's connection (read-only, DuckDB's defaults, the macros)."""
    analyst = connect(where, read_only=True)
    define_macros(analyst)
    figures = {}
    for name, sql in QUERIES.items():
        seconds, rows = _best_of(analyst, sql)
        figures[name] = {"seconds": round(seconds, 3), "rows": rows}
        print(f"  {name:55s} {seconds * 1000:8.1f} ms  {rows:6d} rows", flush=True)
    analyst.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="where to build the warehouse (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--queries-only", type=Path, metavar="LAKE", help="time the queries on a kept warehouse")
    args = parser.parse_args()
    if args.queries_only:
        print(f"analysis bench: the queries on {args.queries_only} (load {os.getloadavg()[0]:.1f})", flush=True)
        time_queries(args.queries_only)
        return 0
    where = Path(args.dir or tempfile.mkdtemp(prefix="newsmon-bench-"))
    where.mkdir(parents=True, exist_ok=True)
    lake = where / f"bench-{args.articles}"
    shutil.rmtree(lake, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"analysis bench: {args.articles:,} articles in the DuckLake {lake} (load {load:.1f})", flush=True)
    try:
        figures = measure(lake, args.articles)
    finally:
        if not args.keep:
            shutil.rmtree(lake if args.dir else where, ignore_errors=True)
    print(json.dumps({k: v for k, v in figures.items() if k != "queries"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
