"""The analyst's judgments (migration 0007): every SQL statement about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from warehouse.db import in_transaction


@dataclass(frozen=True)
class Judgment:
    what: str  # canonical URL, or text:<digest>
    label: str  # on | off
    who: str | None
    judged_at: datetime
    title: str | None
    text: str
    source: str


def add_judgments(con: duckdb.DuckDBPyConnection, judgments: Sequence[Judgment]) -> int:
    """Record judgments, in order; one that repeats the judgment in force for its `what` (same label and text)
    is skipped, a changed mind adds a row. Returns how many rows were added."""
    if not judgments:
        return 0
    rows = [
        {
            "what": j.what,
            "label": j.label,
            "who": j.who,
            "judged_at": j.judged_at,
            "title": j.title,
            "text": j.text,
            "source": j.source,
        }
        for j in judgments
    ]
    before = count(con)
    in_transaction(con, lambda c: _insert(c, rows))
    return count(con) - before


def _insert(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    con.executemany(
        "INSERT INTO judgments SELECT $what, $label, $who, $judged_at, $title, $text, $source "
        "WHERE NOT EXISTS (SELECT 1 FROM (SELECT label, text FROM judgments WHERE what = $what "
        "ORDER BY judged_at DESC LIMIT 1) AS latest WHERE latest.label = $label AND latest.text = $text)",
        rows,
    )


def count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM judgments").fetchone()
    return int(row[0]) if row else 0


def latest_judgments(con: duckdb.DuckDBPyConnection) -> list[Judgment]:
    """The judgment in force for each `what` (the latest), in a stable order."""
    rows = con.execute(
        "SELECT what, label, who, judged_at, title, text, source FROM judgments "
        "QUALIFY row_number() OVER (PARTITION BY what ORDER BY judged_at DESC) = 1 ORDER BY what"
    ).fetchall()
    return [Judgment(*row) for row in rows]


def article_for_judgment(con: duckdb.DuckDBPyConnection, url: str) -> tuple[str | None, str] | None:
    """(title, text) of the stored article at `url` (canonical), or None."""
    row = con.execute("SELECT title, text FROM articles WHERE url = ?", [url]).fetchone()
    return (row[0], row[1] or "") if row else None


def articles_texts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None, str, bool | None]]:
    """(url, title, text, is_relevant as stored) of every stored article: what a rescore would read."""
    return con.execute("SELECT url, title, coalesce(text, ''), is_relevant FROM articles ORDER BY url").fetchall()


def token_used(con: duckdb.DuckDBPyConnection, nonce: str) -> bool:
    """Whether an e-mail link's token (by its nonce) recorded a judgment already."""
    return con.execute("SELECT count(*) FROM judgments WHERE source = ?", [f"email:{nonce}"]).fetchone() != (0,)
