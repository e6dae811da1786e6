from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extractors.articles import ExtractedArticle
from extractors.feeds import FeedEntry
from flows.settings import load_topic
from warehouse import store
from warehouse.db import WarehouseError, _groups, _migrations, attach_statements, connect, spec_for
from warehouse.store import FeedOutcome, NewArticle, PageFailure

LEGACY = Path(__file__).resolve().parents[1] / "warehouse" / "migrations_duckdb"


def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "w"
    connect(path).close()
    con = connect(path)
    files = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "warehouse" / "migrations").glob("*.sql"))
    applied = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert applied == [(int(name[:4]), name) for name in files]
    assert files[0] == "0001_lake.sql"
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"runs", "feeds", "entries", "articles", "page_failures", "alerts", "stories"} <= tables
    assert (path / "catalog.sqlite").is_file() and (path / "data").is_dir()


def test_a_new_warehouse_applies_its_migrations_in_few_transactions_each_table_option_first(tmp_path: Path) -> None:
    groups = _groups(_migrations())
    assert len(groups) < len(_migrations())
    # DuckLake refuses a table option on a table created in the same transaction: one starts each group.
    assert all("set_option(" not in sql for group in groups for _, _, sql in group[1:])
    con = connect(tmp_path / "w")
    snapshots = con.execute("SELECT count(*) FROM newsmon.snapshots()").fetchone()
    assert snapshots is not None and snapshots[0] <= len(groups) + 2  # the lake's creation and schema_migrations


def test_seeds_are_loaded_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w")
    seeds = load_topic().seeds
    now = datetime.now(UTC)
    assert store.add_seeds(con, "r1", now, seeds) == 5
    assert store.add_seeds(con, "r2", now, seeds) == 0
    rows = con.execute(
        "SELECT seed_id, url, source, published_at IS NOT NULL FROM articles WHERE is_seed ORDER BY seed_id"
    ).fetchall()
    assert len(rows) == 5 and all(published for *_, published in rows)
    assert rows[1][1].startswith("https://dantri.com.vn/") and rows[1][2] == "Dan Tri Newspaper"
    assert rows[0][1] == "urn:newsmon:seed:000_3a2a29942e16391a"


def test_a_reader_in_another_process_never_blocks_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "w"
    connect(path).close()
    attach = "; ".join(attach_statements(spec_for(path), read_only=True))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, time\n"
            f"c = duckdb.connect(); [c.execute(s) for s in {attach!r}.split('; ')]\n"
            "c.execute('BEGIN'); c.execute('SELECT count(*) FROM articles').fetchall()\n"
            "print('holding', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        con = connect(path)
        assert store.add_seeds(con, "r1", datetime.now(UTC), load_topic().seeds) == 5
        con.close()
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    reader = connect(path, read_only=True)
    assert reader.execute("SELECT count(*) FROM articles").fetchone() == (5,)
    with pytest.raises(duckdb.Error):
        reader.execute("DELETE FROM articles")


def test_a_read_only_open_of_a_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no warehouse at"):
        connect(tmp_path / "nothing", read_only=True)


