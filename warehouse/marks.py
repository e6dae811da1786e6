"""Marks: what has been checked over the whole history once, so that a run checks only the rows after it.

An idle run used to scan every article and every alert for work that only new rows can need: articles without a
score or a fingerprint, scores of another scorer, seeds not stored yet, alerts not sent (issue 12: 2.1 s of SQL
at a million articles against 0.75 s on an empty warehouse). A mark (migration 0017) says that every row older
than its `settled_before` was found settled; the check then reads only the rows after it, which the lake's
min/max statistics on the time columns find without reading the others (rows are stored in time order).

Marks are a cache. Without one, the whole history is checked; deleting marks is always safe (every migration
does). A mark is set MARGIN behind the time of the check, so that rows a slower writer stamps with its own
earlier time (a batch's time is taken before its commit) still fall after it. It is rewritten only once it
lags by ADVANCE: most runs write no mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from warehouse.db import in_transaction

# A row is stamped with its batch's time before its transaction commits; a batch commits within minutes of
# that time (a run's fetching is bounded by [fetch] deadline_seconds, 120 s by default). A day covers any
# writer on the same clock with room for clocks a few hours apart (a shared PostgreSQL catalog).
MARGIN = timedelta(days=1)
# A mark is rewritten once it is this far behind where it could be: at most one write a day per mark, and a
# check reads at most MARGIN + ADVANCE of history (plus what is not settled yet).
ADVANCE = timedelta(days=1)


@dataclass(frozen=True)
class Mark:
    value: str | None
    count: int
    settled_before: datetime


def _all(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, int, datetime]]:
    """Every mark (a few rows, inlined in the catalog): read whole, a third of the time of a filtered read.
    None in a warehouse that a reader opens before a run has migrated it to 0017 (`newsmon status`)."""
    try:
        return con.execute("SELECT name, value, count, settled_before FROM marks").fetchall()
    except duckdb.CatalogException:
        return []


def get(con: duckdb.DuckDBPyConnection, name: str, value: str | None = None) -> Mark | None:
    """The mark `name` for `value` (None: any value), if one was written; of two (two writers wrote one at
    once), the later: each was true when it was written, and what unsettles rows forgets the marks (a
    migration, a rescore)."""
    rows = [row for row in _all(con) if row[0] == name and (value is None or row[1] == value)]
    if not rows:
        return None
    _, found, count, settled_before = max(rows, key=lambda row: row[3])
    return Mark(found, int(count), settled_before)


def since(con: duckdb.DuckDBPyConnection, name: str, value: str | None = None) -> datetime | None:
    """Where the check `name` starts: the mark's time, or None (the whole history)."""
    mark = get(con, name, value)
    return mark.settled_before if mark else None


def since_all(con: duckdb.DuckDBPyConnection, names: list[str]) -> datetime | None:
    """Where a check over several marks starts: the oldest of them, or None when one of them is missing."""
    latest: dict[str, datetime] = {}
    for name, _, _, settled_before in _all(con):
        if name in names:
            latest[name] = max(settled_before, latest.get(name, settled_before))
    return min(latest.values()) if names and len(latest) == len(set(names)) else None


def next_mark(now: datetime) -> datetime:
    """Where a check made at `now` may set its mark."""
    return now - MARGIN


def lags(current: datetime | None, proposed: datetime) -> bool:
    """Whether a mark at `current` is worth moving to `proposed`."""
    return current is None or proposed - current >= ADVANCE


def put(
    con: duckdb.DuckDBPyConnection,
    name: str,
    settled_before: datetime,
    now: datetime,
    *,
    value: str | None = None,
    count: int = 0,
) -> None:
    """Replace the marks `name` by one at `settled_before`."""

    def work(c: duckdb.DuckDBPyConnection) -> None:
        c.execute("DELETE FROM marks WHERE name = ?", [name])
        c.execute("INSERT INTO marks VALUES (?, ?, ?, ?, ?)", [name, value, count, settled_before, now])

    in_transaction(con, work, keyed=False)


def forget(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the marks `name`: the next check reads the whole history again."""
    con.execute("DELETE FROM marks WHERE name = ?", [name])
