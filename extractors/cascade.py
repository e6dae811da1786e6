"""The fast pass without trafilatura's recall escalation, which newsmon's own short-text rule stands in for.

trafilatura's balanced cascade (2.3.1) ends with a "recall escalation" when its text is short (under 3,000
characters) and covers less than a fifth of the page: to know, it measures the page's text (html2txt) on every
text under 3,000 characters, most news articles among them; when the text is short beside it, it extracts again
in recall mode and, outside fast mode, tries a jusText candidate. newsmon's fast pass has that rule of its own
(extractors/articles.py, FULL_PASS_SHARE: a fifth of the page's visible characters, by a cheaper measure that
the boilerplate rule needs anyway) and answers it with the full pass, whose cascade runs the whole escalation,
readability, jusText and the recall retry included. In the fast pass the escalation measured the page a second
time and ran a recall extraction that the full pass then ran again.

Measured (2026-12-04, bench/extraction.py --details on its six sets, 1,631 results): the text F1 of every set
with a text truth (scrapinghub, local, newspaper4k) the same to the last page, and no title, date, author or
refusal changed; 9 htmldate texts changed (5 longer, 4 shorter; the three read by eye hold the same article with
more or less of the page around it), and 41 -> 52 of its 979 pages took the full pass (48 since
<noscript> counts as content for the boilerplate rule). `_text`, interleaved on
581 scrapinghub and htmldate pages in one process: 12.3 -> 10.3 ms a page. (Until then the full pass ran without
the recall retry instead, the fast pass having run it in recall mode; with the escalation gone from the fast
pass the retry is the full pass's own again: without it, 3 htmldate pages lost most of their text.)

Used only while trafilatura_sequence is the function read (its source hash, extractors.prune.source_hash); a
trafilatura whose cascade changed keeps its escalation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from trafilatura import core

from extractors.prune import sources_unchanged

# The source hash of the function read when this was written: trafilatura_sequence runs the escalation only for
# a text shorter than core.ESCALATION_MAX_LENGTH, which it reads at each call, before it measures the page.
_CASCADE = {"trafilatura_sequence": "f03dc4d2946dacbd"}
_TRAFILATURA_MAX_LENGTH = getattr(core, "ESCALATION_MAX_LENGTH", None)


def _escalation_skippable() -> bool:
    return isinstance(_TRAFILATURA_MAX_LENGTH, int) and sources_unchanged(_CASCADE)


ESCALATION_SKIPPABLE = _escalation_skippable()


@contextmanager
def without_escalation() -> Iterator[None]:
    """trafilatura's cascade without its recall escalation (when ESCALATION_SKIPPABLE), for the time of the
    block: no text is short enough for it. A module setting, so for every thread of the process: newsmon
    extracts in worker processes of one extraction thread each (flows/workers.py)."""
    if not ESCALATION_SKIPPABLE:
        yield
        return
    before = core.ESCALATION_MAX_LENGTH
    core.ESCALATION_MAX_LENGTH = 0
    try:
        yield
    finally:
        core.ESCALATION_MAX_LENGTH = before
