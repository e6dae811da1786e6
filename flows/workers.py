"""Extraction in worker processes: trafilatura is CPU-bound, so pages are extracted on every core.

This module imports only the extractors, so that a worker process starts without loading Prefect.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from extractors.articles import ExtractedArticle, ExtractionError, extract_article
from extractors.duplicates import Fingerprint, fingerprint
from extractors.relevance import Relevance, TopicProfile, score

_profile: TopicProfile | None = None  # set once per worker process by extraction_pool's initializer


def _init_worker(profile: TopicProfile | None) -> None:
    global _profile
    _profile = profile
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


Extracted = tuple[ExtractedArticle, Relevance | None, Fingerprint | None] | str


def extract_in_worker(content: bytes, url: str, content_type: str) -> Extracted:
    """The article, its relevance and its fingerprint, or the reason there is no article (a string pickles
    more simply than an exception)."""
    try:
        article = extract_article(content, url, content_type)
    except ExtractionError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a page that crashes the extractor must not stop the run
        return f"extraction crashed: {type(exc).__name__}: {exc}"
    relevance = score(_profile, article.title, article.text) if _profile is not None else None
    return article, relevance, fingerprint(article.text)


def worker_count(configured: int) -> int:
    return configured if configured > 0 else max(os.cpu_count() or 1, 1)


def extraction_pool(workers: int, profile: TopicProfile | None = None) -> ProcessPoolExecutor:
    """A pool of worker processes, each scoring relevance with `profile` right after extraction.

    Workers are forked from a fork server: a clean single-threaded process started once (forking this
    process, which runs Prefect's threads, could deadlock), which imports this module before it forks, so that
    the workers share one import of trafilatura and its kin instead of paying for it each (measured: 0.9 s
    of CPU per worker)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(profile,),
    )
