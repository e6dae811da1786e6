"""The runs table: one row per newsmon run, with its counts."""

from __future__ import annotations

from datetime import datetime

import duckdb

from warehouse.db import in_transaction

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


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, *, forced: bool) -> None:
    in_transaction(
        con,
        lambda c: c.execute("INSERT INTO runs (run_id, started_at, forced) VALUES (?, ?, ?)", [run_id, now, forced]),
        keyed=False,
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    counts: dict[str, int],
    mail_error: str | None = None,
) -> None:
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts: {sorted(unknown)}")
    sets = "".join(f", {name} = ?" for name in counts)
    in_transaction(
        con,
        lambda c: c.execute(
            f"UPDATE runs SET finished_at = ?, mail_error = ?{sets} WHERE run_id = ?",
            [now, mail_error, *counts.values(), run_id],
        ),
        keyed=False,
    )


def pages_may_follow(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a run starting now will likely fetch pages: no run finished yet, or the last one found new
    entries or had pages fail (they are due again). The run then starts its extraction workers' fork server
    at once; an idle run (the last one found nothing) starts it only if a feed brings entries."""
    row = con.execute(
        "SELECT entries_new + pages_failed FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return row is None or bool(row[0])
