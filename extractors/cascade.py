"""The full pass without trafilatura's recall retry, which its fast pass has already run.

newsmon's full pass (extractors/articles.py, `_text`) runs only after its fast pass (trafilatura's balanced
fast mode) gave a short text; the longer of the two texts is kept. trafilatura's balanced cascade (2.3.1) ends
with a "recall escalation" when its text is short beside the page: it runs the recall mode again
(`_recall_retry`: the recall extraction, then, outside fast mode, readability and jusText compared with it) and,
outside fast mode, a jusText candidate on the raw page, and takes either when it is clearly longer. The fast
pass ran the escalation's recall extraction already; the full pass's retry adds the comparison with
readability and jusText, which the balanced cascade also made before it. The retry is the costly half of the
escalation.

Not the same in principle: the retry compares readability and jusText with the recall extraction rather than the
balanced one. Measured when the fast pass was itself the recall mode (83 of the 1,160 pages of
../shared/data/extraction/scrapinghub and htmldate take the full pass, 28 of which keep the full text): the kept
text was the same on all 83 with the retry and without it, and the full passes took 3.00 s instead of 5.55 s
(one core; docs/speed.md). Measured again with the balanced fast pass (2026-12-04, bench/extraction.py
--details on the six sets, 1,631 results): identical field by field but for one htmldate page, a paywall
stub of FAZ whose text, boilerplate either way, was 564 characters without the retry and 828 with it. The
jusText candidate, which rescued most of the 28, stays.

Used only while trafilatura's cascade is the one read (the hash of the two functions' source); a trafilatura
whose cascade changed runs its own retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lxml.etree import Element, _Element
from lxml.html import HtmlElement
from trafilatura import core
from trafilatura.settings import Extractor

from extractors.prune import sources_unchanged

# The source hashes (extractors.prune.source_hash) of the functions read when this was written:
# trafilatura_sequence calls the retry and accepts its text only when it is clearly longer;
# _recall_retry is the retry.
_CASCADE = {"trafilatura_sequence": "f03dc4d2946dacbd", "_recall_retry": "59594c39714f57be"}
_TRAFILATURA_RETRY = core._recall_retry


def _no_retry(esc_tree: HtmlElement, r_options: Extractor, url: str | None) -> tuple[_Element, str]:
    """What a retry that found nothing returns: trafilatura_sequence then keeps its text or jusText's."""
    return Element("body"), ""


def _retry_skippable() -> bool:
    return sources_unchanged(_CASCADE)


RETRY_SKIPPABLE = _retry_skippable()


@contextmanager
def without_recall_retry() -> Iterator[None]:
    """trafilatura's cascade without the recall retry (when RETRY_SKIPPABLE), for the time of the block."""
    if RETRY_SKIPPABLE:
        core._recall_retry = _no_retry
    try:
        yield
    finally:
        core._recall_retry = _TRAFILATURA_RETRY
