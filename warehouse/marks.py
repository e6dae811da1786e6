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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from warehouse.db import in_transaction, latest_migration

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
    None (an empty list) in a warehouse that a reader opens before a run has migrated it to 0017
    (`newsmon status`)."""
    try:
        return con.execute("SELECT name, value, count, settled_before FROM marks").fetchall()
    except duckdb.CatalogException:
        return []


def get(con: duckdb.DuckDBPyConnection, name: str, value: str | None = None) -> Mark | None:
    """The mark `name` for `value` (None: any value), if one was written; of two (two writers wrote one at
    once: appends do not conflict), the later: each held in the snapshot its writer counted in, and what
    unsettles rows forgets the marks (a migration, a score written)."""
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


def advance(
    con: duckdb.DuckDBPyConnection, name: str, current: datetime | None, settled_before: datetime, now: datetime
) -> None:
    """Move the mark `name` (with no value or count) from `current` to `settled_before`, if it lags."""
    if lags(current, settled_before):
        put(con, name, Mark(None, 0, settled_before), now)


def put(con: duckdb.DuckDBPyConnection, name: str, mark: Mark, now: datetime) -> None:
    """Replace the marks `name` by `mark`, in a transaction of its own (see `write`)."""
    in_transaction(con, lambda c: write(c, name, mark, now))


def write(con: duckdb.DuckDBPyConnection, name: str, mark: Mark, now: datetime) -> None:
    """Replace the marks `name` by `mark`, inside the caller's transaction. The transaction must be keyed
    (db.in_transaction), as set_scores' is: a mark whose count was read before another process's scores
    committed then fails to commit, and is counted again. Nothing is written when another release has migrated
    the warehouse since this process opened it: what this process checked may not hold there."""
    version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    if version is None or version[0] != latest_migration():
        return
    con.execute("DELETE FROM marks WHERE name = ?", [name])
    con.execute("INSERT INTO marks VALUES (?, ?, ?, ?, ?)", [name, mark.value, mark.count, mark.settled_before, now])


# (rows after the mark that add to a figure, those of them before where the mark would move to)
Counts = Callable[[duckdb.DuckDBPyConnection, datetime | None, datetime | None], tuple[int, int]]


def counted(
    con: duckdb.DuckDBPyConnection, name: str, counts: Counts, now: datetime | None, *, value: str | None = None
) -> int:
    """A figure whose rows before the mark `name` (for `value`) are the mark's count: `counts(c, since,
    proposed)` counts the rows from `since` on (None: all), and those of them before `proposed`. With `now`, a
    lagging mark is moved up, counted again in its own keyed transaction (`write`)."""
    mark = get(con, name, value)
    since = mark.settled_before if mark else None
    proposed = next_mark(now) if now is not None else None
    after, _ = counts(con, since, proposed)
    if now is not None and proposed is not None and lags(since, proposed):
        at, moved_at = proposed, now

        def move(c: duckdb.DuckDBPyConnection) -> None:
            current = get(c, name, value)
            _, older = counts(c, current.settled_before if current else None, at)
            write(c, name, Mark(value, (current.count if current else 0) + older, at), moved_at)

        in_transaction(con, move)
    return (mark.count if mark else 0) + after


def forget(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the marks `name`: the next check reads the whole history again."""
    con.execute("DELETE FROM marks WHERE name = ?", [name])