def _legacy_warehouse(path: Path) -> None:
    """A warehouse as the DuckDB-file release made it: its migrations, a seed, an entry, an alert."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)")
    for item in sorted(LEGACY.glob("*.sql")):
        con.execute(item.read_text(encoding="utf-8"))
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [int(item.name[:4]), item.name])
    con.execute("INSERT INTO runs (run_id, started_at) VALUES ('old-run', now())")
    con.execute("INSERT INTO feeds (url, etag, added_at) VALUES ('https://example.org/rss', '\"v1\"', now())")
    con.execute(
        "INSERT INTO entries (feed_url, entry_key, canonical_link, first_seen_at, run_id, state, article_url) "
        "VALUES ('https://example.org/rss', 'k1', 'https://example.org/a', now(), 'old-run', 'stored', "
        "'https://example.org/a')"
    )
    con.execute(
        "INSERT INTO articles (url, title, text, first_seen_at, run_id, is_relevant, relevance) "
        "VALUES ('https://example.org/a', 'Old story', 'old text', now(), 'old-run', true, 0.9)"
    )
    con.execute("INSERT INTO alerts VALUES ('https://example.org/a', now(), 'old-run')")
    con.close()


def test_a_warehouse_of_the_duckdb_file_release_is_upgraded_on_first_open(tmp_path: Path) -> None:
    old = tmp_path / "newsmon.duckdb"
    _legacy_warehouse(old)
    con = connect(old)  # an old configuration names the file; the lake is the directory beside it
    assert con.execute("SELECT title, is_relevant FROM articles").fetchall() == [("Old story", True)]
    assert con.execute("SELECT etag FROM feeds").fetchall() == [('"v1"',)]
    assert con.execute("SELECT state FROM entries").fetchall() == [("stored",)]
    assert con.execute("SELECT count(*) FROM alerts WHERE claimed_at IS NULL").fetchone() == (1,)
    con.close()
    assert (tmp_path / "newsmon" / "catalog.sqlite").is_file()
    assert not old.exists() and (tmp_path / "newsmon.duckdb.upgraded").is_file()
    again = connect(old)  # nothing copied twice
    assert again.execute("SELECT count(*) FROM articles").fetchone() == (1,)


def test_a_run_compacts_the_small_files_once_they_pile_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warehouse.db

    con = connect(tmp_path / "w")
    for start in range(0, 200, 40):  # five commits, five small files
        con.execute(
            "INSERT INTO entries (feed_url, entry_key, first_seen_at, run_id, state) "
            "SELECT 'f', 'k' || range, now(), 'r', 'pending' FROM range(?, ?)",
            [start, start + 40],
        )
    files = warehouse.db.file_count(con)
    assert files >= 5
    monkeypatch.setattr(warehouse.db, "MAINTENANCE_FILES", files + 1)
    assert not warehouse.db.maintain(con)
    monkeypatch.setattr(warehouse.db, "MAINTENANCE_FILES", files)
    assert warehouse.db.maintain(con)
    assert warehouse.db.file_count(con) < files
    assert con.execute("SELECT count(DISTINCT entry_key) FROM entries").fetchone() == (200,)


def test_a_page_given_up_with_its_host_is_resolved_once_stored(tmp_path: Path) -> None:
    """A page whose host was given up has a failure row but no attempt counted: the task still says it failed
    before, and storing it resolves that row (the storing transaction skips page_failures otherwise)."""
    now = datetime.now(UTC)
    feed, link = "https://news.example/feed.xml", "https://news.example/story"
    con = connect(tmp_path / "w")
    store.sync_feeds(con, [(feed, None)], now)
    entry = FeedEntry("k", link, link, "Story", None, now)
    store.record_feed_outcomes(con, "r1", [FeedOutcome(feed, now, now, status=200, entries=(entry,))], force=False)
    (task,) = store.pages_due(con, now)
    assert not task.failed_before
    store.store_pages(con, "r1", now, [], [PageFailure(task, "host given up", counted=False)], max_attempts=5)
    (task,) = store.pages_due(con, now + timedelta(days=1))
    assert task.failed_before and task.attempts == 0
    article = ExtractedArticle(link, "Story", None, None, "en", None, None, "Some text of the story. " * 5)
    store.store_pages(con, "r2", now, [NewArticle(task, link, article)], [], max_attempts=5)
    assert con.execute("SELECT resolved_at IS NOT NULL FROM page_failures").fetchall() == [(True,)]
    assert con.execute("SELECT state FROM entries").fetchall() == [("stored",)]


def _article_layout(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, int, bool]:
    """(articles, the largest row group, stored in first_seen_at order) of the warehouse at path."""
    files = str(path / "data" / "main" / "articles" / "*.parquet")
    largest = con.execute(f"SELECT max(row_group_num_rows) FROM parquet_metadata('{files}')").fetchone()
    stored = [r[0] for r in con.execute("SELECT first_seen_at FROM articles").fetchall()]
    return len(stored), int(largest[0]) if largest else 0, stored == sorted(stored)


def test_articles_are_rewritten_in_small_row_groups_in_time_order(tmp_path: Path) -> None:
    # The layout the search's article lookups rely on (0010): a warehouse whose articles were written in
    # DuckLake's default row groups, out of time order, gets them rewritten when 0010 is applied.
    path = tmp_path / "w"
    con = connect(path)
    con.execute("CALL newsmon.set_option('parquet_row_group_size', 122880, table_name => 'articles')")
    con.execute(
        "INSERT INTO articles (url, text, first_seen_at, run_id) SELECT 'https://a.example/' || i, repeat('x', 50),"
        " TIMESTAMPTZ '2025-01-01' + to_seconds(10000 - i), 'r' FROM range(10000) t(i)"
    )
    con.execute("DELETE FROM schema_migrations WHERE version = 10")
    con.execute("CALL ducklake_expire_snapshots('newsmon', older_than => now())")
    con.execute("CALL ducklake_cleanup_old_files('newsmon', cleanup_all => true)")
    assert _article_layout(con, path) == (10000, 10000, False)
    con.close()
    con = connect(path)  # applies 0010 again
    con.execute("CALL ducklake_expire_snapshots('newsmon', older_than => now())")
    con.execute("CALL ducklake_cleanup_old_files('newsmon', cleanup_all => true)")
    assert _article_layout(con, path) == (10000, 2048, True)
