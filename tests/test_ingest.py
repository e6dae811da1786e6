"""The pipeline end to end: a real loopback HTTP server, a real DuckDB file, the real Prefect flow."""

from __future__ import annotations

import gc
import gzip
import multiprocessing.forkserver
from pathlib import Path
from typing import Any

import pytest

from extractors.articles import extract_article
from tests.conftest import ground_truth, page_html
from tests.helpers import PAGE_IDS, query, run, serve_news, token_f1, warehouse_spec, write_config
from tests.site import Route, Site, http_date, rss
from warehouse import store
from warehouse.db import connect

pytestmark = pytest.mark.usefixtures("prefect_server")

SNAPSHOT = {
    "articles": "SELECT * FROM articles ORDER BY url",
    "entries": "SELECT * FROM entries ORDER BY feed_url, entry_key",
    "page_failures": "SELECT * FROM page_failures ORDER BY url",
}


def snapshot(tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    return {name: query(tmp_path, sql) for name, sql in SNAPSHOT.items()}


def test_first_run_stores_every_article_with_its_text_beside_the_seeds(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, [serve_news(site, etag='"v1"')])
    report = run(config)

    assert report.articles_stored == len(PAGE_IDS)
    assert report.seeds_loaded == 5
    rows = query(tmp_path, "SELECT url, text, feed_url, entry_link, title FROM articles WHERE NOT is_seed ORDER BY url")
    truth = ground_truth()
    assert sorted(r[0] for r in rows) == sorted(site.url(f"/news/{p}") for p in PAGE_IDS)  # no utm_*
    scores = []
    for url, text, feed_url, entry_link, title in rows:
        page_id = url.rsplit("/", 1)[1]
        assert text == extract_article(page_html(page_id), url).text  # stored exactly as extracted
        scores.append(token_f1(text, truth[page_id]["articleBody"]))
        assert feed_url == site.url("/feed.xml")
        assert entry_link == url
        assert title
    assert min(scores) > 0.5 and sum(scores) / len(scores) > 0.85
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE is_seed")[0][0] == 5
    assert query(tmp_path, "SELECT count(*) FROM entries WHERE state = 'stored'")[0][0] == len(PAGE_IDS)


def test_second_run_fetches_no_article_again_and_changes_no_row(site: Site, tmp_path: Path, catalog: str) -> None:
    config = write_config(tmp_path, [serve_news(site)])  # no validators: the feed answers 200 every time
    run(config)
    before = snapshot(tmp_path)
    site.requests.clear()

    report = run(config)

    assert site.requested("/news/") == []
    assert site.requested() == ["/feed.xml"]
    assert report.entries_new == 0 and report.articles_stored == 0 and report.seeds_loaded == 0
    assert snapshot(tmp_path) == before


def test_feed_that_newly_returns_304_costs_one_request(site: Site, tmp_path: Path) -> None:
    modified = http_date(3600)
    config = write_config(tmp_path, [serve_news(site, etag='"abc"', last_modified=modified)])
    run(config)
    site.requests.clear()

    report = run(config)

    assert [r.path for r in site.requests] == ["/feed.xml"]
    assert site.requests[0].headers["if-none-match"] == '"abc"'
    assert site.requests[0].headers["if-modified-since"] == modified
    assert report.feeds_not_modified == 1
    assert query(tmp_path, "SELECT etag, last_status, consecutive_errors FROM feeds") == [('"abc"', 304, 0)]


def test_a_feed_without_validators_is_not_parsed_again_while_its_body_is_the_same(site: Site, tmp_path: Path) -> None:
    """No ETag, no Last-Modified: the digest of the last body parsed stands in for them (migration 0016)."""
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    assert run(config).articles_stored == 2
    (digest,) = query(tmp_path, "SELECT body_digest FROM feeds")[0]
    assert digest is not None

    again = run(config)
    assert again.feeds_not_modified == 1 and again.entries_new == 0
    assert query(tmp_path, "SELECT body_digest, last_status, consecutive_errors FROM feeds") == [(digest, 200, 0)]

    forced = run(config, force=True)  # --force parses whatever the body
    assert forced.feeds_not_modified == 0 and forced.entries_new == 0

    serve_news(site, PAGE_IDS[:3])  # the feed changes: parsed, its new entry stored
    changed = run(config)
    assert changed.feeds_not_modified == 0 and changed.entries_new == 1 and changed.articles_stored == 1
    assert query(tmp_path, "SELECT body_digest FROM feeds")[0][0] not in (None, digest)


def _fork_server_pid() -> int | None:
    pid: int | None = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    return pid


def test_extraction_fork_server_starts_when_pages_are_likely_and_an_idle_run_leaves_it_alone(
    site: Site, tmp_path: Path
) -> None:
    """Its imports and warm-up (1 s of CPU) overlap the warehouse's opening and the poll when pages will follow;
    a run after an idle one starts it only if a feed brings entries."""
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2], etag='"v1"')])
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    assert warehouse_spec(tmp_path).is_new or warehouse_spec(tmp_path).catalog

    assert run(config).articles_stored == 2  # a first run
    assert _fork_server_pid() is not None
    con = connect(warehouse_spec(tmp_path))
    try:
        assert store.pages_may_follow(con)  # the last run found entries: the next one starts it at once
    finally:
        con.close()

    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    assert run(config).entries_new == 0  # the feed answers 304, but the run could not know it would
    assert _fork_server_pid() is not None
    con = connect(warehouse_spec(tmp_path))
    try:
        assert not store.pages_may_follow(con)  # that run found nothing
    finally:
        con.close()

    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    assert run(config).entries_new == 0
    assert _fork_server_pid() is None  # after an idle run, an idle run starts no fork server


