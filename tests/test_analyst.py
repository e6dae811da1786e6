"""`newsmon sql` and `newsmon shell` against a real warehouse."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.cli import main
from flows.settings import load_topic
from warehouse import store
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[1]
COUNT = "SELECT seed_id, length(text) AS n FROM articles ORDER BY seed_id"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    con = connect(tmp_path / "wh")
    store.add_seeds(con, "r1", datetime.now(UTC), load_topic().seeds)
    con.close()
    path = tmp_path / "newsmon.toml"
    path.write_text(f'feeds = []\n[warehouse]\npath = "{tmp_path / "wh"}"\n', encoding="utf-8")
    return path


def test_sql_prints_rows_in_each_format(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--config", str(config), COUNT]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["seed_id", "n"] and table[-1] == "(5 rows)"
    assert main(["sql", "--config", str(config), "--format", "csv", COUNT]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["seed_id", "n"] and len(rows) == 6 and all(int(n) > 500 for _, n in rows[1:])
    assert main(["sql", "--config", str(config), "--format", "json", COUNT]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(objects) == 5 and objects[0]["seed_id"] == "000_3a2a29942e16391a"
    assert main(["sql", "--config", str(config), "--format", "markdown", COUNT]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0].startswith("| seed_id") and markdown[1].startswith("|--")


@pytest.mark.parametrize(
    ("sql", "message"),
    [("SELEC 1", "syntax error"), ("SELECT nope FROM articles", "nope"), ("DELETE FROM articles", "read-only")],
)
def test_bad_or_writing_sql_is_a_one_line_error_with_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str], sql: str, message: str
) -> None:
    assert main(["sql", "--config", str(config), sql]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("newsmon sql: ") and "\n" not in err and message.lower() in err.lower()


def test_shell_opens_the_warehouse_in_the_duckdb_cli(config: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "shell", "--config", str(config), "--", "-csv"],
        input="SELECT count(*) AS n FROM articles WHERE is_seed;\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", "5"]


def test_shell_prints_the_attach_statements_for_other_clients(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shell", "--config", str(config), "--print-attach"]) == 0
    out = capsys.readouterr().out
    assert "ducklake.duckdb_extension" in out and "READ_ONLY" in out and "USE newsmon;" in out
