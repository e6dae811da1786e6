"""A run's statements read what the run needs (issue 12): the copy window, the seeds, lookups by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bench.relevance import _article
from extractors.articles import ExtractedArticle
from extractors.duplicates import fingerprint, is_copy
from extractors.relevance import Relevance
from extractors.topic import Seed
from tests.topic_warehouse import topic_warehouse
from warehouse import store
from warehouse.articles import COPY_WINDOW_DAYS, SEED_BANDS_AT
from warehouse.db import connect
from warehouse.feeds import PageTask
from warehouse.lookup import article_columns
from warehouse.store import NewArticle

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "topic" / "articles" / "on"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _texts() -> list[str]:
    return [_article(path)[1] for path in sorted(SHARED.glob("*.md"))[:3]]


def _page(url: str, text: str, *, relevant: bool = True) -> NewArticle:
    task = PageTask(
        url=url, feed_url="https://feeds.example/a.xml", feed_name="A", published_at=None, title="T", attempts=0
    )
    article = ExtractedArticle(
        url=url, title="T", author=None, published=None, language="en", site_name="Outlet", description=None, text=text
    )
    relevance = Relevance(
        score=0.9 if relevant else 0.1,
        is_relevant=relevant,
        matched=("russia",),
        nearest_seed=None,
        seed_similarity=0.0,
        why="test",
    )
    return NewArticle(task, url, article, relevance, fingerprint(text))


def _store(con: duckdb.DuckDBPyConnection, when: datetime, *pages: NewArticle) -> None:
    store.store_pages(con, f"run-{when:%j%H}", when, list(pages), [], max_attempts=3, is_copy=is_copy)


def _original(con: duckdb.DuckDBPyConnection, url: str) -> str | None:
    row = con.execute("SELECT duplicate_of FROM articles WHERE url = ?", [url]).fetchone()
    assert row is not None
    return str(row[0]) if row[0] is not None else None


def test_a_copy_within_the_window_is_marked_and_one_of_an_older_article_is_not(tmp_path: Path) -> None:
    old_text, recent_text, _ = _texts()
    con = connect(tmp_path / "lake")
    _store(con, NOW - timedelta(days=COPY_WINDOW_DAYS + 2), _page("https://a.example/old", old_text))
    _store(con, NOW - timedelta(days=COPY_WINDOW_DAYS - 2), _page("https://a.example/recent", recent_text))
    _store(con, NOW, _page("https://b.example/old-copy", old_text), _page("https://b.example/recent-copy", recent_text))
    assert _original(con, "https://b.example/recent-copy") == "https://a.example/recent"
    assert _original(con, "https://b.example/old-copy") is None  # its original is older than the window
    # each band row carries its article's time: the window is a filter on it
    assert con.execute("SELECT count(*) FROM article_bands WHERE first_seen_at IS NULL").fetchone() == (0,)


def test_each_article_has_its_fingerprints_bands_with_its_time(tmp_path: Path) -> None:
    texts = _texts()
    con = connect(tmp_path / "lake")
    _store(con, NOW, *(_page(f"https://a.example/{number}", text) for number, text in enumerate(texts)))
    for number, text in enumerate(texts):
        rows = con.execute(
            "SELECT band, hash, first_seen_at FROM article_bands WHERE url = ? ORDER BY band",
            [f"https://a.example/{number}"],
        ).fetchall()
        fp = fingerprint(text)
        assert fp is not None
        assert rows == [(band, value, NOW) for band, value in enumerate(fp.bands)]


def test_copies_within_one_batch_point_at_the_first_stored(tmp_path: Path) -> None:
    text = _texts()[0]
    con = connect(tmp_path / "lake")
    _store(con, NOW, _page("https://b.example/2", text), _page("https://a.example/1", text))
    assert _original(con, "https://b.example/2") == "https://a.example/1"
    assert _original(con, "https://a.example/1") is None
    _store(con, NOW + timedelta(hours=1), _page("https://c.example/3", text))
    assert _original(con, "https://c.example/3") == "https://a.example/1"


def test_a_copy_of_a_seed_is_marked_whatever_the_seeds_age(tmp_path: Path) -> None:
    text = _texts()[1]
    con = connect(tmp_path / "lake")
    seed = Seed(
        seed_id="s1",
        url="urn:newsmon:seed:s1",
        title="Seed",
        outlet=None,
        author=None,
        published_at=None,
        language="en",
        text=text,
    )
    store.add_seeds(con, "run-0", NOW - timedelta(days=400), [seed])
    store.set_fingerprints(con, [(seed.url, fingerprint(text))])
    assert con.execute("SELECT count(*) FROM article_bands WHERE first_seen_at = ?", [SEED_BANDS_AT]).fetchone() == (
        64,
    )
    _store(con, NOW, _page("https://a.example/seed-copy", text))
    assert _original(con, "https://a.example/seed-copy") == seed.url
    # the story is led by the seed's first copy (migration 0008), and counted as one
    _store(con, NOW + timedelta(hours=1), _page("https://b.example/seed-copy", text))
    assert con.execute("SELECT count(*), count(copy_of_seed) FROM stories").fetchone() == (1, 1)
    assert store.story_count(con) == 1


def test_article_columns_reads_the_row_groups_of_the_wanted_articles_only(tmp_path: Path) -> None:
    texts = _texts()
    con = connect(tmp_path / "lake")
    for day in range(3):  # three batches one day apart, each past DuckLake's inlining: three data files
        pages = [_page(f"https://a.example/{day}/{n}", texts[n % 3], relevant=False) for n in range(30)]
        _store(con, NOW + timedelta(days=day), *pages)
    found = article_columns(con, ["https://a.example/1/4", "https://a.example/none"], "text, source")
    assert found == {"https://a.example/1/4": (texts[1], "Outlet")}
    assert article_columns(con, [], "text") == {}
    # the second scan (the wide columns) opens the one file whose time range holds the article
    con.register("wanted_urls", con.execute("SELECT 'https://a.example/1/4' AS url").to_arrow_table())
    plan = con.execute(
        "EXPLAIN ANALYZE SELECT url, text FROM articles WHERE first_seen_at >= $t AND first_seen_at <= $t "
        "AND url IN (SELECT url FROM wanted_urls)",
        {"t": NOW + timedelta(days=1)},
    ).fetchall()[0][1]
    files = con.execute("SELECT count(*) FROM ducklake_list_files('newsmon', 'articles')").fetchone()
    assert files is not None and files[0] >= 3 and "Total Files Read: 1" in plan


def test_articles_are_written_in_small_row_groups(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    assert con.execute("SELECT current_setting('enable_external_file_cache')").fetchone() == (False,)
    option = con.execute(
        "SELECT value FROM ducklake_options('newsmon') WHERE option_name = 'parquet_row_group_size'"
        " AND scope_entry = 'main.articles'"
    ).fetchone()
    assert option == ("2048",)  # migration 0010


@pytest.mark.usefixtures("prefect_server")
def test_story_count_is_the_number_of_stories(tmp_path_factory: pytest.TempPathFactory) -> None:
    con = connect(topic_warehouse(tmp_path_factory.mktemp("topic")), read_only=True)
    try:
        view = con.execute("SELECT count(*) FROM stories").fetchone()
        assert view is not None and view[0] > 0
        assert store.story_count(con) == view[0]
    finally:
        con.close()
