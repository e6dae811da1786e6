"""The analyst's side of the warehouse: a connection with the macros, free SQL, Parquet export, the report's
figures. Every query reads the documented relations by their bare names (the session's catalog)."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from extractors.report_html import LatestStory, ReportData
from warehouse.db import WarehouseError, WarehouseSpec, connect
from warehouse.search import define_macros, term_trends

# Exported whole, one Parquet file each (articles go by month, see export_parquet).
EXPORTED = (
    "entries",
    "feeds",
    "runs",
    "alerts",
    "alert_deliveries",
    "page_failures",
    "relevant_articles",
    "stories",
    "daily_volume",
    "sources",
    "feed_health",
)


def open_for_analysis(path: str | Path | WarehouseSpec) -> duckdb.DuckDBPyConnection:
    """The warehouse read-only, with the search functions and macros defined (see warehouse/sql/macros.sql)."""
    con = connect(path, read_only=True)
    known = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    if 8 not in known:
        con.close()
        raise WarehouseError(f"the warehouse {path} predates the analysis views: `newsmon index` adds them")
    define_macros(con)
    return con


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, *, max_rows: int = 40, max_width: int = 160) -> str:
    """The result of the analyst's own query, drawn as DuckDB's shell draws it ("" for a statement)."""
    relation = con.sql(sql)
    if relation is None:
        return ""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        relation.show(max_rows=max_rows, max_width=max_width)
    return buffer.getvalue()


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(con: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, int]:
    """Write the analyst's relations to `directory` as Parquet; returns the rows written per relation.

    articles/month=YYYY-MM/*.parquet holds the articles (month of publication, else of first sight; without
    the internal MinHash signature); every other relation is one file, <name>.parquet."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    con.execute(
        "COPY (SELECT * EXCLUDE (minhash), strftime(coalesce(published_at, first_seen_at), '%Y-%m') AS month"
        f" FROM articles) TO {_quoted(directory / 'articles')}"
        " (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE, COMPRESSION zstd)"
    )
    counted = con.execute("SELECT count(*) FROM articles").fetchone()
    written["articles"] = int(counted[0]) if counted else 0
    for name in EXPORTED:
        con.execute(f"COPY (SELECT * FROM {name}) TO {_quoted(directory / f'{name}.parquet')} (FORMAT parquet)")
        counted = con.execute(f"SELECT count(*) FROM {name}").fetchone()
        written[name] = int(counted[0]) if counted else 0
    return written


def report_data(
    con: duckdb.DuckDBPyConnection, topic: str, terms: list[str], made_at: datetime, *, latest: int = 15
) -> ReportData:
    def rows(sql: str) -> list[Any]:
        return con.execute(sql).fetchall()

    totals = rows(
        "SELECT count(*) FILTER (WHERE NOT is_seed), (SELECT count(*) FROM stories),"
        " count(DISTINCT source) FILTER (WHERE NOT is_seed), (SELECT count(*) FROM feeds) FROM articles"
    )[0]
    return ReportData(
        topic=topic,
        made_at=made_at,
        stories_per_day=tuple(
            rows("SELECT day, coalesce(language, '?'), stories FROM daily_volume WHERE stories > 0 ORDER BY day, 2")
        ),
        share_per_day=tuple(
            rows(
                "SELECT day, sum(articles)::INTEGER, sum(on_topic_share * articles) / sum(articles)"
                " FROM daily_volume GROUP BY day ORDER BY day"
            )
        ),
        top_outlets=tuple(
            rows(
                "SELECT coalesce(source, '(unknown)'), relevant, articles FROM sources"
                " ORDER BY relevant DESC, articles DESC, source LIMIT 12"
            )
        ),
        trends=tuple((day, term, count) for day, term, count, _ in term_trends(con, terms).rows),
        latest=tuple(
            LatestStory(*row)
            for row in rows(
                "SELECT url, title, source, day, language, relevance, relevance_why, copies FROM stories"
                f" ORDER BY coalesce(published_at, first_seen_at) DESC, url LIMIT {int(latest)}"
            )
        ),
        totals={"articles": totals[0], "stories": totals[1], "outlets": totals[2], "feeds": totals[3]},
    )
