"""The analyst's commands: search, trends, first, index, export, report (sql and shell: flows/analyst.py)."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flows.settings import load_settings

# The report's key terms when none are given: the topic's turning points, in its languages (topic.toml's
# description names them: the Kursk region, the treaty's Article 4; 파병 is "dispatch of troops").
REPORT_TERMS = ("Kursk", "쿠르스크", "Article 4", "파병", "Triều Tiên")
EXIT_OK, EXIT_FAILED = 0, 1


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "—"
    elif isinstance(value, datetime):
        text = f"{value:%Y-%m-%d %H:%M}"
    elif isinstance(value, float):
        text = f"{value:.3f}"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _width(text: str) -> int:
    """Columns the text takes in a terminal: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_rows(columns: list[str], rows: list[tuple[Any, ...]], width: int = 60) -> str:
    """A plain text table, each cell cut at `width` characters, aligned for wide (CJK) characters too."""
    cells = [[_cell(v, width) for v in row] for row in rows]
    widths = [max([_width(c), *(_width(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _open(args: argparse.Namespace) -> Any:
    from warehouse.analysis import open_for_analysis

    return open_for_analysis(load_settings(args.config).warehouse)


def cmd_search(args: argparse.Namespace) -> int:
    from warehouse.search import search, stored_languages

    con = _open(args)
    try:
        result = search(con, args.query, language=args.lang, since=args.since, limit=args.limit)
        languages = stored_languages(con) if args.lang and not result.rows else []
    finally:
        con.close()
    if not result.rows and args.lang and args.lang not in languages:
        print(f"no article in language {args.lang!r}: the index holds {', '.join(languages) or 'none yet'}")
    elif not result.rows:
        print(f"no article matches {args.query!r}")
    for row in result.rows:
        item = dict(zip(result.columns, row, strict=True))
        relevant = "on topic" if item["is_relevant"] else "off topic"
        print(
            f"{item['rank']:>3}. {item['title'] or item['url']}\n"
            f"     {item['score']:.2f} · {item['source'] or 'unknown outlet'} · {item['day']} · {item['language']}"
            f" · {relevant}\n     {item['snippet']}\n     {item['url']}"
        )
    return EXIT_OK


def cmd_trends(args: argparse.Namespace) -> int:
    from warehouse.search import term_trends

    con = _open(args)
    try:
        result = term_trends(con, args.terms)
    finally:
        con.close()
    print(render_rows(result.columns, result.rows))
    return EXIT_OK


def cmd_first(args: argparse.Namespace) -> int:
    from warehouse.search import first_reports

    con = _open(args)
    try:
        result = first_reports(con, args.term, args.limit)
    finally:
        con.close()
    print(render_rows(result.columns, result.rows))
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    from warehouse.db import connect
    from warehouse.search import index_new_articles

    con = connect(load_settings(args.config).warehouse, create=False)
    try:
        added = index_new_articles(con, everything=args.all)
    finally:
        con.close()
    print(f"{added} articles added to the search index")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.analysis import export_parquet

    con = _open(args)
    try:
        written = export_parquet(con, Path(args.directory))
    finally:
        con.close()
    for name, rows in written.items():
        print(f"{name:18s} {rows:>9,} rows")
    print(f"written to {args.directory} (articles/month=YYYY-MM/, one <name>.parquet per other relation)")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from extractors.report_html import render_report
    from warehouse.analysis import report_data

    settings = load_settings(args.config)
    con = _open(args)
    try:
        data = report_data(con, settings.topic.name, args.term or list(REPORT_TERMS), datetime.now(UTC))
    finally:
        con.close()
    out = Path(args.out)
    out.write_text(render_report(data), encoding="utf-8")
    print(f"report written to {out} ({out.stat().st_size / 1e6:.1f} MB, opens offline)", file=sys.stderr)
    return EXIT_OK


def add_analysis_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The analyst's subcommands, on the `newsmon` parser's subparsers."""
    search = sub.add_parser("search", parents=[common], help="full-text search (BM25) in every language")
    search.add_argument("query", help="words to look for, in any language")
    search.add_argument("--lang", help="only articles in this language (ISO 639-1: en, de, ko, vi, …)")
    search.add_argument("--since", type=date.fromisoformat, help="only articles of this day (YYYY-MM-DD) or later")
    search.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    search.set_defaults(func=cmd_search)

    trends = sub.add_parser("trends", parents=[common], help="articles and outlets per day using each term")
    trends.add_argument("terms", nargs="+", help="terms (a term of several words is a phrase)")
    trends.set_defaults(func=cmd_trends)

    first = sub.add_parser("first", parents=[common], help="the outlets that used a term first")
    first.add_argument("term")
    first.add_argument("--limit", type=int, default=10)
    first.set_defaults(func=cmd_first)

    index = sub.add_parser("index", parents=[common], help="bring the search index up to date (runs do it too)")
    index.add_argument(
        "--all", action="store_true", help="check every article, not only those stored since the newest one indexed"
    )
    index.set_defaults(func=cmd_index)

    export = sub.add_parser("export", parents=[common], help="write the warehouse's relations as Parquet")
    export.add_argument("directory")
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", parents=[common], help="write a self-contained HTML report with charts")
    report.add_argument("--out", default="report.html", help="the HTML file to write (default report.html)")
    report.add_argument("--term", action="append", help="a key term to chart (repeatable; default: the topic's)")
    report.set_defaults(func=cmd_report)
