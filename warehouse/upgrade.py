"""Bringing a warehouse of the DuckDB-file releases into the lake, losing nothing."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, in_transaction

LEGACY_MIGRATIONS = importlib.resources.files("warehouse") / "migrations_duckdb"
# The relations copied, in the lake's column order; columns the old file lacks stay NULL.
TABLES = ("runs", "feeds", "entries", "articles", "page_failures", "article_bands", "alerts", "alert_deliveries")


def _check_legacy_schema(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """The old file must hold every DuckDB-file migration: its tables are copied column by column."""
    applied = {r[0] for r in con.execute(f"SELECT version FROM {alias}.schema_migrations").fetchall()}
    for item in sorted(LEGACY_MIGRATIONS.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".sql") and int(item.name[:4]) not in applied:
            raise WarehouseError(
                f"the old warehouse lacks migration {item.name}: open it once with the release that made it"
            )


def upgrade_legacy(con: duckdb.DuckDBPyConnection, legacy: Path) -> dict[str, int]:
    """Copy every row of the old DuckDB file into the (empty) lake in one transaction, then rename the file
    to `<name>.upgraded` so that it is never copied twice. Returns the rows copied per table."""
    alias = "legacy_warehouse"
    try:
        con.execute(f"ATTACH '{legacy}' AS {alias} (READ_ONLY)")
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot read the old warehouse {legacy} to upgrade it: {exc}") from exc
    try:
        _check_legacy_schema(con, alias)
        present = con.execute("SELECT count(*) FROM articles").fetchone()
        if present and present[0]:
            raise WarehouseError(f"the lake beside {legacy} already holds articles: not upgrading over them")

        def work(c: duckdb.DuckDBPyConnection) -> dict[str, int]:
            copied = {}
            for table in TABLES:
                columns = [r[0] for r in c.execute(f"DESCRIBE {alias}.main.{table}").fetchall()]
                names = ", ".join(f'"{n}"' for n in columns)
                c.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {alias}.main.{table}")
                row = c.execute(f"SELECT count(*) FROM {alias}.main.{table}").fetchone()
                copied[table] = int(row[0]) if row else 0
            # The old file's bands had no time: their articles' (the seeds' 9999-12-31, see migration 0011).
            c.execute(
                "UPDATE article_bands SET first_seen_at = CASE WHEN a.is_seed THEN TIMESTAMPTZ '9999-12-31 00:00:00+00'"
                " ELSE a.first_seen_at END FROM articles a WHERE a.url = article_bands.url"
            )
            c.execute("DELETE FROM marks")  # the history copied in is unchecked (warehouse/marks.py)
            return copied

        copied = in_transaction(con, work)
    finally:
        con.execute(f"DETACH {alias}")
    legacy.rename(legacy.with_name(legacy.name + ".upgraded"))
    return copied
