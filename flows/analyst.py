"""`newsmon sql` and `newsmon shell`: the warehouse for analysts, read-only, with its extensions loaded."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flows.analysis_cli import render_rows
from flows.settings import load_settings
from warehouse.db import attach_statements

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "csv", "json", "markdown")
MAX_CELL = 60  # table and markdown cells are cut here (csv and json keep everything)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(_plain(value))
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    """The rows as a text table, CSV, JSON lines or a Markdown table."""
    if fmt == "json":
        return "".join(
            json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False) + "\n" for row in rows
        )
    if fmt == "csv":
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
        return out.getvalue()
    if fmt == "table":  # aligned for wide (CJK) characters too
        return render_rows(columns, rows, MAX_CELL) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})\n"
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if fmt == "markdown":
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one read-only SQL statement against the warehouse and print its rows."""
    from warehouse.analyst import QueryError, run_query  # pyarrow, numpy: not for every command's parser (0.4 s)

    settings = load_settings(args.config)
    sql = sys.stdin.read() if args.query == "-" else args.query
    try:
        columns, rows = run_query(settings.warehouse, sql)
    except QueryError as exc:
        print(f"newsmon sql: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(render(columns, rows, args.format))
    return EXIT_OK


def cmd_shell(args: argparse.Namespace) -> int:
    """An interactive DuckDB session (the CLI of the pinned DuckDB) with the warehouse attached read-only."""
    settings = load_settings(args.config)
    statements = attach_statements(settings.warehouse, read_only=not args.write)
    if args.print_attach:
        print(";\n".join(statements) + ";")
        return EXIT_OK
    cli = Path(sys.executable).parent / "duckdb"
    if not cli.exists():
        print(f"newsmon shell: the DuckDB CLI is not installed beside {sys.executable}", file=sys.stderr)
        return EXIT_FAILED
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="newsmon-shell-", delete=False) as init:
        init.write(";\n".join(statements) + ";\n")
    print(
        f"newsmon shell: the warehouse is attached as `newsmon`{' (read-write)' if args.write else ' (read-only)'}; "
        ".quit to leave",
        file=sys.stderr,
    )
    os.execv(str(cli), [str(cli), "-init", init.name, *args.duckdb_args])


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    sql = sub.add_parser("sql", parents=[common], help="run one read-only SQL query against the warehouse")
    sql.add_argument("query", help="the SQL ('-': read it from stdin)")
    sql.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    sql.set_defaults(func=cmd_sql)
    shell = sub.add_parser("shell", parents=[common], help="an interactive DuckDB session on the warehouse")
    shell.add_argument("--print-attach", action="store_true", help="print the SQL that attaches the warehouse")
    shell.add_argument("--write", action="store_true", help="attach read-write (for maintenance; runs keep going)")
    shell.add_argument("duckdb_args", nargs="*", help="further arguments for the DuckDB CLI (after --)")
    shell.set_defaults(func=cmd_shell)
