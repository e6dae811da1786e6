"""Reading a few articles by URL without reading the whole table's wide columns (issue 12, docs/scale.md).

The lake has no index: a filter on `url` alone makes DuckDB read the requested columns of every row group
(measured: 4.3 s for the text of 5 articles of 100,000). Articles are stored in time order in row groups of
2,048 (migration 0010), so the articles' first_seen_at, read first from two narrow columns, bounds a second scan
that the row groups' min/max statistics cut down to the few that hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa


def article_columns(
    con: duckdb.DuckDBPyConnection,
    urls: Sequence[str],
    columns: str,
    *,
    seen_between: tuple[datetime, datetime] | None = None,
) -> dict[str, tuple[Any, ...]]:
    """url -> (`columns`, a select list over articles) for those of `urls` that are articles.

    `seen_between`: where the caller expects the articles' first_seen_at (an alert's time is its article's),
    which saves the first scan of every article's url; the articles not found there are looked for as above."""
    if not urls:
        return {}
    wanted = sorted(set(urls))
    found: dict[str, tuple[Any, ...]] = {}
    con.register("wanted_urls", pa.table({"url": pa.array(wanted, pa.string())}))
    try:
        if seen_between is not None:
            found = _between(con, columns, *seen_between)
            if len(found) == len(wanted):
                return found
            con.unregister("wanted_urls")
            con.register("wanted_urls", pa.table({"url": pa.array([u for u in wanted if u not in found], pa.string())}))
        span = con.execute(
            "SELECT min(first_seen_at), max(first_seen_at) FROM articles WHERE url IN (SELECT url FROM wanted_urls)"
        ).fetchone()
        if span is not None and span[0] is not None:
            found.update(_between(con, columns, span[0], span[1]))
    finally:
        con.unregister("wanted_urls")
    return found


def _between(con: duckdb.DuckDBPyConnection, columns: str, low: datetime, high: datetime) -> dict[str, tuple[Any, ...]]:
    """The wanted_urls first seen from `low` to `high`."""
    rows = con.execute(
        f"SELECT url, {columns} FROM articles WHERE first_seen_at >= $low AND first_seen_at <= $high"
        " AND url IN (SELECT url FROM wanted_urls)",
        {"low": low, "high": high},
    ).fetchall()
    return {row[0]: row[1:] for row in rows}
