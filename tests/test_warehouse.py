from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flows.settings import load_topic
from warehouse import store
from warehouse.db import connect, load_fts


def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = connect(path)
    files = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "warehouse" / "migrations").glob("*.sql"))
    applied = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert applied == [(int(name[:4]), name) for name in files]
    assert files[0] == "0001_init.sql" and len(files) >= 5
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"runs", "feeds", "entries", "articles", "page_failures"} <= tables


def test_seeds_are_loaded_once(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
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


def test_bm25_search_works_offline_over_articles(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    store.add_seeds(con, "r1", datetime.now(UTC), load_topic().seeds)
    load_fts(con)
    con.execute("PRAGMA create_fts_index('articles', 'url', 'title', 'text')")
    hits = con.execute(
        "SELECT seed_id FROM (SELECT seed_id, fts_main_articles.match_bm25(url, 'Valdai exercises') AS score "
        "FROM articles) WHERE score IS NOT NULL ORDER BY score DESC"
    ).fetchall()
    assert hits[0][0] in {"000_3a2a29942e16391a", "001_dfa0e65e255fd166"}


def test_a_warehouse_held_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    import pytest

    from warehouse.db import WarehouseError

    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        time.sleep(0.2)
        with pytest.raises(WarehouseError, match="in use by another process"):
            connect(path)
    finally:
        holder.kill()
        holder.wait()
