"""extractors/cascade.py: the full pass without trafilatura's recall retry keeps the text it kept with it, on
real pages that take the full pass, and a trafilatura whose cascade changed keeps its own retry."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from trafilatura import core

from bench.extraction import Case, htmldate_set, scrapinghub
from extractors import cascade
from extractors.articles import _text
from extractors.html_tree import parse_html

# Shared pages whose fast text is short beside the page, so that they take the full pass: eight whose full text
# trafilatura's jusText candidate found (its recall escalation), three whose full text came before it (the
# comparison with readability and jusText), three where the full pass found nothing more (scrapinghub).
ESCALATED = ["0531a1f7ccdb2e71", "a6fcd5c070f4e0c7", "d17a0bc4ae5a2738", "1f0863d1dc24b057", "7f41f09ddec1f14c"]
ESCALATED += ["a1aa901ce670bd1a", "a55378bda4f4c421", "e87568c4f72b4f1e"]
COMPARED = ["226869ddf52cffd2", "7cccbb91ab7a8984", "a2aea30650a87e56"]
NOTHING_MORE = ["5f9c5ed5d64dfe68", "ac3c035520461017", "e372e42c0a3df7b8"]


@functools.cache
def _cases() -> dict[str, Case]:
    wanted = {*ESCALATED, *COMPARED, *NOTHING_MORE}
    cases = (case for cases in (htmldate_set(), scrapinghub()) for case in cases)
    return {case.key[:16]: case for case in cases if case.key[:16] in wanted}


def test_the_retry_is_skipped_with_this_trafilatura() -> None:
    assert cascade.RETRY_SKIPPABLE, "trafilatura's cascade changed: review extractors/cascade.py"


@pytest.mark.parametrize("key", ESCALATED + COMPARED + NOTHING_MORE)
def test_the_full_pass_keeps_the_same_text_without_the_retry(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = _cases()[key]
    without = _text(parse_html(case.html), case.url)
    monkeypatch.setattr(cascade, "RETRY_SKIPPABLE", False)
    with_retry = _text(parse_html(case.html), case.url)
    assert without == with_retry
    assert without[1] == ("fast" if key in NOTHING_MORE else "full")


def test_the_retry_is_trafilaturas_outside_the_block() -> None:
    with pytest.raises(RuntimeError), cascade.without_recall_retry():
        assert core._recall_retry is cascade._no_retry
        raise RuntimeError
    assert core._recall_retry is cascade._TRAFILATURA_RETRY


def test_a_changed_cascade_keeps_trafilaturas_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    def trafilatura_sequence(*args: Any) -> Any:  # a different source
        return core.trafilatura_sequence(*args)

    monkeypatch.setattr(core, "trafilatura_sequence", trafilatura_sequence)
    assert not cascade._retry_skippable()
    monkeypatch.setattr(cascade, "RETRY_SKIPPABLE", cascade._retry_skippable())
    with cascade.without_recall_retry():
        assert core._recall_retry is cascade._TRAFILATURA_RETRY
