"""extractors/cascade.py: the fast pass without trafilatura's recall escalation; on real pages whose fast text is
short the full pass, which runs it, gives trafilatura's own text; a trafilatura whose cascade changed keeps it."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trafilatura
from trafilatura import core
from trafilatura.settings import Document

from bench.extraction import Case, htmldate_set, scrapinghub
from extractors import cascade
from extractors.articles import FAST_OPTIONS, FULL_OPTIONS, _document_text, _text
from extractors.html_tree import parse_html

# Shared pages whose fast text is short beside the page, so that they take the full pass: eight whose full text
# trafilatura's jusText candidate found (its recall escalation), three whose full text came before it (the
# comparison with readability and jusText), three where the full pass found nothing more (scrapinghub).
ESCALATED = ["0531a1f7ccdb2e71", "a6fcd5c070f4e0c7", "d17a0bc4ae5a2738", "1f0863d1dc24b057", "7f41f09ddec1f14c"]
ESCALATED += ["a1aa901ce670bd1a", "a55378bda4f4c421", "e87568c4f72b4f1e"]
COMPARED = ["226869ddf52cffd2", "7cccbb91ab7a8984", "a2aea30650a87e56"]
NOTHING_MORE = ["5f9c5ed5d64dfe68", "ac3c035520461017", "e372e42c0a3df7b8"]
# htmldate pages whose full text comes from trafilatura's recall retry (without it: 1,016 characters instead of
# 5,167, 855 instead of 3,667), and pages whose fast text is one the escalation would have re-extracted.
RETRIED = ["11b2da22c65d4b37", "860b561750206410"]
ESCALATION_WOULD_RUN = ["55343da9be5fd9cb", "652a0b1432debae3", "fb92ccb2f1df9be7"]


@functools.cache
def _cases() -> dict[str, Case]:
    wanted = {*ESCALATED, *COMPARED, *NOTHING_MORE, *RETRIED, *ESCALATION_WOULD_RUN}
    cases = (case for cases in (htmldate_set(), scrapinghub()) for case in cases)
    return {case.key[:16]: case for case in cases if case.key[:16] in wanted}


def test_the_escalation_is_skipped_with_this_trafilatura() -> None:
    assert cascade.ESCALATION_SKIPPABLE, "trafilatura's cascade changed: review extractors/cascade.py"


@pytest.mark.parametrize("key", ESCALATED + COMPARED + NOTHING_MORE + RETRIED)
def test_a_short_fast_text_gets_trafilaturas_own_full_cascade(key: str) -> None:
    case = _cases()[key]
    text, path = _text(parse_html(case.html), case.url)
    assert FULL_OPTIONS == {"fast": False, "include_comments": False, "include_tables": True}  # as called here
    full = trafilatura.bare_extraction(case.html, url=case.url, fast=False, include_comments=False, include_tables=True)
    assert isinstance(full, Document)
    if key in NOTHING_MORE:
        assert path == "fast" and len(text) >= len((full.text or "").strip())
    else:
        assert (text, path) == ((full.text or "").strip(), "full")


@pytest.mark.parametrize("key", ESCALATION_WOULD_RUN)
def test_the_fast_pass_neither_measures_the_page_again_nor_retries(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(name: str) -> Any:
        original = getattr(core, name)

        def call(*args: Any) -> Any:
            calls.append(name)
            return original(*args)

        return call

    for name in ("html2txt", "_recall_retry"):
        monkeypatch.setattr(core, name, counted(name))
    case = _cases()[key]
    _document_text(parse_html(case.html), case.url, FAST_OPTIONS)
    assert calls == ["html2txt", "_recall_retry"]  # trafilatura's fast pass escalates on this page
    calls.clear()
    with cascade.without_escalation():
        _document_text(parse_html(case.html), case.url, FAST_OPTIONS)
    assert calls == []


def test_the_escalation_is_trafilaturas_outside_the_block() -> None:
    with pytest.raises(RuntimeError), cascade.without_escalation():
        assert core.ESCALATION_MAX_LENGTH == 0
        raise RuntimeError
    assert core.ESCALATION_MAX_LENGTH == cascade._TRAFILATURA_MAX_LENGTH
    assert cascade._TRAFILATURA_MAX_LENGTH
    with cascade.without_escalation(), cascade.without_escalation():  # nested: the outer block's value comes back
        pass
    assert core.ESCALATION_MAX_LENGTH == cascade._TRAFILATURA_MAX_LENGTH
    with cascade.without_escalation():
        with cascade.without_escalation():
            pass
        assert core.ESCALATION_MAX_LENGTH == 0


def test_a_changed_cascade_keeps_trafilaturas_escalation(monkeypatch: pytest.MonkeyPatch) -> None:
    def trafilatura_sequence(*args: Any) -> Any:  # a different source
        return core.trafilatura_sequence(*args)

    monkeypatch.setattr(core, "trafilatura_sequence", trafilatura_sequence)
    assert not cascade._escalation_skippable()
    monkeypatch.setattr(cascade, "ESCALATION_SKIPPABLE", cascade._escalation_skippable())
    with cascade.without_escalation():
        assert core.ESCALATION_MAX_LENGTH == cascade._TRAFILATURA_MAX_LENGTH
