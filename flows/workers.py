"""Extraction in worker processes: trafilatura is CPU-bound, so pages are extracted on every core.

This module imports only the extractors, so that a worker process starts without loading Prefect.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from extractors.relevance import TopicProfile, score

if TYPE_CHECKING:  # trafilatura and numpy load where extraction happens: in the workers (and their fork server)
    from extractors.articles import ExtractedArticle
    from extractors.duplicates import Fingerprint
    from extractors.relevance import Relevance

    Extracted = tuple[ExtractedArticle, Relevance | None, Fingerprint | None] | str

_profile: TopicProfile | None = None  # set once per worker process by extraction_pool's initializer


def _init_worker(profile: TopicProfile | None) -> None:
    global _profile
    _profile = profile
    # Ctrl-C reaches the whole foreground process group: the run stops its workers itself (stop_pool), and a
    # worker must not die printing its own KeyboardInterrupt traceback meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()


def _exit_with_parent() -> None:
    """End this worker when the process that started the pool dies. A run killed with SIGKILL runs no clean-up,
    and a pool worker, which holds both ends of its task pipe, would otherwise wait for work forever (and keep
    its memory). The parent's sentinel becomes readable when the parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def extract_in_worker(content: bytes, url: str, content_type: str) -> Extracted:
    """The article, its relevance and its fingerprint, or the reason there is no article (a string pickles
    more simply than an exception)."""
    from extractors.articles import ExtractionError, extract_article
    from extractors.duplicates import fingerprint

    try:
        article = extract_article(content, url, content_type)
    except ExtractionError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a page that crashes the extractor must not stop the run
        return f"extraction crashed: {type(exc).__name__}: {exc}"
    relevance = score(_profile, article.title, article.text) if _profile is not None else None
    return article, relevance, fingerprint(article.text)


# A page without a lang attribute, long enough to be an article, whose text is short beside the page (a block of
# links): extracting it once runs every lazy initialisation on the way, the full extraction pass's too
# (py3langid loads its model, 0.45 s, on its first detection; justext its stop lists, 0.1 s, on its first use).
_WARM_UP_LINKS = b"".join(
    b'<li><a href="/section/%d">Another story in the section, number %d</a></li>' % (n, n) for n in range(40)
)
_WARM_UP_PAGE = (
    b"<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    b"<p>The extraction workers read this page once, before their first real one, in the fork server.</p>"
    b"<p>Whatever trafilatura, htmldate and py3langid load on their first call is then loaded once.</p>"
    b"<p>Every worker forked from the server inherits it, instead of loading it again for itself.</p>"
    b"</article><div class='more'><ul>" + _WARM_UP_LINKS + b"</ul></div></body></html>"
)


def warm_up() -> Extracted:
    """Run one extraction (both passes), language detection and fingerprint, to load what they load on first
    use; and load what htmldate's extensive date search loads on the first page that needs it: dateparser, its
    200 locales and its time-zone expressions. Measured in a worker forked after the page alone, its first
    181 scrapinghub pages cost 1.2 s of CPU more than the same pages again (0.7 s of it dateparser).
    py3langid's model comes from newsmon's cache (flows/langid_cache.py): 0.03 s instead of 0.5 s."""
    from htmldate.extractors import get_external_parser, month_words

    from flows import langid_cache

    langid_cache.install()
    month_words()
    get_external_parser().get_date_data("19 June 2024 10:30 KST")
    return extract_in_worker(_WARM_UP_PAGE, "https://warm-up.invalid/warm-up", "text/html")


def extract_many(pages: list[tuple[bytes, str, str]]) -> list[Extracted]:
    """extract_in_worker for several pages in one task: the pool's hand-over costs the main process per task."""
    return [extract_in_worker(content, url, content_type) for content, url, content_type in pages]


def submit_pages(
    pool: ProcessPoolExecutor, chunks: Sequence[list[tuple[bytes, str, str]]]
) -> list[Future[list[Extracted]]]:
    """extract_many for each chunk of pages, in the pool's workers. The pool starts its workers as tasks come,
    so the first submits start them: with the parent's __main__ left out of them (_main_module_left_alone)."""
    with _main_module_left_alone():
        return [pool.submit(extract_many, chunk) for chunk in chunks]


@contextmanager
def _main_module_left_alone() -> Iterator[None]:
    """multiprocessing prepares each process it starts by running the parent's __main__ module again in it
    (multiprocessing.spawn.prepare, as `__mp_main__`). A run that Prefect's runner starts (`newsmon serve`, a
    work pool) is `python -m prefect.engine`: each extraction worker imported Prefect before its first page,
    1.0 s of CPU and of waiting per worker, every run (measured after the fork server's warm-up; `newsmon`'s
    own script costs 0.07 s). While the workers start, __main__ is a bare module that names neither a module
    nor a file, which multiprocessing leaves alone; nothing the workers run lives in __main__."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def worker_count(configured: int) -> int:
    return configured if configured > 0 else max(os.cpu_count() or 1, 1)


@contextmanager
def extraction_pool(workers: int, profile: TopicProfile | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of worker processes, each scoring relevance with `profile` right after extraction.

    Workers are forked from a fork server: a clean single-threaded process started once (forking this
    process, which runs Prefect's threads, could deadlock), which imports trafilatura and its kin and warms
    them up (flows.worker_preload) before it forks, so that the workers share that work instead of paying for
    it each (measured: 0.9 s of imports and 0.45 s of language model per worker)."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_init_worker,
        initargs=(profile,),
    )
    try:
        yield pool
    except BaseException:
        stop_pool(pool)  # interrupted or failed: the queued pages are not worth waiting for
        raise
    pool.shutdown(wait=True)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now: queued work is dropped, running extractions are cut off (nothing is stored from
    them: a batch is stored whole or not at all)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=1.0)
        if process.is_alive():
            process.kill()


def _context() -> multiprocessing.context.BaseContext:
    """The fork server where the platform has one (Linux, macOS); else (Windows) spawned workers."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["flows.worker_preload"])
    return context


def start_server() -> None:
    """Start the workers' fork server now, without waiting for it: its imports and warm-up (1 s of CPU) then
    run on another core while the feeds are polled, instead of delaying the first extraction."""
    if _context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()
