"""The analyst's way in: a read-only session on the warehouse, and one query run in it."""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.db import WarehouseSpec, connect


class QueryError(ValueError):
    """The analyst's SQL failed; the message is DuckDB's, on one line."""


def run_query(spec: WarehouseSpec, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only statement against the warehouse: its column names and rows."""
    con = connect(spec, read_only=True)
    try:
        try:
            relation = con.execute(sql)
        except duckdb.Error as exc:
            raise QueryError(" ".join(str(exc).split())) from exc
        if relation.description is None:
            return [], []
        return [d[0] for d in relation.description], relation.fetchall()
    finally:
        con.close()
