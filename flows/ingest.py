"""The ingest flow: poll feeds, fetch new pages, extract them, store them. Orchestration only."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.settings import temporary_settings
from prefect.utilities.annotations import quote

from extractors.feeds import FeedParseError, parse_feed
from extractors.polling import next_poll_at
from extractors.relevance import PREFILTER_THRESHOLD, TopicProfile, as_judged, score
from extractors.urls import host_of
from flows import interrupt, judging
from flows.alerts import send_alerts
from flows.fetching import Fetcher, FetchError, HostGivenUp, RefusedAddress
from flows.lock import ingest_lock
from flows.report import Progress, RunReport
from flows.serve import cancel_missed_slots
from flows.settings import FetchSettings, Settings, load_settings
from flows.workers import extraction_pool, start_server, submit_pages, worker_count
from warehouse import judgments, search, store
from warehouse.db import connect, maintain
from warehouse.store import FeedOutcome, FeedState, NewArticle, PageFailure, PageTask

if TYPE_CHECKING:
    from flows.workers import Extracted

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, */*;q=0.8"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
PAGES_PER_TASK = 10  # pages per extraction task (see extract_pages)
# Set in the environment, either asks for Prefect's flow-run heartbeats in `newsmon run` too (see run_once).
_HEARTBEAT_SETTINGS = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
T = TypeVar("T")


@dataclass(frozen=True)
class FetchedPage:
    task: PageTask
    url: str  # after redirects
    status: int
    content_type: str


class HandOver(Generic[T]):
    """A value handed from one step of the pipeline to the next exactly once, then let go.

    Prefect keeps each task's result in its records and futures, in a reference cycle that only Python's
    occasional full collection frees: page bodies (~170 KB a page) returned plainly by `fetch-pages` outlived
    their batch (one forced collection freed 298 MiB, issue 12). Whatever Prefect keeps of a result that
    holds one of these, the bodies go as soon as the next step has taken them."""

    def __init__(self, value: T) -> None:
        self._value: T | None = value

    def take(self) -> T:
        value, self._value = self._value, None
        if value is None:
            raise RuntimeError("handed over twice")
        return value


@dataclass(frozen=True)
class FetchedBatch:
    """What `fetch-pages` returns for one batch."""

    pages: list[FetchedPage]
    bodies: HandOver[list[bytes]]  # the pages' bodies, in the same order; taken by extract_pages
    failures: list[PageFailure]
    requests: int
    unreachable: dict[str, str]  # origins given up so far in this run -> their first error (for the next batch)
    left: int = 0  # pages not requested: the run's fetch deadline came first; they stay pending


def _now() -> datetime:
    return datetime.now(UTC)


# --- feeds -----------------------------------------------------------------------------------------------


def _conditional_headers(feed: FeedState, force: bool) -> dict[str, str]:
    headers = {"Accept": FEED_ACCEPT}
    if not force and feed.etag:
        headers["If-None-Match"] = feed.etag
    if not force and feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


def _retry_after(exc: Exception) -> timedelta | None:
    """The Retry-After a 429 or 503 asked for (flows.fetching keeps it on the error), if any."""
    seconds = getattr(exc, "retry_after", None)
    return timedelta(seconds=seconds) if isinstance(seconds, int | float) else None


async def _poll_one(fetcher: Fetcher, feed: FeedState, force: bool) -> FeedOutcome:
    interval = timedelta(minutes=fetcher.settings.min_poll_minutes)
    try:
        response = await fetcher.get(feed.url, headers=_conditional_headers(feed, force))
        checked = _now()
        cache_control = response.headers.get("cache-control")
        digest = None if response.status == 304 else hashlib.sha256(response.content).hexdigest()
        # A body equal to the one parsed last time is a 304 too: the server sent no validators, or ignored them.
        if response.status == 304 or (digest == feed.body_digest and not force):
            return FeedOutcome(
                url=feed.url,
                checked_at=checked,
                next_check_at=next_poll_at(checked, interval, cache_control=cache_control),
                status=response.status,
                not_modified=True,
            )
        parsed = parse_feed(response.content, response.url, response.headers)
    except (FetchError, FeedParseError) as exc:
        checked = _now()
        errors = feed.consecutive_errors + 1
        status = exc.status if isinstance(exc, FetchError) else None
        return FeedOutcome(
            url=feed.url,
            checked_at=checked,
            next_check_at=next_poll_at(checked, interval, consecutive_errors=errors, retry_after=_retry_after(exc)),
            status=status,
            error=str(exc),
        )
    return FeedOutcome(
        url=feed.url,
        checked_at=checked,
        next_check_at=next_poll_at(
            checked,
            interval,
            cache_control=cache_control,
            ttl_minutes=parsed.ttl_minutes,
            published=[entry.published_at for entry in parsed.entries],
        ),
        status=response.status,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        title=parsed.title,
        entries=parsed.entries,
        body_digest=digest,
    )


@dataclass(frozen=True)
class Polled:
    """What `poll-feeds` returns: an outcome per feed, and the origins given up while polling (origin -> its
    first connection-level error), which page fetching then does not try again in this run."""

    outcomes: list[FeedOutcome]
    unreachable: dict[str, str]


@task(name="poll-feeds", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def poll_feeds(feeds: Sequence[FeedState], fetch: FetchSettings, force: bool) -> Polled:
    """Poll every due feed concurrently; each failure becomes an outcome with its error, never an exception."""

    async def poll_all() -> Polled:
        async with Fetcher(fetch) as fetcher:
            limit = asyncio.Semaphore(fetch.concurrency)

            async def one(feed: FeedState) -> FeedOutcome:
                async with limit:
                    outcome = await _poll_one(fetcher, feed, force)
                if outcome.entries:
                    # pages may follow (started already when the last run found entries; see _ingest)
                    start_server()
                return outcome

            outcomes = list(await asyncio.gather(*(one(feed) for feed in feeds)))
            return Polled(outcomes, dict(fetcher.unreachable))

    return asyncio.run(poll_all())


# --- pages -----------------------------------------------------------------------------------------------


@task(name="fetch-pages", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def fetch_pages(
    tasks: Sequence[PageTask], fetch: FetchSettings, until: datetime, unreachable: Mapping[str, str]
) -> FetchedBatch:
    """Fetch pages concurrently, at most `per_host` at a time to one host, and none after `until` (the run's
    fetch deadline): a page it cuts off is a failure, a page it comes before is left pending for the next run."""

    async def fetch_all() -> FetchedBatch:
        pages: list[tuple[FetchedPage, bytes]] = []
        failures: list[PageFailure] = []
        left: list[PageTask] = []
        hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(fetch.per_host))
        limit = asyncio.Semaphore(fetch.concurrency)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (until - _now()).total_seconds()
        async with Fetcher(fetch, unreachable=unreachable) as fetcher:

            async def one(item: PageTask) -> None:
                async with limit, hosts[host_of(item.url)]:
                    if loop.time() >= deadline:
                        left.append(item)
                        return
                    try:
                        async with asyncio.timeout_at(deadline):
                            response = await fetcher.get(item.url, headers={"Accept": PAGE_ACCEPT})
                    except TimeoutError:
                        reason = f"run's fetch deadline reached ([fetch] deadline_seconds = {fetch.deadline_seconds:g})"
                        failures.append(PageFailure(item, reason))
                        return
                    except HostGivenUp as exc:
                        failures.append(PageFailure(item, exc.reason, counted=False))
                        return
                    except RefusedAddress as exc:
                        failures.append(PageFailure(item, exc.reason, retry=False))
                        return
                    except FetchError as exc:
                        failures.append(PageFailure(item, exc.reason, http_status=exc.status))
                        return
                if response.status != 200 or not response.content:
                    failures.append(PageFailure(item, f"HTTP {response.status} with no content", response.status))
                    return
                page = FetchedPage(item, response.url, response.status, response.content_type)
                pages.append((page, response.content))

            await asyncio.gather(*(one(item) for item in tasks))
            return FetchedBatch(
                pages=[page for page, _ in pages],
                bodies=HandOver([body for _, body in pages]),
                failures=failures,
                requests=fetcher.requests,
                unreachable=fetcher.unreachable,
                left=len(left),
            )

    return asyncio.run(fetch_all())


def extract_pages(batch: FetchedBatch, pool: ProcessPoolExecutor) -> HandOver[list[Future[list[Extracted]]]]:
    """Queue the pages for extraction in the worker processes, a few per task; `collect_articles` gathers the
    results. Per-page tasks cost the main process 1.7 s of CPU per 1,000 pages in the pool's hand-over threads
    (py-spy); tasks of PAGES_PER_TASK pages still keep both cores busy to a batch's end. The bodies are taken
    from the batch (which Prefect's record of fetch-pages keeps), and the results handed over once.

    Not a Prefect task: it only queues, so its task run was Completed before any page was extracted, and its
    records cost Prefect's server 0.26 s of CPU per 1,000 pages (0.97 -> 0.71 s, read from /proc) that the
    extraction workers had to share their two cores with."""
    items = [(body, page.url, page.content_type) for page, body in zip(batch.pages, batch.bodies.take(), strict=True)]
    step = PAGES_PER_TASK
    return HandOver(submit_pages(pool, [items[start : start + step] for start in range(0, len(items), step)]))


def collect_articles(
    pages: Sequence[FetchedPage], extracting: HandOver[list[Future[list[Extracted]]]]
) -> tuple[list[NewArticle], list[PageFailure]]:
    articles: list[NewArticle] = []
    failures: list[PageFailure] = []
    results = [result for future in extracting.take() for result in future.result()]
    for page, result in zip(pages, results, strict=True):
        if isinstance(result, str):
            failures.append(PageFailure(page.task, result, http_status=page.status))
        else:
            articles.append(NewArticle(page.task, page.url, *result))
    return articles, failures


@dataclass
class _Batch:
    size: int
    pages: list[FetchedPage]
    failures: list[PageFailure]
    requests: int
    left: int
    extracting: HandOver[list[Future[list[Extracted]]]]


def _prefilter(
    con: duckdb.DuckDBPyConnection, due: Sequence[PageTask], profile: TopicProfile, report: RunReport
) -> list[PageTask]:
    """Drop the entries whose title and summary are clearly off the topic, recording why."""
    kept: list[PageTask] = []
    skipped: list[tuple[str, float, str]] = []
    for item in due:
        result = score(profile, item.title, item.summary)
        if item.attempts == 0 and result.score < PREFILTER_THRESHOLD:
            skipped.append((item.url, result.score, result.why))
        else:
            kept.append(item)
    store.skip_entries(con, skipped)
    report.entries_skipped += len(skipped)
    return kept


# The first batches are smaller: the workers wait for the first batch to be fetched whole, and a batch of 25 is
# fetched in a quarter of the time of 100 (loopback, bench/ingest.py). Each next batch is twice the last, up to
# [fetch] batch_size, while the workers extract the one before.
FIRST_BATCH = 25


def _batches(items: Sequence[PageTask], size: int) -> Iterator[Sequence[PageTask]]:
    start, step = 0, min(FIRST_BATCH, size)
    while start < len(items):
        yield items[start : start + step]
        start += step
        step = min(step * 2, size)


def _ingest_pages(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    report: RunReport,
    progress: Progress,
    profile: TopicProfile,
    unreachable: Mapping[str, str],
) -> None:
    """Fetch, extract and store the pages due; `unreachable`: the origins polling gave up (not tried again)."""
    report.articles_known += store.link_known_entries(con)
    # Only the configured feeds' pages: a feed removed from the config takes its pending pages with it.
    due = store.pages_due(con, _now(), feed_urls=[f.url for f in settings.feeds])
    if settings.relevance.prefilter:
        due = _prefilter(con, due, profile, report)
    if not due:
        return
    start_server()  # started already when a feed brought entries; pages left from an earlier run need it too
    progress.start("pages", len(due))
    batches = list(_batches(due, max(settings.fetch.batch_size, 1)))
    until = _now() + timedelta(seconds=settings.fetch.deadline_seconds)
    with extraction_pool(min(worker_count(settings.fetch.workers), len(due)), profile) as pool:
        # quote(): Prefect would otherwise walk every page of every batch looking for futures (1.6 s of CPU
        # per 1,000 pages, measured with cProfile in bench/ingest.py).
        # A three-stage pipeline: while batch n is stored, batch n+1 is extracted in the worker processes
        # and batch n+2 is fetched in a thread, so the cores never wait for the network or the database.
        # Batches are fetched one after the other: each hands the origins given up so far to the next.
        fetching: PrefectFuture[FetchedBatch] | None = fetch_pages.submit(
            quote(batches[0]), settings.fetch, until, unreachable
        )
        previous: _Batch | None = None
        for number, batch in enumerate(batches):
            if fetching is None:  # the run's fetch deadline came: the remaining batches stay pending
                report.pages_left += sum(len(rest) for rest in batches[number:])
                break
            fetched = fetching.result()
            fetching = None  # let go of the future: Prefect's records of it are freed with it
            report.hosts_given_up = dict(fetched.unreachable)
            if number + 1 < len(batches) and _now() < until:
                fetching = fetch_pages.submit(quote(batches[number + 1]), settings.fetch, until, fetched.unreachable)
            extracting = extract_pages(fetched, pool)
            current = _Batch(len(batch), fetched.pages, fetched.failures, fetched.requests, fetched.left, extracting)
            del fetched
            if previous is not None:
                _store_batch(con, settings, run_id, previous, report, progress)
            previous = current
        if previous is not None:
            _store_batch(con, settings, run_id, previous, report, progress)


def _store_batch(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    batch: _Batch,
    report: RunReport,
    progress: Progress,
) -> None:
    from extractors.duplicates import is_copy  # numpy: imported when pages come, not by every idle run

    articles, extract_failures = collect_articles(batch.pages, batch.extracting)
    failures = batch.failures + extract_failures
    max_attempts = settings.fetch.max_page_attempts
    stored = store.store_pages(con, run_id, _now(), articles, failures, max_attempts=max_attempts, is_copy=is_copy)
    report.page_requests += batch.requests
    report.pages_fetched += len(batch.pages)
    report.pages_left += batch.left
    report.articles_stored += stored
    report.articles_known += len(articles) - stored
    report.add_page_failures(failures, max_attempts=max_attempts)
    progress.advance(batch.size, stored=report.articles_stored, failed=report.pages_failed)


def score_articles(con: duckdb.DuckDBPyConnection, profile: TopicProfile, *, all_rows: bool = False) -> int:
    """Score the articles that have no score yet (seeds, rows from before scoring existed); all with all_rows."""
    checked_at = _now()
    rows = store.articles_to_score(con, all_rows=all_rows)
    judged = {j.what: j for j in judgments.latest_judgments(con)} if rows else {}
    results = []
    for url, title, text in rows:
        judgment = judged.get(url)  # an article the analyst judged stays on the side they put it
        result = score(profile, title, text)
        results.append((url, as_judged(result, judgment.label, judgment.who) if judgment else result))
    store.set_scores(con, _now(), results, rescore=all_rows)
    store.settle(con, "unscored", checked_at, _now())  # a later run reads only the articles after this
    return len(rows)


def fingerprint_articles(con: duckdb.DuckDBPyConnection) -> int:
    """Fingerprint the articles that have none yet (seeds, rows from before fingerprints existed)."""
    checked_at = _now()
    rows = store.articles_without_fingerprint(con)
    if rows:
        from extractors.duplicates import fingerprint  # numpy: imported when there is something to fingerprint

        store.set_fingerprints(con, [(url, fingerprint(text)) for url, text in rows])
    store.settle(con, "unfingerprinted", checked_at, _now())  # a later run reads only the articles after this
    return len(rows)


# --- the flow --------------------------------------------------------------------------------------------


def _due_feeds(con: duckdb.DuckDBPyConnection, settings: Settings, report: RunReport, force: bool) -> list[FeedState]:
    """The configured feeds due for a poll (all with force); each new one is added to the feeds table first."""
    now = _now()
    store.sync_feeds(con, [(f.url, f.name) for f in settings.feeds], now)
    due = store.feeds_due(con, [f.url for f in settings.feeds], now, force=force)
    report.feeds_skipped = len(settings.feeds) - len(due)
    return due


def _poll(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    report: RunReport,
    due: Sequence[FeedState],
    force: bool,
    progress: Progress,
) -> dict[str, str]:
    """Poll the due feeds and record what they hold; returns the origins given up while polling."""
    if not due:
        progress.say(f"feeds: none of {len(settings.feeds)} due yet")
        return {}
    progress.say(f"feeds: polling {len(due)} of {len(settings.feeds)}")
    polled = poll_feeds(quote(due), settings.fetch, force)
    outcomes = polled.outcomes
    report.entries_new += store.record_feed_outcomes(con, run_id, outcomes, force=force)
    report.hosts_given_up = dict(polled.unreachable)
    for outcome in outcomes:
        report.add_feed_outcome(outcome)
    progress.say(f"feeds: {report.feeds_polled} polled, {report.feeds_failed} failed, {report.entries_new} new entries")
    return polled.unreachable


def _run_id() -> str:
    """The Prefect flow run's id: a run in the runs table is then the flow run of that id in Prefect's UI."""
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context is not None and context.flow_run is not None else str(uuid.uuid4())


@flow(name="newsmon-ingest")
def ingest(config: str | None = None, force: bool = False, quiet: bool = False) -> RunReport:
    """Poll the feeds, fetch and extract what is new, and store it in the warehouse."""
    # Prefect turns SIGTERM into a crash report it sends before stopping; newsmon stops first (flows.interrupt).
    interrupt.install()
    settings = load_settings(config)
    progress = Progress(enabled=not quiet)
    missed = cancel_missed_slots()
    if missed:
        get_run_logger().info("%d runs of slots missed meanwhile cancelled: this run covers them", missed)

    def waiting(holder: str) -> None:
        progress.say(f"another ingest of this configuration is running ({holder}); waiting for it")

    with ingest_lock(settings.warehouse.directory, [f.url for f in settings.feeds], on_wait=waiting):
        return _ingest(settings, force, progress)


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Python's full collections leave out what the process held when the run began (`gc.freeze`): the
    imported modules, Prefect's and pydantic's objects, the settings. A 1,000-page run of bench/ingest.py made
    five full collections in the main process, 1.17 s of its 8.6 s of CPU, each one going through every one of
    those objects again. What the run itself allocates is collected as before; they are unfrozen after it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _ingest(settings: Settings, force: bool, progress: Progress) -> RunReport:
    with _heap_frozen():
        return _ingest_frozen(settings, force, progress)


def _ingest_frozen(settings: Settings, force: bool, progress: Progress) -> RunReport:
    run_id = _run_id()
    report = RunReport(run_id=run_id, started_at=_now(), warehouse=str(settings.warehouse.directory))
    # The extraction workers' fork server imports and warms up (1 s of CPU) on the other core while the
    # warehouse opens and the feeds are polled, when pages are likely: the first batch otherwise waited for it
    # (0.65 s, bench/ingest.py). A first run always fetches pages; an idle run starts it only if a feed brings
    # entries (poll_feeds) or pages are due (_ingest_pages).
    if settings.warehouse.is_new:
        start_server()
    con = connect(settings.warehouse)
    try:
        if store.pages_may_follow(con):
            start_server()
        store.start_run(con, run_id, report.started_at, forced=force)
        due = _due_feeds(con, settings, report, force)
        report.seeds_loaded = store.add_seeds(con, run_id, _now(), settings.topic.seeds)
        fingerprint_articles(con)  # seeds first: a fetched copy of a seed is then marked as such
        unreachable = _poll(con, settings, run_id, report, due, force, progress)
        profile = judging.profile(settings, con)  # the shipped parameters and the analyst's judgments
        _ingest_pages(con, settings, run_id, report, progress, profile, unreachable)
        score_articles(con, profile)
        # Each batch's articles were indexed as they were stored; this catches up on the rest (seeds, and
        # articles stored before the index existed).
        search.index_new_articles(con)
        report.scored_otherwise = store.scored_otherwise(con, profile.version, _now())
        if settings.alerts is not None and settings.alerts.mode == "immediate":
            report.alerts = send_alerts(con, settings, run_id)
        elif settings.alerts is None:
            report.alerts_waiting = store.alerts_waiting(con, [])
        maintain(con)
        report.finished_at = _now()
        mail_error = report.alerts.error if report.alerts is not None else None
        store.finish_run(con, run_id, report.finished_at, report.counts(), mail_error)
        report.retry_in = store.retry_window(con, report.finished_at)
    finally:
        con.close()
    # The report in Prefect's logs too: a served run's report is then in the UI, beside its flow run.
    get_run_logger().info("%s", report.render())
    return report


def run_once(
    config: str | None = None, force: bool = False, quiet: bool = False, api_url: str | None = None
) -> RunReport:
    """One run of the ingest flow outside a deployment, as `newsmon run` makes it (with the Prefect API at
    `api_url` when given)."""
    with one_off_settings(api_url):
        return ingest(config=config, force=force, quiet=quiet)


@contextmanager
def one_off_settings(api_url: str | None = None) -> Iterator[None]:
    """Prefect's settings for a run outside a deployment: the API at `api_url` when given, and no heartbeats.

    Prefect sends flow-run heartbeats (every 180 s by default) so that a server can tell when a deployment's
    run died; a run started by hand has nobody watching for that, and Prefect's heartbeat thread sleeps in
    one-second steps that the run waits out at its end (measured: an idle run took 1.1 s, 0.14 s without).
    A heartbeat frequency set in the environment is honoured. One `temporary_settings` for both: each
    rebuilds Prefect's settings (0.13 s of an idle run's 1.0 s, cProfile)."""
    updates: dict[str, Any] = {} if api_url is None else {"api.url": api_url}
    if not any(name in os.environ for name in _HEARTBEAT_SETTINGS):
        updates["flows.heartbeat_frequency"] = None
    if not updates:
        yield
        return
    with temporary_settings(updates=updates):
        yield
