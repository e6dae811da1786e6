"""The analyst's way in: a read-only session on the warehouse, and one query run in it."""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.analysis import open_for_analysis
from warehouse.db import WarehouseSpec


class QueryError(ValueError):
    """The analyst's SQL failed; the message is DuckDB's, on one line."""


def run_query(spec: WarehouseSpec, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only statement against the warehouse: its column names and rows."""
    con = open_for_analysis(spec)  # the search and trend macros too
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
