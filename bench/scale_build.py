"""Build a big warehouse for bench/scale.py, stored as the pipeline stores it (a DuckLake through warehouse.db).

N articles over the two years before now, in English (50%), Korean (30%), German (10%) and Vietnamese (10%),
each 4-10 paragraphs drawn from the shared corpora of its language and of one label (the topic articles; for
English also the scrapinghub bodies): on 25% (the relevant ones), near 35%, off 40%. 3% are syndicated copies
of an article seen shortly before (same text, same fingerprint, `duplicate_of` set). Around them, as the
pipeline leaves them: one stored entry per article in 20 feeds (plus 3% entries whose page failed for good, with
their page_failures rows), a fingerprint (128 MinHash values) and 64 article_bands rows per article, an alert
per relevant original and its delivery to one recipient, a run per 100 articles, a search_docs row per
article. Not built: the search postings (search_terms; appending a run's postings does not read them, and a
million articles' postings take 30 minutes to compose; docs/analysis.md measures them), so the file size per
1,000 articles leaves them out.

The seed documents come first, through a real `newsmon run` with no feeds (bench/scale.py), so that the
relevance version, the seeds' fingerprints and the search index are the product's own. Built in SQL, in
chunks, so that a million articles fit in memory; each chunk's rows are in time order, as a run stores them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pyarrow as pa

from bench.analysis import paragraphs

CHUNK = 50_000  # articles per statement: bounds the build's memory at a million
FEEDS = 20
RECIPIENT = "analyst@example.org"
SPAN_SECONDS = 730 * 86_400  # two years of history, ending an hour before the build


def load_pool(con: duckdb.DuckDBPyConnection) -> None:
    numbered: Counter[tuple[str, str]] = Counter()
    pool: dict[str, list[Any]] = {"lang": [], "label": [], "idx": [], "para": []}
    for language, label, text in paragraphs():
        for name, value in zip(pool, (language, label, numbered[(language, label)], text), strict=True):
            pool[name].append(value)
        numbered[(language, label)] += 1
    pool_table = pa.table(pool)  # noqa: F841  (read by name below)
    con.execute("CREATE OR REPLACE TEMP TABLE pool AS SELECT * FROM pool_table")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pool_sizes AS SELECT lang, label, count(*) AS size FROM pool GROUP BY ALL"
    )


# One chunk of articles, ids $start..$end-1 of $total, every column the pipeline writes. A copy (3%) takes its
# text, language, label and fingerprint from an earlier id (s: the id whose text it carries).
_CHUNK = """
CREATE OR REPLACE TEMP TABLE chunk AS
WITH ids AS (
    SELECT i, CASE WHEN hash(i, 'copy') % 100 < 3 AND i > 60 THEN i - 1 - (hash(i, 'of') % 50)::BIGINT END AS of_i
    FROM range($start, $end) t(i)
),
kinds AS (
    SELECT i, of_i, coalesce(of_i, i) AS s,
        CASE WHEN hash(coalesce(of_i, i), 'lang') % 100 < 50 THEN 'en'
             WHEN hash(coalesce(of_i, i), 'lang') % 100 < 80 THEN 'ko'
             WHEN hash(coalesce(of_i, i), 'lang') % 100 < 90 THEN 'de' ELSE 'vi' END AS lang,
        CASE WHEN hash(coalesce(of_i, i), 'label') % 100 < 25 THEN 'on'
             WHEN hash(coalesce(of_i, i), 'label') % 100 < 60 THEN 'near' ELSE 'off' END AS label,
        (4 + hash(coalesce(of_i, i), 'n') % 7)::BIGINT AS n
    FROM ids
),
parts AS (
    SELECT k.i, k.k, hash(k.s, k.k) % z.size AS idx, k.lang, k.label
    FROM (SELECT *, unnest(range(n)) AS k FROM kinds) AS k
    JOIN pool_sizes z ON z.lang = k.lang AND z.label = k.label
),
texts AS (
    SELECT p.i, string_agg(o.para, chr(10) ORDER BY p.k) AS text, arg_min(o.para, p.k) AS lead
    FROM parts p JOIN pool o ON o.lang = p.lang AND o.label = p.label AND o.idx = p.idx
    GROUP BY p.i
)
SELECT
    k.i, k.s, k.lang, k.label,
    'https://news' || hash(k.i, 'outlet') % 40 || '.' || k.lang || '.example/' || k.i AS url,
    CASE WHEN k.of_i IS NOT NULL THEN 'https://news' || hash(k.of_i, 'outlet') % 40 || '.' || k.lang || '.example/'
         || k.of_i END AS duplicate_of,
    left(t.lead, 90) AS title,
    t.text,
    upper(k.lang) || ' outlet ' || hash(k.i, 'outlet') % 40 AS source,
    $end_at - to_seconds(((($total - k.i) * $span) // greatest($total, 1))::BIGINT) AS first_seen_at,
    'http://127.0.0.1:' || $port || '/feed' || k.i % $feeds || '.xml' AS feed_url,
    'run-' || k.i // 100 AS run_id,
    CASE WHEN k.label = 'on' THEN 0.6 + (hash(k.i) % 40) / 100 ELSE (hash(k.i) % 40) / 100 END AS relevance
FROM kinds k JOIN texts t ON t.i = k.i
ORDER BY k.i
"""

_ARTICLES = """
INSERT INTO articles BY NAME
SELECT url, title, source, NULL AS author, first_seen_at - INTERVAL 3 HOUR AS published_at, lang AS language,
    left(text, 160) AS description, text, false AS is_seed, first_seen_at, feed_url, url AS entry_link,
    url AS fetched_url, run_id, relevance, label = 'on' AS is_relevant,
    CASE WHEN label = 'on' THEN ['russia', 'north korea', 'troops'] ELSE ['russia'] END AS relevance_terms,
    $seed AS nearest_seed,
    CASE WHEN label = 'on' THEN 'Russia and North Korea together in ' || 2 + hash(i) % 9 || ' sentence(s)'
         ELSE 'one side only' END AS relevance_why,
    $version AS scored_with, first_seen_at AS scored_at, duplicate_of,
    list_transform(range(128), p -> (hash(s, p) % 4294967296)::UINTEGER) AS minhash,
    len(string_split(text, ' ')) - 4 AS shingles,
    (first_seen_at - INTERVAL 3 HOUR)::DATE AS page_published
FROM chunk
"""

_STATEMENTS = [
    # the entry that brought each article, and 3% entries whose page failed for good
    """
    INSERT INTO entries BY NAME
    SELECT feed_url, url AS entry_key, url AS link, url AS canonical_link, title, left(text, 200) AS summary,
        first_seen_at - INTERVAL 3 HOUR AS published_at, first_seen_at - INTERVAL 5 MINUTE AS first_seen_at, run_id,
        'stored' AS state, url AS article_url
    FROM chunk
    UNION ALL
    SELECT feed_url, url || '-gone' AS entry_key, url || '-gone', url || '-gone', title, NULL, NULL,
        first_seen_at - INTERVAL 5 MINUTE, run_id, 'failed', NULL
    FROM chunk WHERE hash(i, 'fail') % 100 < 3
    """,
    """
    INSERT INTO page_failures BY NAME
    SELECT url || '-gone' AS url, feed_url, 'HTTP 404' AS reason, 404 AS http_status, 3 AS attempts,
        first_seen_at AS first_failed_at, first_seen_at + INTERVAL 2 HOUR AS last_failed_at, run_id
    FROM chunk WHERE hash(i, 'fail') % 100 < 3
    """,
    # 64 bands per fingerprint; a copy's bands are its original's (s); each with its article's time
    """
    INSERT INTO article_bands BY NAME
    SELECT url, b::SMALLINT AS band, (hash(s, 'band', b) >> 1)::BIGINT AS hash, first_seen_at
    FROM chunk, range(64) t(b) ORDER BY i, b
    """,
    """
    INSERT INTO alerts BY NAME
    SELECT url, first_seen_at AS created_at, run_id, first_seen_at + INTERVAL 1 MINUTE AS claimed_at
    FROM chunk WHERE label = 'on' AND duplicate_of IS NULL
    """,
    """
    INSERT INTO alert_deliveries BY NAME
    SELECT url, $recipient AS recipient, 'sent' AS state, '<' || run_id || '@bench.example>' AS message_id,
        first_seen_at + INTERVAL 1 MINUTE AS started_at, first_seen_at + INTERVAL 2 MINUTE AS sent_at
    FROM chunk WHERE label = 'on' AND duplicate_of IS NULL
    """,
    """
    INSERT INTO search_docs BY NAME
    SELECT $doc0 + i + 1 AS doc, url, lang AS language, false AS is_seed, source,
        first_seen_at - INTERVAL 3 HOUR AS seen_at, (first_seen_at - INTERVAL 3 HOUR)::DATE AS day,
        len(string_split(text, ' ')) AS length, first_seen_at, first_seen_at AS indexed_at
    FROM chunk
    """,
    """
    INSERT INTO runs BY NAME
    SELECT run_id, min(first_seen_at) - INTERVAL 10 MINUTE AS started_at, max(first_seen_at) AS finished_at,
        $feeds AS feeds_polled, count(*)::INTEGER AS entries_new, count(*)::INTEGER AS pages_fetched,
        count(*)::INTEGER AS articles_stored
    FROM chunk GROUP BY run_id
    """,
]


def build(con: duckdb.DuckDBPyConnection, articles: int, *, port: int, end_at: Any, log: Any = print) -> None:
    """Add `articles` articles (and all that goes with them) to the warehouse on `con`, which holds the seeds."""
    row = con.execute(
        "SELECT any_value(scored_with), any_value(seed_id), (SELECT coalesce(max(doc), 0) FROM search_docs) "
        "FROM articles WHERE is_seed"
    ).fetchone()
    assert row is not None and row[0] is not None, "the seeds come first (a run with no feeds)"
    version, seed, doc0 = row
    load_pool(con)
    common = {"total": articles, "span": SPAN_SECONDS, "end_at": end_at, "port": port, "feeds": FEEDS}
    for low in range(0, articles, CHUNK):
        con.execute(_CHUNK, {**common, "start": low, "end": min(low + CHUNK, articles)})
        con.execute(_ARTICLES, {"seed": seed, "version": version})
        for statement in _STATEMENTS:
            names = [n for n in ("recipient", "doc0", "feeds") if f"${n}" in statement]
            values = {"recipient": RECIPIENT, "doc0": doc0, "feeds": FEEDS}
            con.execute(statement, {n: values[n] for n in names})
        log(f"  built {min(low + CHUNK, articles):,} of {articles:,} articles")
    con.execute("DROP TABLE IF EXISTS chunk")
    # The postings are not built (see the module's docstring): the index counts as compacted, as after a
    # compaction, so that no run rewrites it.
    con.execute("INSERT INTO search_compactions SELECT max(doc), 0, now() FROM search_docs")


def add_feeds(con: duckdb.DuckDBPyConnection, port: int, etag: str) -> list[str]:
    """The bench's 20 feeds, as after a successful poll that sent `etag` (so that a poll may answer 304)."""
    urls = [f"http://127.0.0.1:{port}/feed{j}.xml" for j in range(FEEDS)]
    con.execute(
        "INSERT INTO feeds (url, name, title, etag, last_checked_at, next_check_at, last_status, consecutive_errors,"
        " added_at) SELECT unnest(?::VARCHAR[]), NULL, 'Feed', ?, now() - INTERVAL 1 HOUR,"
        " now() - INTERVAL 1 HOUR, 200, 0, now() - INTERVAL 730 DAY",
        [urls, etag],
    )
    return urls
