"""The alert outbox and its deliveries: at most once per recipient, whatever the number of writers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from extractors.alert_email import Story
from warehouse import marks
from warehouse.batches import changed, with_batch
from warehouse.db import in_transaction
from warehouse.lookup import article_columns


def queue_alerts(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, urls: Sequence[str]) -> None:
    """One outbox row per article of `urls` (new articles, relevant and no copy), inside the storing transaction."""
    if urls:
        with_batch(
            con,
            "urls",
            [{"url": url} for url in urls],
            "INSERT INTO alerts (url, created_at, run_id) SELECT url, $now, $run FROM batch "
            "WHERE url NOT IN (SELECT url FROM alerts WHERE url IN (SELECT url FROM batch))",
            params={"now": now, "run": run_id},
        )


def _mark(recipient: str) -> str:
    """The mark (warehouse/marks.py) before which every alert was sent to `recipient`."""
    return f"alerts:{recipient}"


def _bounds(since: datetime | None) -> dict[str, Any]:
    """The parameters that bound a look at the alerts and deliveries to those after the mark `since`: an alert
    is created with its article (same time), a delivery started after its alert (a MARGIN for clocks)."""
    return {"since": since, "delivered_since": since - marks.MARGIN if since else None}


# Alerts after the mark ($since), and deliveries that may belong to them ($delivered_since); NULL: all of them.
_AFTER_MARK = "($since IS NULL OR a.created_at >= $since)"
_DELIVERY_AFTER_MARK = "($delivered_since IS NULL OR d.started_at >= $delivered_since)"


def _is_new(con: duckdb.DuckDBPyConnection, recipient: str, since: datetime | None) -> bool:
    """Whether `recipient`, whose mark is at `since`, has neither a mark nor ever been sent anything."""
    return (
        since is None
        and con.execute("SELECT 1 FROM alert_deliveries WHERE recipient = ? LIMIT 1", [recipient]).fetchone() is None
    )


def _since(con: duckdb.DuckDBPyConnection, recipient: str, first_since: datetime | None) -> datetime | None:
    """Where the alerts owed to `recipient` start: their mark; for a new recipient (_is_new), `first_since`
    (None: the whole history)."""
    since = marks.since(con, _mark(recipient))
    return first_since if first_since is not None and _is_new(con, recipient, since) else since


def start_recipients(
    con: duckdb.DuckDBPyConnection, recipients: Sequence[str], first_since: datetime, now: datetime
) -> list[str]:
    """Give each recipient never sent anything a mark at `first_since`: they get the stories from then on, not
    the warehouse's whole history (a recipient added to a warehouse of a million articles would otherwise be
    owed 240,000 stories in one message). Returns those recipients."""
    new = [r for r in recipients if _is_new(con, r, marks.since(con, _mark(r)))]
    for recipient in new:
        marks.advance(con, _mark(recipient), None, first_since, now)
    return new


def pending_alerts(con: duckdb.DuckDBPyConnection, recipient: str, first_since: datetime | None = None) -> list[Story]:
    """The stories not yet sent (nor being sent) to `recipient`, oldest alert first, with their copies; for a
    recipient never sent anything, only from `first_since` on (start_recipients).

    Only the alerts after the recipient's mark are read (`settle_alerts`); the undelivered ones are found first
    and only their articles are read, by their time (warehouse.lookup): a join with the articles read every
    article's text (10-19 s and 5.6 GB at a million articles, issue 12)."""
    waiting = con.execute(
        f"SELECT a.url, a.created_at FROM alerts a WHERE {_AFTER_MARK} AND NOT EXISTS "
        f"(SELECT 1 FROM alert_deliveries d WHERE d.url = a.url AND d.recipient = $recipient AND "
        f"{_DELIVERY_AFTER_MARK}) ORDER BY a.created_at, a.url",
        {"recipient": recipient, **_bounds(_since(con, recipient, first_since))},
    ).fetchall()
    urls = [row[0] for row in waiting]
    if not urls:
        return []
    first, last = waiting[0][1], waiting[-1][1]  # in the order of their time
    articles = article_columns(
        con,
        urls,
        "title, source, published_at, text, relevance, relevance_why, coalesce(relevance_terms, [])",
        seen_between=(first, last),  # an alert is created with its article, at its first_seen_at
    )
    copies = dict(  # a copy is stored after its original
        con.execute(
            "SELECT duplicate_of, list({'source': source, 'url': url} ORDER BY first_seen_at) FROM articles "
            "WHERE first_seen_at >= ? AND list_contains(?, duplicate_of) GROUP BY duplicate_of",
            [first, urls],
        ).fetchall()
    )
    stories = []
    for url in urls:
        if url not in articles:
            continue
        title, source, published, text, relevance, why, terms = articles[url]
        stories.append(
            Story(
                url=url,
                title=title,
                source=source,
                published_at=published,
                text=text,
                relevance=relevance,
                why=why,
                terms=tuple(terms),
                copies=tuple((c["source"], c["url"]) for c in copies.get(url, [])),
            )
        )
    return stories


