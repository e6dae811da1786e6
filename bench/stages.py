"""Where an extraction worker's CPU goes, per page, beside trafilatura's bare `extract` on the same pages.

The stages of `extractors.articles.extract_article`, then relevance and fingerprint (what a worker does per
page, flows/workers.py), each timed as this process's CPU time (one core: other processes' load counts
little), over every page of ../shared/data/extraction/scrapinghub read twice (the first reading warms up).
It shows what the extraction's quality costs against the ingest ratio (bench/ingest.py prints it too).

Usage: .venv/bin/python -m bench.stages
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The functions extract_article calls, by the name the stage is shown under (module globals, patched here).
STAGES = {
    "parse (lxml)": ("extractors.articles", "parse_html"),
    "text, fast pass (+ full: short, menus)": ("extractors.articles", "_text"),
    "metadata (meta tags, JSON-LD, title)": ("extractors.articles", "_metadata"),
    "publication date (htmldate, labels)": ("extractors.articles", "publication_date"),
    "byline search (no author in meta)": ("extractors.articles", "_byline"),
    "language": ("extractors.articles", "_language"),
}


@contextmanager
def _timed(spent: defaultdict[str, float]) -> Iterator[None]:
    """Patch each stage's function with one that adds its CPU time to `spent` (nested calls counted once)."""
    import importlib

    originals: list[tuple[Any, str, Callable[..., Any]]] = []
    for stage, (module_name, attribute) in STAGES.items():
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)

        def wrapper(*args: Any, _original: Callable[..., Any] = original, _stage: str = stage, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_stage] += time.process_time() - started

        originals.append((module, attribute, original))
        setattr(module, attribute, wrapper)
    try:
        yield
    finally:
        for module, attribute, original in originals:
            setattr(module, attribute, original)


def stage_costs(pages: dict[str, bytes]) -> tuple[float, dict[str, float], int]:
    """(bare extract ms/page, {stage: ms/page}, pages that took the full pass) over `pages`."""
    import trafilatura

    from extractors import articles
    from extractors.duplicates import fingerprint
    from extractors.relevance import profile_for, score
    from flows.judging import shipped_model
    from flows.settings import load_topic

    profile = profile_for(load_topic(), model=shipped_model())
    spent: defaultdict[str, float] = defaultdict(float)
    full = 0
    for reading in range(2):
        if reading:
            spent.clear()
        bare_started = time.process_time()
        for page in pages.values():
            trafilatura.extract(page)
        bare = time.process_time() - bare_started
        with _timed(spent):
            for number, (key, page) in enumerate(pages.items()):
                started = time.process_time()
                try:  # the URL as bench/ingest.py serves the page (trafilatura reads it, e.g. for links)
                    article = articles.extract_article(page, f"http://127.0.0.1/p/{number}/{key[:16]}")
                except articles.ExtractionError:
                    spent["extraction, total"] += time.process_time() - started
                    continue
                spent["extraction, total"] += time.process_time() - started
                full += reading and article.extraction == "full"
                started = time.process_time()
                score(profile, article.title, article.text)
                spent["relevance (learned model)"] += time.process_time() - started
                started = time.process_time()
                fingerprint(article.text)
                spent["fingerprint (MinHash)"] += time.process_time() - started
    per_page = defaultdict(float, {stage: 1000 * seconds / len(pages) for stage, seconds in spent.items()})
    return 1000 * bare / len(pages), per_page, full


def print_stage_costs(pages: dict[str, bytes]) -> None:
    bare, per_page, full = stage_costs(pages)
    total = per_page["extraction, total"] + per_page["relevance (learned model)"] + per_page["fingerprint (MinHash)"]
    print(f"a worker's CPU per page, one core ({len(pages)} pages): bare extract {bare:.1f} ms; newsmon {total:.1f} ms")
    for stage in [*STAGES, "relevance (learned model)", "fingerprint (MinHash)"]:
        note = f"  (the full pass's text kept on {full} pages)" if stage.startswith("text") else ""
        print(f"  {stage:38} {per_page[stage]:5.1f} ms{note}")
    other = per_page["extraction, total"] - sum(per_page[stage] for stage in STAGES)
    print(f"  {'the rest of extraction (refusals, URL)':38} {other:5.1f} ms")


def main() -> int:
    from bench.ingest import load_pages

    pages, _ = load_pages()
    print_stage_costs(pages)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
