"""Marks (warehouse/marks.py, issue 12): a check reads only the rows after what was found settled, and what
it returns is the same as a look at the whole history would give."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from extractors.topic import Seed
from tests.test_scale import NOW, _page, _store, _texts
from warehouse import marks, store
from warehouse.db import connect, migrate

ANALYST, DESK = "analyst@example.org", "desk@example.org"


def _pending(con: duckdb.DuckDBPyConnection, recipient: str) -> list[str]:
    return [story.url for story in store.pending_alerts(con, recipient)]


def _send(con: duckdb.DuckDBPyConnection, urls: list[str], recipient: str, when: timedelta, *, ok: bool) -> None:
    """Begin a delivery at NOW + `when`; the server accepts it when `ok`, else it stays 'sending'."""
    started = NOW + when
    assert store.start_delivery(con, urls, recipient, f"<{when}@test>", started) == urls
    if ok:
        store.finish_delivery(con, f"<{when}@test>", started, started)


def _alerts(con: duckdb.DuckDBPyConnection) -> list[str]:
    texts = _texts()
    urls = [f"https://a.example/{n}" for n in range(3)]
    for n, url in enumerate(urls):  # three stories an hour apart: three alerts
        _store(con, NOW + timedelta(hours=n), _page(url, texts[n]))
    return urls


def test_an_alert_not_sent_holds_the_recipients_mark_and_a_later_one_is_read_after_it(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    a, b, c = _alerts(con)
    assert _pending(con, ANALYST) == [a, b, c]
    _send(con, [a, c], ANALYST, timedelta(hours=3), ok=True)
    _send(con, [b], ANALYST, timedelta(hours=3, minutes=1), ok=False)  # killed while sending: uncertain
    store.settle_alerts(con, [ANALYST], NOW + timedelta(days=5))
    assert marks.since(con, "alerts:analyst@example.org") == NOW + timedelta(hours=1)  # b is not settled
    assert _pending(con, ANALYST) == []
    assert store.retry_uncertain(con) == 1
    assert _pending(con, ANALYST) == [b]  # after the mark: found again
    _send(con, [b], ANALYST, timedelta(days=1), ok=True)
    store.settle_alerts(con, [ANALYST], NOW + timedelta(days=5))
    assert marks.since(con, "alerts:analyst@example.org") == NOW + timedelta(days=4)
    # The check reads only after the mark: an alert older than it is not looked at again...
    con.execute("INSERT INTO alerts VALUES ('https://a.example/old', ?, 'run-old', NULL)", [NOW])
    assert _pending(con, ANALYST) == []
    # ...while a recipient without a mark has every story pending (the alert without an article is none), and
    # a new story is pending for both.
    assert _pending(con, DESK) == [a, b, c]
    _store(con, NOW + timedelta(days=5), _page("https://a.example/new", "A short note on another matter."))
    assert _pending(con, ANALYST) == ["https://a.example/new"]
    overview = store.alert_overview(con, [ANALYST])
    assert overview["waiting"] == 1 and [row[-1] for row in overview["pending"]] == ["https://a.example/new"]
    assert [row[-1] for row in overview["recent"]] == [b, a, c]  # the titles of the recent deliveries are found
    assert store.alerts_waiting(con, [ANALYST, DESK]) == 5


def test_a_recipient_never_sent_anything_starts_from_the_window_not_the_whole_history(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    a, b, c = _alerts(con)
    _send(con, [a], ANALYST, timedelta(hours=3), ok=True)
    window = NOW + timedelta(hours=1, minutes=30)  # as if a, b were older than [alerts] new_recipient_days
    assert store.pending_alerts(con, DESK, window) == store.pending_alerts(con, DESK)[2:]  # the preview's view
    assert store.start_recipients(con, [ANALYST, DESK], window, NOW + timedelta(hours=3)) == [DESK]
    assert _pending(con, DESK) == [c]
    assert _pending(con, ANALYST) == [b, c]  # sent before: owed everything it has not had
    assert store.start_recipients(con, [DESK], NOW + timedelta(days=9), NOW + timedelta(days=9)) == []


def test_a_refused_message_leaves_its_alerts_pending_after_any_settling(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    a, b, c = _alerts(con)
    started = NOW + timedelta(hours=4)
    store.start_delivery(con, [a, b, c], ANALYST, "<refused@test>", started)
    store.abandon_delivery(con, "<refused@test>", started)
    for days in (2, 10, 30):
        store.settle_alerts(con, [ANALYST], NOW + timedelta(days=days))
    assert marks.since(con, "alerts:analyst@example.org") == NOW
    assert _pending(con, ANALYST) == [a, b, c]


def test_articles_without_a_score_are_looked_for_after_the_mark(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    _store(con, NOW, dataclasses.replace(_page("https://a.example/x", _texts()[0]), relevance=None))
    assert [row[0] for row in store.articles_to_score(con)] == ["https://a.example/x"]
    store.settle(con, "unscored", NOW + timedelta(days=3), NOW + timedelta(days=3))
    assert marks.since(con, "unscored") == NOW + timedelta(days=2)
    assert store.articles_to_score(con) == []  # before the mark: not read (every run scores what it finds)
    assert len(store.articles_to_score(con, all_rows=True)) == 1  # a rescore reads them all
    _store(con, NOW + timedelta(days=3), dataclasses.replace(_page("https://a.example/y", _texts()[1]), relevance=None))
    assert [row[0] for row in store.articles_to_score(con)] == ["https://a.example/y"]
    # a mark that lags by less than a day is not rewritten: most runs write nothing
    store.settle(con, "unscored", NOW + timedelta(days=3, hours=12), NOW + timedelta(days=3, hours=12))
    assert marks.since(con, "unscored") == NOW + timedelta(days=2)


def test_the_count_of_articles_scored_otherwise_is_carried_by_the_mark_until_a_rescore(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    texts = _texts()
    _store(con, NOW, _page("https://a.example/0", texts[0]), _page("https://a.example/1", texts[1]))
    assert store.scored_otherwise(con, "v2", NOW + timedelta(days=3)) == 2
    mark = marks.get(con, "scored_with", "v2")
    assert mark is not None and mark.count == 2 and mark.settled_before == NOW + timedelta(days=2)
    _store(con, NOW + timedelta(days=3), _page("https://a.example/2", texts[2]))
    assert store.scored_otherwise(con, "v2", NOW + timedelta(days=3)) == 3  # 2 from the mark, 1 read
    assert store.scored_otherwise(con, "v3") == 3  # another version: the whole history, no mark written
    assert marks.get(con, "scored_with", "v3") is None
    page = _page("x", "x")
    assert page.relevance is not None
    rescored = dataclasses.replace(page.relevance, scored_with="v2")
    store.set_scores(con, NOW, [(f"https://a.example/{n}", rescored) for n in range(3)], rescore=True)
    assert marks.get(con, "scored_with") is None
    assert store.scored_otherwise(con, "v2", NOW + timedelta(days=4)) == 0


def test_the_stories_count_is_carried_by_the_mark_until_a_score_is_written(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    a = _alerts(con)[0]  # three relevant originals
    _store(con, NOW, _page("https://a.example/off", "Another matter entirely, and short.", relevant=False))
    assert store.story_count(con, NOW + timedelta(days=3)) == 3
    mark = marks.get(con, "stories")
    assert mark is not None and mark.count == 3
    _store(con, NOW + timedelta(days=3), _page("https://a.example/new", "A short note on another matter."))
    assert store.story_count(con, NOW + timedelta(days=3)) == 4  # 3 from the mark, 1 read
    assert con.execute("SELECT count(*) FROM stories").fetchone() == (4,)
    page = _page("x", "x", relevant=False)
    assert page.relevance is not None
    store.set_scores(con, NOW + timedelta(days=3), [(a, page.relevance)])  # a is off the topic now
    assert marks.get(con, "stories") is None
    assert store.story_count(con) == 3 == len(con.execute("SELECT url FROM stories").fetchall())


def test_a_count_read_before_another_process_scores_is_counted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, other = connect(tmp_path / "lake"), connect(tmp_path / "lake")
    urls = _alerts(con)
    page = _page("x", "x", relevant=False)
    assert page.relevance is not None
    off = dataclasses.replace(page.relevance, scored_with="v2")
    write, raced = marks.write, []

    rescored = [urls[:2], urls[2:]]

    def racing(c: duckdb.DuckDBPyConnection, name: str, *args: object, **kwargs: object) -> None:
        if name not in raced:  # a rescore in another process commits after the count was read, before the mark
            raced.append(name)
            store.set_scores(other, NOW, [(url, off) for url in rescored.pop(0)], rescore=True)
        write(c, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(marks, "write", racing)
    store.story_count(con, NOW + timedelta(days=3))  # 3 when read; 1 when the mark commits
    assert store.story_count(con) == 1 == len(con.execute("SELECT url FROM stories").fetchall())
    store.scored_otherwise(con, "v2", NOW + timedelta(days=3))  # 1 when read; 0 when the mark commits
    assert store.scored_otherwise(con, "v2") == 0
    assert raced == ["stories", "scored_with"]


def test_seeds_are_read_once_for_a_seed_set(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    texts = _texts()
    seeds = [Seed(f"s{n}", f"urn:newsmon:seed:s{n}", "Seed", None, None, None, "en", texts[n]) for n in range(3)]
    assert store.add_seeds(con, "run-0", NOW, seeds[:2]) == 2
    assert marks.get(con, "seeds") is not None
    con.execute("DELETE FROM articles WHERE seed_id = 's1'")  # not how seeds go: shows that nothing is read
    assert store.add_seeds(con, "run-1", NOW, seeds[:2]) == 0
    assert store.add_seeds(con, "run-2", NOW, seeds) == 2  # a new seed set is checked against the articles


def test_a_migration_forgets_every_mark(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    marks.put(con, "unscored", marks.Mark(None, 0, NOW), NOW)
    con.execute("DELETE FROM schema_migrations WHERE version = 16")  # 0016 may run again (ADD COLUMN IF NOT EXISTS)
    assert migrate(con) == ["0016_feed_body_digest.sql"]
    assert marks.get(con, "unscored") is None


def test_a_reader_of_a_warehouse_from_before_the_marks_checks_the_whole_history(tmp_path: Path) -> None:
    con = connect(tmp_path / "lake")
    urls = _alerts(con)
    con.execute("DROP TABLE marks")  # as before migration 0017, which a reader does not apply
    con.close()
    reader = connect(tmp_path / "lake", read_only=True)
    assert _pending(reader, ANALYST) == urls
    assert store.alert_overview(reader, [ANALYST])["waiting"] == 3
