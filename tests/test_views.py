"""Every documented view and analyst command, on a warehouse built by a real ingest of the topic articles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli import main
from tests.topic_warehouse import copy_of_topic_warehouse, topic_warehouse
from warehouse.analysis import open_for_analysis

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def analyst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_for_analysis(topic_warehouse(tmp_path_factory.mktemp("topic")))
    yield con
    con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


def test_relevant_articles_are_on_topic_without_copies_or_seeds(analyst: duckdb.DuckDBPyConnection) -> None:
    expected = one(analyst, "SELECT count(*) FROM articles WHERE is_relevant AND duplicate_of IS NULL AND NOT is_seed")
    assert one(analyst, "SELECT count(*) FROM relevant_articles") == expected
    assert expected[0] > 10
    assert one(analyst, "SELECT count(*) FROM relevant_articles WHERE url LIKE '%/wire/%' OR url LIKE 'urn:%'") == (0,)


def test_stories_fold_the_copies_in_and_leave_the_seeds_out(analyst: duckdb.DuckDBPyConnection) -> None:
    copied = analyst.execute(
        "SELECT source, copies, copy_sources FROM stories WHERE copies > 0 ORDER BY source"
    ).fetchall()
    assert copied == [("KBS", 1, ["Asia Wire"]), ("문화일보", 1, ["Wire Korea"])]
    assert one(analyst, "SELECT count(*) FROM stories") == one(analyst, "SELECT count(*) FROM relevant_articles")
    assert one(analyst, "SELECT count(*) FROM stories s JOIN articles a USING (url) WHERE a.is_seed") == (0,)


def test_daily_volume_adds_up_to_the_articles(analyst: duckdb.DuckDBPyConnection) -> None:
    assert one(analyst, "SELECT sum(articles), sum(stories) FROM daily_volume") == one(
        analyst, "SELECT count(*), (SELECT count(*) FROM stories) FROM articles WHERE NOT is_seed"
    )
    day = one(
        analyst,
        "SELECT articles, stories, outlets, on_topic_share FROM daily_volume"
        " WHERE day = '2025-12-27' AND language = 'ko'",
    )
    assert day == (4, 4, 4, 1.0)  # four Korean outlets on the New Year greetings, all on the topic


def test_sources_count_outlets_and_their_delay(analyst: duckdb.DuckDBPyConnection) -> None:
    row = one(
        analyst, "SELECT articles, relevant, on_topic_share, median_delay_hours FROM sources WHERE source = '뉴스1'"
    )
    assert row[:3] == (4, 3, 0.75)
    assert row[3] > 24  # published in 2025, first seen by this test run
    assert one(analyst, "SELECT sum(articles) FROM sources") == one(
        analyst, "SELECT count(*) FROM articles WHERE NOT is_seed"
    )


def test_feed_health_shows_the_failing_feed(analyst: duckdb.DuckDBPyConnection) -> None:
    rows = analyst.execute(
        "SELECT split_part(url, '/', -1), consecutive_failures, last_error IS NOT NULL, last_success_at IS NULL,"
        " entries, articles, next_poll_at >= last_checked_at FROM feed_health ORDER BY url"
    ).fetchall()
    assert rows == [
        ("de.xml", 0, False, False, 5, 5, True),
        ("en.xml", 0, False, False, 27, 27, True),
        ("gone.xml", 1, True, True, 0, 0, True),
        ("ko.xml", 0, False, False, 21, 21, True),
        ("vi.xml", 0, False, False, 5, 5, True),
    ]
    assert one(analyst, "SELECT entries_per_day FROM feed_health WHERE url LIKE '%ko.xml'") == (21.0,)
    assert one(analyst, "SELECT count(*), min(articles_stored) FROM runs") == (1, 58)


def test_the_analysts_commands(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(copy_of_topic_warehouse(tmp_path_factory.mktemp("topic"), tmp_path))
    assert main(["search", "파병", "--lang", "ko", "--limit", "3", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("  1. ") and out.count("\n     http") == 3 and "파병" in out and " · ko · " in out
    assert main(["search", "Kursk", "--since", "2025-01-01", "--config", config]) == 0
    assert "2024-" not in capsys.readouterr().out
    assert main(["search", "Kursk", "--lang", "kr", "--config", config]) == 0  # Korean is "ko"
    assert capsys.readouterr().out == "no article in language 'kr': the index holds de, en, ko, vi\n"
    assert main(["trends", "Kursk", "파병", "--config", config]) == 0
    assert "2025-12-27  파병" in capsys.readouterr().out
    assert main(["first", "Kursk", "--config", config]) == 0
    assert "dantri.com.vn" in capsys.readouterr().out.splitlines()[2]
    assert main(["sql", "SELECT count(*) AS kursk FROM search_articles('Kursk')", "--config", config]) == 0
    drawn = [line.strip("│ ") for line in capsys.readouterr().out.splitlines()]
    assert "kursk" in drawn and "3" in drawn  # DuckDB's box drawing: the column, then its one value
    assert main(["sql", "SELECT nothing FROM nowhere", "--config", config]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["index", "--config", config]) == 0
    assert capsys.readouterr().out.startswith("0 articles added")


def test_export_writes_parquet_that_another_duckdb_reads(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(copy_of_topic_warehouse(tmp_path_factory.mktemp("topic"), tmp_path))
    assert main(["export", str(tmp_path / "out"), "--config", config]) == 0
    months = sorted(p.name for p in (tmp_path / "out" / "articles").iterdir())
    assert "month=2025-12" in months and "month=2024-10" in months
    other = duckdb.connect()
    articles = other.sql(f"SELECT count(*), count(DISTINCT month) FROM '{tmp_path}/out/articles/*/*.parquet'")
    assert articles.fetchone() == (63, len(months))
    for name in ("stories", "daily_volume", "sources", "feed_health", "runs", "entries", "feeds"):
        assert other.sql(f"SELECT count(*) FROM '{tmp_path}/out/{name}.parquet'").fetchone()[0] > 0  # type: ignore[index]
    assert "minhash" not in [
        c[0] for c in other.sql(f"DESCRIBE SELECT * FROM '{tmp_path}/out/articles/*/*.parquet'").fetchall()
    ]


def readme_queries() -> list[tuple[str, str]]:
    """(query, the output printed under it) of the README's "Queries and their output"."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Queries and their output", 1)[1].split("```sql\n", 1)[1].split("\n```", 1)[0]
    found = []
    for part in re.split(r"\n(?=-- )", "\n" + block.strip()):
        lines = [line for line in part.strip().splitlines() if not line.startswith("-- ")]
        query = "\n".join(line for line in lines if not line.startswith(("┌", "│", "├", "└")))
        shown = "\n".join(line for line in lines if line.startswith(("┌", "│", "├", "└")))
        if query.strip():
            found.append((query.strip(), shown))
    return found


def test_the_readmes_queries_run_with_the_columns_the_readme_shows(analyst: duckdb.DuckDBPyConnection) -> None:
    # Rows are not compared: delays grow with the clock, the scores follow the relevance model; the lead
    # regenerates the printed output (README) when they change.
    queries = readme_queries()
    assert len(queries) >= 8
    for query, shown in queries:
        header = [cell.strip() for cell in shown.splitlines()[1].strip("│").split("│")]
        relation = analyst.sql(query.rstrip(";"))
        assert relation.columns == header, query
        assert relation.fetchall(), query
