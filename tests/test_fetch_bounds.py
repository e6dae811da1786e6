"""Bounded runs (issue 12): a trickling server, an unreachable host or a removed feed cannot hold a run up.

Real parts throughout: the loopback site, a closed loopback port, a name under .invalid (which never
resolves), the real Prefect flow and DuckDB file.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.cli import main
from flows.fetching import HOST_GIVE_UP_AFTER, Fetcher, FetchError
from flows.ingest import collect_articles, extract_pages, fetch_pages
from flows.settings import ConfigError, FetchSettings, load_settings
from flows.workers import extraction_pool
from tests.helpers import PAGE_IDS, query, run, serve_news, write_config
from tests.site import Route, Site, rss
from warehouse.store import PageTask

RUN_OVERHEAD = 20.0  # seconds a small run takes beside its fetching here (Prefect, extraction start-up)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _feed(site: Site, path: str, links: list[str]) -> str:
    items = [{"title": f"story {n}", "link": link, "guid": f"{path}#{n}"} for n, link in enumerate(links)]
    site.routes[path] = Route(body=rss(path, items), content_type="application/rss+xml")
    return site.url(path)


@pytest.mark.usefixtures("prefect_server")
def test_a_page_that_trickles_a_byte_a_second_is_cut_off_and_the_pages_beside_it_are_stored(
    site: Site, tmp_path: Path
) -> None:
    slow = f"/news/{PAGE_IDS[0]}"
    feed = serve_news(site)
    site.routes[slow].trickle = 1.0  # a byte a second: never idle long enough for the 2 s read timeout
    config = write_config(tmp_path, [feed], "request_seconds = 3\n")

    started = time.monotonic()
    assert main(["run", "--config", str(config), "-q"]) == 0
    elapsed = time.monotonic() - started

    print(f"figure: the run beside a trickling page took {elapsed:.1f} s (request_seconds = 3)")
    assert elapsed < 3 + RUN_OVERHEAD, elapsed
    assert query(tmp_path, "SELECT count(*) FROM articles WHERE NOT is_seed")[0][0] == len(PAGE_IDS) - 1
    rows = query(tmp_path, "SELECT url, reason, attempts, next_retry_at IS NOT NULL FROM page_failures")
    assert len(rows) == 1
    url, reason, attempts, will_retry = rows[0]
    assert url == site.url(slow) and reason.startswith("too slow:") and attempts == 1 and will_retry
    assert site.requested(slow) == [slow]  # cut off for good in this run: no retry of a trickle

    site.routes[slow].trickle = 0
    report = run(config)  # a later run retries it like any failure
    assert report.articles_stored == 1


@pytest.mark.usefixtures("prefect_server")
def test_the_run_fetch_deadline_cuts_a_page_in_flight_and_the_run_stores_the_rest(site: Site, tmp_path: Path) -> None:
    slow = f"/news/{PAGE_IDS[0]}"
    feed = serve_news(site)
    site.routes[slow].trickle = 1.0
    config = write_config(tmp_path, [feed], "deadline_seconds = 3\n")  # request_seconds: 60 by default

    started = time.monotonic()
    report = run(config)
    elapsed = time.monotonic() - started

    print(f"figure: the run cut by its fetch deadline took {elapsed:.1f} s (deadline_seconds = 3)")
    assert elapsed < 3 + RUN_OVERHEAD, elapsed
    assert report.articles_stored == len(PAGE_IDS) - 1
    reasons = [r[0] for r in query(tmp_path, "SELECT reason FROM page_failures")]
    assert len(reasons) == 1 and reasons[0].startswith("run's fetch deadline reached")
    assert "run's fetch deadline reached" in report.render()


def test_pages_the_deadline_comes_before_are_left_pending_not_failed(site: Site) -> None:
    site.routes["/a"] = Route(body=b"<html>" + b"a" * 100 + b"</html>", trickle=0.5)
    site.routes["/b"] = Route(body=b"<html>" + b"b" * 100 + b"</html>")
    tasks = [PageTask(site.url(p), "feed", None, None, None, 0) for p in ("/a", "/b")]
    settings = FetchSettings(allow_hosts=("127.0.0.1",), per_host=1, deadline_seconds=2)  # /b waits for /a
    started = time.monotonic()

    batch = fetch_pages.fn(tasks, settings, datetime.now(UTC) + timedelta(seconds=2), {})

    assert time.monotonic() - started < 4
    assert [f.reason.split(" (")[0] for f in batch.failures] == ["run's fetch deadline reached"]
    assert batch.left == 1 and batch.pages == [] and site.requested() == ["/a"]


@pytest.mark.usefixtures("prefect_server")
def test_a_host_that_refuses_or_does_not_resolve_costs_a_few_requests_and_no_attempts(
    site: Site, tmp_path: Path
) -> None:
    closed = _closed_port()
    refused = _feed(site, "/refused.xml", [f"http://127.0.0.1:{closed}/story/{n}" for n in range(12)])
    unresolved = _feed(site, "/unresolved.xml", [f"http://news.nowhere.invalid/story/{n}" for n in range(12)])
    good = serve_news(site, PAGE_IDS[:2])
    config = write_config(tmp_path, [good, refused, unresolved])
    per_host = FetchSettings().per_host

    report = run(config)

    assert report.articles_stored == 2
    print(f"figure: {report.page_requests} page requests (2 good pages, 24 on two unreachable hosts)")
    # At most one concurrent wave per host before it is given up; no retry after that.
    assert report.page_requests <= 2 + 2 * per_host, report.page_requests
    for host, first_error in ((f"127.0.0.1:{closed}", "connection failed"), ("news.nowhere.invalid", "DNS lookup")):
        rows = query(tmp_path, "SELECT attempts, reason FROM page_failures WHERE url LIKE ?", [f"http://{host}/%"])
        assert len(rows) == 12
        tried = [reason for attempts, reason in rows if attempts == 1]
        given_up = [reason for attempts, reason in rows if attempts == 0]  # not requested: no attempt spent
        print(f"figure: {host}: {len(tried)} of 12 pages requested, {len(given_up)} given up unrequested")
        assert HOST_GIVE_UP_AFTER <= len(tried) <= per_host and len(tried) + len(given_up) == 12
        assert all(r.startswith(f"host unreachable earlier in this run: {first_error}") for r in given_up), given_up
    assert "host unreachable earlier in this run" in report.render()
    assert report.hosts_given_up.keys() == {f"127.0.0.1:{closed}", "news.nowhere.invalid:80"}
    assert f"    127.0.0.1:{closed}: connection failed" in report.render()
    assert query(tmp_path, "SELECT count(*) FROM entries WHERE state = 'pending'")[0][0] == 24

    again = run(config)  # retried by the next run, as cheaply, without burning the attempts of the pages not tried
    print(f"figure: the next run made {again.page_requests} page requests")
    assert again.page_requests <= 2 * per_host
    assert query(tmp_path, "SELECT max(attempts) FROM page_failures")[0][0] <= 2


@pytest.mark.usefixtures("prefect_server")
def test_an_origin_given_up_while_polling_is_not_tried_again_for_its_pages(site: Site, tmp_path: Path) -> None:
    """A feed on a server that refuses connections gives its origin up while polling; the pages on that origin
    (here listed by another feed) are then recorded as failed for that reason without a request."""
    closed = _closed_port()
    listing = _feed(site, "/listing.xml", [f"http://127.0.0.1:{closed}/story/{n}" for n in range(6)])
    config = write_config(tmp_path, [listing, f"http://127.0.0.1:{closed}/feed.xml"])

    report = run(config)

    assert report.feeds_failed == 1 and report.page_requests == 0
    rows = query(tmp_path, "SELECT attempts, reason FROM page_failures")
    assert len(rows) == 6
    assert all(a == 0 and r.startswith("host unreachable earlier in this run: connection failed") for a, r in rows)
    assert report.hosts_given_up.keys() == {f"127.0.0.1:{closed}"}


@pytest.mark.usefixtures("prefect_server")
def test_a_feed_removed_from_the_config_has_its_pending_pages_left_alone(site: Site, tmp_path: Path) -> None:
    kept = serve_news(site, PAGE_IDS[:1])
    site.routes["/gone/1"] = Route(status=500, content_type="text/plain")  # fails: pending, due again at once
    removed = _feed(site, "/removed.xml", [site.url("/gone/1")])
    run(write_config(tmp_path, [kept, removed]))
    assert site.requested("/gone/") == ["/gone/1", "/gone/1"]  # tried, with one retry
    site.requests.clear()

    report = run(write_config(tmp_path, [kept]))

    assert site.requested("/gone/") == []
    assert report.pages_failed == 0
    assert query(tmp_path, "SELECT state FROM entries WHERE feed_url = ?", [removed]) == [("pending",)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deadline_seconds = 0", "[fetch] deadline_seconds must be seconds above 0 and at most 86400, not 0.0"),
        ("request_seconds = -1", "[fetch] request_seconds must not be negative"),
        ("request_seconds = inf", "[fetch] request_seconds must be seconds above 0 and at most 86400, not inf"),
        ("deadline_seconds = nan", "[fetch] deadline_seconds must be seconds above 0"),
        ('proxy = "proxy:3128"', '[fetch] proxy must be "", "none" or a URL like "http://proxy.example:3128"'),
        ('proxy = "http://:3128"', "[fetch] proxy must be"),
        ('proxy = "http://p:99999"', "[fetch] proxy must be"),
        ("proxy = false", "[fetch] proxy must be of type str"),
    ],
)
def test_each_new_fetch_bound_is_range_checked_at_load(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[fetch]\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith(f"{config}: {message}") and "\n" not in str(caught.value)  # file, then key


def test_the_new_fetch_keys_are_read(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[fetch]\ndeadline_seconds = 30\nrequest_seconds = 5.5\nproxy = "http://proxy.corp:3128"\n', encoding="utf-8"
    )
    fetch = load_settings(config).fetch
    assert (fetch.deadline_seconds, fetch.request_seconds, fetch.proxy) == (30.0, 5.5, "http://proxy.corp:3128")


def test_a_socks_proxy_in_the_environment_is_a_config_error_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    config = tmp_path / "c.toml"
    config.write_text("[fetch]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\$ALL_PROXY is 'socks5://127.0.0.1:1080': newsmon fetches through http"):
        load_settings(config)
    config.write_text('[fetch]\nproxy = "none"\n', encoding="utf-8")
    assert load_settings(config).fetch.proxy == "none"


def test_a_batch_lets_go_of_its_page_bodies_once_extraction_has_them(site: Site) -> None:
    serve_news(site, PAGE_IDS[:2])
    tasks = [PageTask(site.url(f"/news/{p}"), "feed", None, None, None, 0) for p in PAGE_IDS[:2]]
    batch = fetch_pages.fn(
        tasks, FetchSettings(allow_hosts=("127.0.0.1",)), datetime.now(UTC) + timedelta(seconds=60), {}
    )
    assert len(batch.pages) == 2

    with extraction_pool(1) as pool:
        extracting = extract_pages(batch, pool)
        # What Prefect keeps of the fetch-pages result (this object) no longer holds the bodies.
        with pytest.raises(RuntimeError, match="handed over twice"):
            batch.bodies.take()
        articles, failures = collect_articles(batch.pages, extracting)

    assert len(articles) == 2 and failures == []
    with pytest.raises(RuntimeError, match="handed over twice"):
        extracting.take()  # ... nor the extraction results, once collected


def test_an_origin_is_given_up_after_two_connection_failures_and_others_on_the_host_are_not() -> None:
    closed = _closed_port()
    site = Site()
    site.routes["/ok"] = Route(body=b"<html>ok</html>")

    async def go() -> tuple[list[str], int, dict[str, str]]:
        reasons = []
        async with Fetcher(FetchSettings(allow_hosts=("127.0.0.1",), retries=1, backoff_seconds=0.01)) as fetcher:
            for _ in range(3):
                try:
                    await fetcher.get(f"http://127.0.0.1:{closed}/page")
                except FetchError as exc:
                    reasons.append(f"{type(exc).__name__}: {exc.reason}")
            await fetcher.get(site.url("/ok"))  # the same host on another port is another server
            return reasons, fetcher.requests, fetcher.unreachable

    try:
        reasons, requests, unreachable = asyncio.run(go())
    finally:
        site.close()

    assert requests == HOST_GIVE_UP_AFTER + 1  # the first page and its retry, none for the others; then /ok
    first = f"connection failed: 127.0.0.1 port {closed}: Connection refused"
    assert reasons == [f"Unreachable: {first}"] + [f"HostGivenUp: host unreachable earlier in this run: {first}"] * 2
    assert unreachable == {f"127.0.0.1:{closed}": first}
