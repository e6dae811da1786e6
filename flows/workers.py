"""Extraction in worker processes: trafilatura is CPU-bound, so pages are extracted on every core.

This module imports only the extractors, so that a worker process starts without loading Prefect.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from extractors.articles import ExtractedArticle, ExtractionError, extract_article


def extract_in_worker(content: bytes, url: str, content_type: str) -> ExtractedArticle | str:
    """The article, or the reason there is none (a string pickles more simply than an exception)."""
    try:
        return extract_article(content, url, content_type)
    except ExtractionError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a page that crashes the extractor must not stop the run
        return f"extraction crashed: {type(exc).__name__}: {exc}"


def worker_count(configured: int) -> int:
    return configured if configured > 0 else max(os.cpu_count() or 1, 1)


def extraction_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of spawned processes: forking a process that runs Prefect's threads could deadlock."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