def test_a_run_leaves_what_the_process_held_before_it_out_of_its_collections(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc.freeze for the time of the run: full collections then skip Prefect's, pydantic's and the modules'
    objects (1.17 s of a 1,000-page run's 8.6 s of main-process CPU before)."""
    from flows import ingest

    frozen_while_storing: list[int] = []
    original = ingest._ingest_pages

    def spy(*args: Any, **kwargs: Any) -> None:
        frozen_while_storing.append(gc.get_freeze_count())
        original(*args, **kwargs)

    monkeypatch.setattr(ingest, "_ingest_pages", spy)
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    assert gc.get_freeze_count() == 0
    assert run(config).articles_stored == 2
    assert frozen_while_storing and frozen_while_storing[0] > 50_000
    assert gc.get_freeze_count() == 0  # unfrozen after the run


def test_forced_run_ignores_validators_but_stores_nothing_twice(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, [serve_news(site, etag='"abc"')])
    run(config)
    site.requests.clear()

    report = run(config, force=True)

    assert "if-none-match" not in site.requests[0].headers
    assert report.entries_new == 0 and site.requested("/news/") == []
    assert query(tmp_path, "SELECT etag FROM feeds") == [('"abc"',)]


def test_failed_page_is_retried_on_a_later_run_and_then_stored(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, [serve_news(site)])
    broken = f"/news/{PAGE_IDS[0]}"
    good = site.routes[broken]
    site.routes[broken] = Route(body=b"gone for now", status=404, content_type="text/plain")

    first = run(config)
    assert first.articles_stored == len(PAGE_IDS) - 1
    assert query(
        tmp_path, "SELECT url, reason, http_status, attempts, next_retry_at IS NOT NULL FROM page_failures"
    ) == [(site.url(broken), "HTTP 404", 404, 1, True)]

    site.routes[broken] = good
    second = run(config)

    assert second.articles_stored == 1
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == len(PAGE_IDS)
    assert query(tmp_path, "SELECT resolved_at IS NOT NULL FROM page_failures") == [(True,)]


def test_page_that_keeps_failing_is_given_up_after_the_maximum_attempts(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, [serve_news(site, [PAGE_IDS[0]])], "max_page_attempts = 2\n")
    site.routes[f"/news/{PAGE_IDS[0]}"] = Route(status=404)
    run(config)
    run(config)
    site.requests.clear()

    run(config)

    assert site.requested("/news/") == []
    assert query(tmp_path, "SELECT attempts, next_retry_at FROM page_failures") == [(2, None)]
    assert query(tmp_path, "SELECT state FROM entries") == [("failed",)]


def test_entry_pointing_at_a_refused_address_is_never_requested(site: Site, tmp_path: Path) -> None:
    # localhost resolves to 127.0.0.1, but only the host name "127.0.0.1" is allowed.
    site.routes["/news/private"] = Route(body=b"<html><body><p>secret</p></body></html>")
    site.routes["/news/redirect"] = Route(status=302, location=site.url("/news/private", host="localhost"))
    site.routes["/feed.xml"] = Route(
        body=rss(
            "t",
            [
                {"title": "direct", "link": site.url("/news/private", host="localhost"), "guid": "a"},
                {"title": "redirected", "link": site.url("/news/redirect"), "guid": "b"},
            ],
        ),
        content_type="application/rss+xml",
    )
    config = write_config(tmp_path, [site.url("/feed.xml")])

    report = run(config)

    assert site.requested("/news/private") == []
    assert site.requested("/news/redirect") == ["/news/redirect"]  # the redirect target is what is refused
    assert report.pages_failed == 2
    states = query(tmp_path, "SELECT state FROM entries ORDER BY entry_key")
    assert states == [("refused",), ("refused",)]
    reasons = [r[0] for r in query(tmp_path, "SELECT reason FROM page_failures")]
    assert all("non-public address" in reason for reason in reasons)


def test_broken_feeds_are_reported_and_the_run_goes_on(site: Site, tmp_path: Path) -> None:
    good = serve_news(site, [PAGE_IDS[0]])
    site.routes["/missing.xml"] = Route(status=404, content_type="text/plain")
    site.routes["/error.xml"] = Route(status=500, content_type="text/plain")
    site.routes["/malformed.xml"] = Route(body=b"<rss><channel><title>x</ti", content_type="application/rss+xml")
    site.routes["/slow.xml"] = Route(body=rss("slow", []), delay=3.0)
    site.routes["/huge.xml"] = Route(body=b"<rss>" + b" " * 2_000_000 + b"</rss>")
    urls = [site.url(p) for p in ("/missing.xml", "/error.xml", "/malformed.xml", "/slow.xml", "/huge.xml")]
    config = write_config(tmp_path, [good, *urls], "max_bytes = 1000000\n")

    report = run(config)

    assert report.articles_stored == 1
    errors = dict(report.feed_errors)
    assert errors[site.url("/missing.xml")] == "HTTP 404"
    assert errors[site.url("/error.xml")] == "HTTP 500"
    assert "not a readable feed" in errors[site.url("/malformed.xml")]
    assert "timed out" in errors[site.url("/slow.xml")]
    assert "cap" in errors[site.url("/huge.xml")]
    assert site.requested("/error.xml") == ["/error.xml", "/error.xml"]  # one retry on a 5xx
    assert site.requested("/missing.xml") == ["/missing.xml"]  # none on a 404
    rows = query(tmp_path, "SELECT url, consecutive_errors, last_error IS NOT NULL FROM feeds WHERE url != ?", [good])
    assert all(errors == 1 and has_error for _, errors, has_error in rows)


def test_pages_redirected_gzipped_or_in_another_charset_are_stored(site: Site, tmp_path: Path) -> None:
    feed = serve_news(site, PAGE_IDS[:2])
    site.routes[f"/news/{PAGE_IDS[0]}"].gzip = True
    site.routes["/old/story"] = Route(status=301, location=site.url(f"/news/{PAGE_IDS[1]}?utm_campaign=x#top"))
    cyrillic = "Россия и Северная Корея подписали договор о стратегическом партнёрстве. " * 12
    site.routes["/news/cp1251"] = Route(
        body=f"<html><head><title>Договор</title></head><body><article><p>{cyrillic}</p></article></body></html>".encode(
            "cp1251"
        ),
        content_type="text/html; charset=windows-1251",
    )
    site.routes["/feed2.xml"] = Route(
        body=rss(
            "more",
            [
                {"title": "moved", "link": site.url("/old/story"), "guid": "moved"},
                {"title": "cyrillic", "link": site.url("/news/cp1251"), "guid": "cp"},
            ],
        )
    )
    config = write_config(tmp_path, [feed, site.url("/feed2.xml")])

    report = run(config)

    assert report.pages_failed == 0
    urls = {r[0] for r in query(tmp_path, "SELECT url FROM articles WHERE NOT is_seed")}
    # The moved story resolves to an article already stored under its canonical URL: stored once.
    assert urls == {site.url(f"/news/{PAGE_IDS[0]}"), site.url(f"/news/{PAGE_IDS[1]}"), site.url("/news/cp1251")}
    text, language = query(tmp_path, "SELECT text, language FROM articles WHERE url = ?", [site.url("/news/cp1251")])[0]
    assert "Северная Корея" in text and language == "ru"


def test_oversized_page_and_decompression_bomb_stop_at_the_cap(site: Site, tmp_path: Path) -> None:
    site.routes["/news/big"] = Route(body=b"<html><body>" + b"<p>word </p>" * 200_000 + b"</body></html>")
    site.routes["/news/bomb"] = Route(raw_gzip=gzip.compress(b"\0" * 50_000_000))
    site.routes["/news/pdf"] = Route(body=b"%PDF-1.4 ...", content_type="application/pdf")
    items = [{"title": n, "link": site.url(f"/news/{n}"), "guid": n} for n in ("big", "bomb", "pdf")]
    site.routes["/feed.xml"] = Route(body=rss("t", items))
    config = write_config(tmp_path, [site.url("/feed.xml")], "max_bytes = 1000000\n")

    report = run(config)

    reasons = dict(report.page_errors)
    assert "cap" in reasons[site.url("/news/big")]
    assert "cap" in reasons[site.url("/news/bomb")]
    assert reasons[site.url("/news/pdf")] == "not an HTML page (application/pdf)"


def test_every_stored_article_and_seed_gets_a_score_and_rescore_applies_a_new_threshold(
    site: Site, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [serve_news(site, PAGE_IDS[:2])])
    assert run(config).scored_otherwise == 0
    rows = query(tmp_path, "SELECT is_seed, relevance, is_relevant, nearest_seed, relevance_why FROM articles")
    assert len(rows) == 7 and all(r[1] is not None and r[3] and r[4] for r in rows)
    # The seeds define the topic; the test pages (tech and business news) are off it.
    assert all(relevant for is_seed, _, relevant, _, _ in rows if is_seed)
    assert not any(relevant for is_seed, _, relevant, _, _ in rows if not is_seed)

    config.write_text(config.read_text(encoding="utf-8") + "[topic]\nthreshold = 1.0\n", encoding="utf-8")
    stale = run(config)  # the run notices that the stored scores were made under another definition
    assert stale.scored_otherwise == 7
    assert "7 articles were scored under another topic definition" in stale.render()
    assert "newsmon rescore" in stale.render()
    from flows.cli import main

    assert main(["rescore", "--config", str(config)]) == 0
    relevant, perfect = query(
        tmp_path, "SELECT count(*) FILTER (is_relevant), count(*) FILTER (relevance >= 1.0) FROM articles"
    )[0]
    assert relevant == perfect  # is_relevant now means relevance >= 1.0 (the version check below: rescored)
    assert len({version for (version,) in query(tmp_path, "SELECT scored_with FROM articles")}) == 1
    assert run(config).scored_otherwise == 0


def _wrapped(headline: str, paragraphs: list[str], boilerplate: list[str]) -> bytes:
    """A page of another outlet: its own navigation and footer around the article's paragraphs."""
    nav = "".join(f"<li><a href='/x{i}'>{p[:60]}</a></li>" for i, p in enumerate(boilerplate[:6]))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    footer = "".join(f"<p>{p}</p>" for p in boilerplate[-2:])
    return (
        f"<html lang='en'><head><title>{headline}</title></head><body><nav><ul>{nav}</ul></nav>"
        f"<article><h1>{headline}</h1>{body}</article><footer>{footer}</footer></body></html>"
    ).encode()


def test_syndicated_copy_is_stored_once_as_a_copy_and_folded_into_its_story(site: Site, tmp_path: Path) -> None:
    from flows.settings import load_topic

    seed = next(s for s in load_topic().seeds if s.seed_id.startswith("003"))
    paragraphs = [line for line in seed.text.splitlines()[1:] if line.strip()][:-1]  # the last one cut
    other = ground_truth()[PAGE_IDS[0]]["articleBody"].splitlines()
    site.routes["/wire/copy"] = Route(body=_wrapped("Putin and Kim seal defence pact", paragraphs, other))
    site.routes["/other/copy"] = Route(body=_wrapped("Russia, North Korea pact", paragraphs[1:], other[3:]))
    items = [
        {"title": "copy", "link": site.url("/wire/copy?utm_source=x"), "guid": "c1"},
        {"title": "the same page, AMP link", "link": site.url("/wire/copy/amp"), "guid": "c2"},
        {"title": "another outlet's copy", "link": site.url("/other/copy"), "guid": "c3"},
    ]
    site.routes["/feed.xml"] = Route(body=rss("wire", items))
    config = write_config(tmp_path, [site.url("/feed.xml")])

    run(config)

    copies = query(tmp_path, "SELECT url, duplicate_of, is_relevant FROM articles WHERE NOT is_seed ORDER BY url")
    assert copies == [(site.url("/other/copy"), seed.url, True), (site.url("/wire/copy"), seed.url, True)]
    assert site.requested("/wire/copy/amp") == []  # the AMP link is the same article: fetched once, canonically
    # A seed is no story (0008): its fetched copies make one story, led by the first seen, the other folded in.
    story = query(tmp_path, "SELECT url, copies, copy_urls, copy_of_seed FROM stories")
    assert story == [(site.url("/other/copy"), 1, [site.url("/wire/copy")], seed.seed_id)]


def test_prefilter_skips_clearly_off_topic_entries_and_records_why(site: Site, tmp_path: Path) -> None:
    site.routes["/news/on"] = Route(body=_wrapped("x", ["North Korean troops fight for Russia in Kursk."] * 5, []))
    site.routes[f"/news/{PAGE_IDS[0]}"] = Route(body=page_html(PAGE_IDS[0]))
    items = [
        {"title": "North Korea sends troops to Russia", "link": site.url("/news/on"), "guid": "on"},
        {"title": "New game streaming services compared", "link": site.url(f"/news/{PAGE_IDS[0]}"), "guid": "off"},
    ]
    site.routes["/feed.xml"] = Route(body=rss("t", items))
    config = write_config(tmp_path, [site.url("/feed.xml")], "[topic]\nprefilter = true\n")

    report = run(config)

    assert site.requested("/news/") == ["/news/on"]
    assert report.entries_skipped == 1
    rows = query(tmp_path, "SELECT title, state, prefilter_score, prefilter_why FROM entries ORDER BY title DESC")
    assert rows[0][:2] == ("North Korea sends troops to Russia", "stored")
    assert rows[1][1] == "skipped" and rows[1][2] < 0.1 and "does not name Russia" in rows[1][3]


def test_a_run_by_hand_sends_no_heartbeats_unless_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's heartbeat thread made every run wait up to a second at its end, for a server nobody watches."""
    from prefect.settings import get_current_settings

    from flows.ingest import one_off_settings

    for name in ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"):
        monkeypatch.delenv(name, raising=False)
    with one_off_settings():
        assert get_current_settings().flows.heartbeat_frequency is None
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "60")
    with one_off_settings():
        assert get_current_settings().flows.heartbeat_frequency is not None


def test_the_pages_own_date_is_stored_beside_the_feeds(site: Site, tmp_path: Path) -> None:
    text = " ".join(["North Korean troops and Russian officers trained together near the border."] * 12)
    site.routes["/dated"] = Route(
        body=(
            '<html lang="en"><head><title>Drills</title>'
            '<meta property="article:published_time" content="2024-06-19T08:00:00+09:00"></head>'
            f"<body><article><h1>Drills</h1><p>{text}</p><p>{text}</p></article></body></html>"
        ).encode()
    )
    items = [{"title": "Drills", "link": site.url("/dated"), "guid": "d1", "pubDate": "Tue, 19 Nov 2024 08:00:00 GMT"}]
    site.routes["/feed.xml"] = Route(body=rss("News", items), content_type="application/rss+xml")
    run(write_config(tmp_path, [site.url("/feed.xml")]))
    rows = query(
        tmp_path, "SELECT published_at::DATE::VARCHAR, page_published::VARCHAR FROM articles WHERE NOT is_seed"
    )
    assert rows == [("2024-11-19", "2024-06-19")]  # the feed's date first, the page's beside it