def story_count(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> int:
    """How many rows the `stories` view has (the alert footer's count), without the view's folding of copies.

    A story is led by a relevant original that is no seed, or by the first copy of a seed when that copy is
    relevant (migration 0008): counted from three small columns and the few copies, not from the copies' lists
    and window the view builds (issue 12). The originals before the mark 'stories' are the mark's count (a
    score written forgets it: set_scores); with `now`, the mark is moved up when it lags."""

    def counts(c: duckdb.DuckDBPyConnection, since: datetime | None, proposed: datetime | None) -> tuple[int, int]:
        """The stories (originals from `since` on, and copies of seeds), the originals before `proposed`."""
        row = c.execute(
            """
            SELECT originals.total + (SELECT count(*) FILTER (WHERE lead_relevant) FROM (
                        SELECT arg_min(is_relevant, (first_seen_at, url)) AS lead_relevant FROM articles
                        WHERE duplicate_of IN (SELECT url FROM articles WHERE is_seed) AND NOT is_seed
                        GROUP BY duplicate_of)),
                   originals.older
            FROM (SELECT count(*) AS total, count(*) FILTER (WHERE first_seen_at < $proposed) AS older
                  FROM articles WHERE is_relevant AND duplicate_of IS NULL AND NOT is_seed
                    AND ($since IS NULL OR first_seen_at >= $since)) originals
            """,
            {"since": since, "proposed": proposed},
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    return marks.counted(con, "stories", counts, now)


def start_delivery(
    con: duckdb.DuckDBPyConnection, urls: Sequence[str], recipient: str, message_id: str, now: datetime
) -> list[str]:
    """Record that a message carrying these alerts is about to be sent (committed before sending).

    Returns the alerts this process may send: those no other writer has started in the meantime. Two writers
    that start the same alert both rewrite its outbox row, which DuckLake reports to the later commit as a
    conflict; it runs again, sees the other's delivery rows and leaves those alerts out. `urls` are pending
    alerts, after the recipient's mark: only the alerts and deliveries after it are read."""

    def work(c: duckdb.DuckDBPyConnection) -> list[str]:
        bounds = _bounds(marks.since(c, _mark(recipient)))
        free = [
            row[0]
            for row in c.execute(
                "SELECT url FROM (SELECT unnest($urls::VARCHAR[]) AS url) WHERE url NOT IN "
                f"(SELECT d.url FROM alert_deliveries d WHERE d.recipient = $recipient AND {_DELIVERY_AFTER_MARK})",
                {"urls": list(urls), "recipient": recipient, "delivered_since": bounds["delivered_since"]},
            ).fetchall()
        ]
        if free:
            c.execute(
                f"UPDATE alerts a SET claimed_at = $now WHERE {_AFTER_MARK} AND list_contains($urls, a.url)",
                {"now": now, "urls": free, "since": bounds["since"]},
            )
            c.execute(
                "INSERT INTO alert_deliveries (url, recipient, state, message_id, started_at) "
                "SELECT unnest(?::VARCHAR[]), ?, 'sending', ?, ?",
                [free, recipient, message_id, now],
            )
        return free

    return in_transaction(con, work)


def finish_delivery(con: duckdb.DuckDBPyConnection, message_id: str, now: datetime, started: datetime) -> None:
    """The SMTP server accepted the message whose delivery began at `started` (start_delivery's `now`: only the
    deliveries since then are read)."""
    in_transaction(
        con,
        lambda c: c.execute(
            "UPDATE alert_deliveries SET state = 'sent', sent_at = ? "
            "WHERE started_at >= ? AND message_id = ? AND state = 'sending'",
            [now, started, message_id],
        ),
        keyed=False,
    )


def abandon_delivery(con: duckdb.DuckDBPyConnection, message_id: str, started: datetime) -> None:
    """The SMTP server refused the message whose delivery began at `started`: its alerts are pending again."""
    in_transaction(
        con,
        lambda c: c.execute(
            "DELETE FROM alert_deliveries WHERE started_at >= ? AND message_id = ? AND state = 'sending'",
            [started, message_id],
        ),
        keyed=False,
    )


def settle_alerts(con: duckdb.DuckDBPyConnection, recipients: Sequence[str], now: datetime) -> None:
    """Move each recipient's mark up to their oldest alert not sent yet (none: MARGIN before `now`), once it
    lags by marks.ADVANCE. An alert being sent ('sending') is not settled: the server may still refuse it, and
    `newsmon alerts --retry-uncertain` may put it back in the queue."""
    proposed = marks.next_mark(now)
    for recipient in recipients:
        since = marks.since(con, _mark(recipient))
        if not marks.lags(since, proposed):
            continue
        row = con.execute(
            f"SELECT min(a.created_at) FROM alerts a WHERE {_AFTER_MARK} AND NOT EXISTS "
            f"(SELECT 1 FROM alert_deliveries d WHERE d.url = a.url AND d.recipient = $recipient "
            f"AND d.state = 'sent' AND {_DELIVERY_AFTER_MARK})",
            {"recipient": recipient, **_bounds(since)},
        ).fetchone()
        oldest = row[0] if row else None
        marks.advance(con, _mark(recipient), since, min(proposed, oldest) if oldest is not None else proposed, now)


def retry_uncertain(con: duckdb.DuckDBPyConnection) -> int:
    """Put deliveries left 'sending' by a killed process back in the queue (they may then arrive twice)."""
    return in_transaction(
        con,
        lambda c: changed(c.execute("DELETE FROM alert_deliveries WHERE state = 'sending'").fetchall()),
        keyed=False,
    )


def _waiting(recipients: Sequence[str]) -> str:
    """The alerts (url, created_at) not yet delivered to every one of `recipients` (bound as $recipients, with
    _waiting_params); with no recipients, every alert. An anti-join of each (alert, recipient) with the
    deliveries: a fourth of the time of a correlated count per alert (1M articles: 0.53 s instead of 2.2 s,
    250,000 alerts), and only of the alerts after the recipients' oldest mark."""
    if not recipients:
        return "SELECT url, created_at FROM alerts"
    return (
        "SELECT DISTINCT a.url, a.created_at FROM alerts a"
        " CROSS JOIN (SELECT unnest($recipients::VARCHAR[]) AS recipient) r"
        f" WHERE {_AFTER_MARK} AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.url = a.url"
        f" AND d.recipient = r.recipient AND {_DELIVERY_AFTER_MARK})"
    )


def _waiting_params(con: duckdb.DuckDBPyConnection, recipients: Sequence[str]) -> dict[str, Any]:
    if not recipients:
        return {}
    return {"recipients": list(recipients), **_bounds(marks.since_all(con, [_mark(r) for r in recipients]))}


def alerts_waiting(con: duckdb.DuckDBPyConnection, recipients: Sequence[str]) -> int:
    """How many alerts some recipient has not had (all alerts when there are no recipients)."""
    row = con.execute(f"SELECT count(*) FROM ({_waiting(recipients)})", _waiting_params(con, recipients)).fetchone()
    return row[0] if row else 0


def alert_overview(con: duckdb.DuckDBPyConnection, recipients: Sequence[str], limit: int = 20) -> dict[str, Any]:
    """Counts and recent rows for `newsmon alerts` and the run report."""
    uncertain = con.execute("SELECT count(*) FROM alert_deliveries WHERE state = 'sending'").fetchone()
    recent = con.execute(
        "SELECT sent_at, recipient, state, url, started_at FROM alert_deliveries ORDER BY started_at DESC, url LIMIT ?",
        [limit],
    ).fetchall()
    # The waiting count and the latest waiting alerts in one pass over the alerts.
    waiting = con.execute(
        f"SELECT count(*) OVER (), created_at, url FROM ({_waiting(recipients)}) ORDER BY created_at DESC, url "
        "LIMIT $limit",
        {"limit": limit, **_waiting_params(con, recipients)},
    ).fetchall()
    # The titles of those few, by time (warehouse.lookup), not by a join that reads every article's title: an
    # alert's article was first seen when the alert was created, before its deliveries started.
    times = [row[1] for row in waiting] + [row[4] - marks.MARGIN for row in recent] + [row[4] for row in recent]
    titles = article_columns(
        con,
        [row[3] for row in recent] + [row[-1] for row in waiting],
        "title",
        seen_between=(min(times), max(times)) if times else None,
    )
    return {
        "waiting": waiting[0][0] if waiting else 0,
        "uncertain": uncertain[0] if uncertain else 0,
        "recent": [(sent, to, state, titles[url][0], url) for sent, to, state, url, _ in recent if url in titles],
        "pending": [(created, titles[url][0], url) for _, created, url in waiting if url in titles],
    }
