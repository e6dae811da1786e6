"""The alert outbox and its deliveries: at most once per recipient, whatever the number of writers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from extractors.alert_email import Story
from warehouse.batches import changed
from warehouse.db import in_transaction


def queue_alerts(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    """One outbox row per article of `new_urls` that is relevant and no copy (inside the storing transaction)."""
    con.execute(
        "INSERT INTO alerts (url, created_at, run_id) SELECT url, ?, ? FROM articles "
        "WHERE url IN (SELECT url FROM new_urls) AND is_relevant AND duplicate_of IS NULL AND NOT is_seed "
        "AND url NOT IN (SELECT url FROM alerts WHERE url IN (SELECT url FROM new_urls))",
        [now, run_id],
    )


def pending_alerts(con: duckdb.DuckDBPyConnection, recipient: str) -> list[Story]:
    """The stories not yet sent (nor being sent) to `recipient`, oldest alert first, with their copies.

    The undelivered alerts are found first and only their articles are read (the join with every article's
    text cost 10-19 s and 5.6 GB at a million articles, issue 12)."""
    rows = con.execute(
        """
        WITH waiting AS (
            SELECT a.url, a.created_at FROM alerts a
            WHERE NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.url = a.url AND d.recipient = ?)
        ),
        copies AS (
            SELECT duplicate_of AS url, list({'source': source, 'url': url} ORDER BY first_seen_at) AS copies
            FROM articles WHERE duplicate_of IN (SELECT url FROM waiting) GROUP BY duplicate_of
        )
        SELECT w.url, ar.title, ar.source, ar.published_at, ar.text, ar.relevance, ar.relevance_why,
               coalesce(ar.relevance_terms, []), coalesce(c.copies, [])
        FROM waiting w
        JOIN articles ar ON ar.url = w.url
        LEFT JOIN copies c ON c.url = w.url
        ORDER BY w.created_at, w.url
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
) -> list[str]:
    """Record that a message carrying these alerts is about to be sent (committed before sending).

    Returns the alerts this process may send: those no other writer has started in the meantime. Two writers
    that start the same alert both rewrite its outbox row, which DuckLake reports to the later commit as a
    conflict; it runs again, sees the other's delivery rows and leaves those alerts out."""

    def work(c: duckdb.DuckDBPyConnection) -> list[str]:
        free = [
            row[0]
            for row in c.execute(
                "SELECT url FROM (SELECT unnest(?::VARCHAR[]) AS url) WHERE url NOT IN "
                "(SELECT url FROM alert_deliveries WHERE recipient = ?)",
                [list(urls), recipient],
            ).fetchall()
        ]
        if free:
            c.execute("UPDATE alerts SET claimed_at = ? WHERE list_contains(?, url)", [now, free])
            c.execute(
                "INSERT INTO alert_deliveries (url, recipient, state, message_id, started_at) "
                "SELECT unnest(?::VARCHAR[]), ?, 'sending', ?, ?",
                [free, recipient, message_id, now],
            )
        return free

    return in_transaction(con, work)


def finish_delivery(con: duckdb.DuckDBPyConnection, message_id: str, now: datetime) -> None:
    """The SMTP server accepted the message."""
    in_transaction(
        con,
        lambda c: c.execute(
            "UPDATE alert_deliveries SET state = 'sent', sent_at = ? WHERE message_id = ? AND state = 'sending'",
            [now, message_id],
        ),
        keyed=False,
    )


def abandon_delivery(con: duckdb.DuckDBPyConnection, message_id: str) -> None:
    """The SMTP server refused the message: its alerts are pending again."""
    in_transaction(
        con,
        lambda c: c.execute("DELETE FROM alert_deliveries WHERE message_id = ? AND state = 'sending'", [message_id]),
        keyed=False,
    )


def retry_uncertain(con: duckdb.DuckDBPyConnection) -> int:
    """Put deliveries left 'sending' by a killed process back in the queue (they may then arrive twice)."""
    return in_transaction(
        con,
        lambda c: changed(c.execute("DELETE FROM alert_deliveries WHERE state = 'sending'").fetchall()),
        keyed=False,
    )


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
        "WITH d AS (SELECT * FROM alert_deliveries ORDER BY started_at DESC, url LIMIT ?) "
        "SELECT d.sent_at, d.recipient, d.state, ar.title, d.url FROM d "
        "JOIN articles ar ON ar.url = d.url ORDER BY d.started_at DESC, d.url",
        [limit],
    ).fetchall()
    pending = con.execute(
        f"WITH p AS (SELECT a.created_at, a.url FROM alerts a WHERE {_UNDELIVERED} "
        "ORDER BY a.created_at DESC LIMIT ?) "
        "SELECT p.created_at, ar.title, p.url FROM p JOIN articles ar ON ar.url = p.url ORDER BY p.created_at DESC",
        [list(recipients), max(len(recipients), 1), limit],
    ).fetchall()
    return {
        "waiting": alerts_waiting(con, recipients),
        "uncertain": uncertain[0] if uncertain else 0,
        "recent": recent,
        "pending": pending,
    }
