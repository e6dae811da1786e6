"""Rewrite the output printed under each query of the README's "Queries and their output", from a fresh topic
warehouse (tests/topic_warehouse.py: a real ingest of the shared topic articles).

The README test (tests/test_views.py) checks the queries' columns, not their rows: run this after a change that
moves the rows (the relevance model, the views, the test ingest) and review the diff.

Usage: .venv/bin/python -m tests.readme_output [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import tempfile
from pathlib import Path

from tests.topic_warehouse import topic_warehouse
from warehouse.analysis import open_for_analysis

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "### Queries and their output"
WIDTH = 118  # the README's code blocks


def drawn(con: object, query: str) -> str:
    """The query's rows as DuckDB draws them."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        con.sql(query.rstrip().rstrip(";")).show(max_width=WIDTH)  # type: ignore[attr-defined]
    return out.getvalue().rstrip("\n")


def rewritten(readme: str, con: object) -> str:
    """The README with each query's output drawn again."""
    before, rest = readme.split(HEADING, 1)
    intro, block = rest.split("```sql\n", 1)
    block, after = block.split("\n```", 1)
    parts = []
    for part in re.split(r"\n(?=-- )", "\n" + block.strip()):
        lines = part.strip().splitlines()
        if not lines:
            continue
        kept = [line for line in lines if not line.startswith(("┌", "│", "├", "└"))]
        query = "\n".join(line for line in kept if not line.startswith("-- "))
        parts.append("\n".join(kept) + ("\n" + drawn(con, query) if query.strip() else ""))
    return before + HEADING + intro + "```sql\n" + "\n\n".join(parts) + "\n```" + after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="print the differences, change nothing; exit 1 if any")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsmon-readme-") as root:
        con = open_for_analysis(topic_warehouse(Path(root)))
        try:
            old = README.read_text(encoding="utf-8")
            new = rewritten(old, con)
        finally:
            con.close()
    if args.check:
        import difflib

        diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "README.md", "regenerated", lineterm=""))
        print("\n".join(diff) or "the README's outputs are current")
        return 1 if diff else 0
    README.write_text(new, encoding="utf-8")
    print(f"{README}: outputs rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":  # the extraction workers start by forkserver: the guard keeps them from re-running this
    sys.exit(main())
