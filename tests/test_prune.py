"""extractors/prune.py and extractors/html_tree.py: trafilatura's pruning XPaths and its repair of faulty HTML,
done faster, must give exactly what trafilatura's own give, on real pages and at trafilatura's call sites."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from itertools import islice

import pytest
from lxml import etree
from lxml.html import HtmlElement
from trafilatura import main_extractor, xpaths
from trafilatura.utils import repair_faulty_html

from bench.extraction import htmldate_set, scrapinghub
from extractors import prune
from extractors.articles import FAST_OPTIONS, FULL_OPTIONS, ExtractionError, _document_text, extract_article
from extractors.html_tree import _repaired, parse_html

# Every 8th page of the two shared sets with markup from many sites: 23 scrapinghub and 123 htmldate pages.
STRIDE = 8


def _pages() -> Iterator[tuple[str, bytes, str]]:
    for cases in (scrapinghub(), htmldate_set()):
        for case in islice(cases, 0, None, STRIDE):
            yield case.key, case.html, case.url


PAGES = list(_pages())


def test_every_replaced_list_is_in_use_with_this_trafilatura() -> None:
    assert set(prune.USABLE) == set(prune._REPLACED), "trafilatura's expressions changed: review extractors/prune.py"


def _pairs() -> Iterator[tuple[str, Callable[[HtmlElement], list[HtmlElement]], object]]:
    for name, (_, _, finders) in prune._REPLACED.items():
        for finder, expression in zip(finders, getattr(xpaths, name), strict=False):
            yield name, finder, expression


@pytest.mark.parametrize(("key", "page", "url"), PAGES, ids=[key for key, _, _ in PAGES])
def test_the_finders_return_the_elements_of_the_expressions_in_their_order(key: str, page: bytes, url: str) -> None:
    tree = parse_html(page)
    assert tree is not None
    for name, finder, expression in _pairs():
        assert finder(tree) == expression(tree), (name, finder.__name__)  # type: ignore[operator]


class _Checked:
    """A finder that also runs the expression it replaces on the same tree and records any difference."""

    def __init__(self, finder: Callable[[HtmlElement], list[HtmlElement]], expression: object, log: list[str]):
        self.finder, self.expression, self.log = finder, expression, log
        self.calls = 0

    def __call__(self, tree: HtmlElement) -> list[HtmlElement]:
        self.calls += 1
        found = self.finder(tree)
        if found != self.expression(tree):  # type: ignore[operator]
            self.log.append(self.finder.__name__)
        return found


def test_at_trafilaturas_call_sites_the_finders_agree_with_its_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trees trafilatura prunes are not the parsed page: earlier steps have changed them. Each finder is
    checked against its expression on the tree it gets, wherever trafilatura calls it."""
    log: list[str] = []
    checked: list[_Checked] = []
    usable = {}
    for name, (module, lists) in prune.USABLE.items():
        count = len(prune._REPLACED[name][2])
        wrapped = [
            _Checked(finder, expression, log) for finder, expression in zip(lists, getattr(xpaths, name), strict=True)
        ]
        checked += wrapped[:count]
        usable[name] = (module, [*wrapped[:count], *lists[count:]])
    monkeypatch.setattr(prune, "USABLE", usable)
    for _, page, url in PAGES:
        with contextlib.suppress(ExtractionError):  # a refusal is fine: the finders ran before it
            extract_article(page, url)
    assert not log, sorted(set(log))
    assert all(finder.calls for finder in checked), [f.finder.__name__ for f in checked if not f.calls]


def test_trafilatura_has_its_own_expressions_outside_the_block() -> None:
    with prune.faster_pruning():
        for name, (module, _, finders) in prune._REPLACED.items():
            in_use = getattr(module, name)
            assert in_use[: len(finders)] == finders and in_use[len(finders) :] == getattr(xpaths, name)[len(finders) :]
    for name, (module, _, _) in prune._REPLACED.items():
        assert getattr(module, name) is getattr(xpaths, name)


def test_a_list_whose_expressions_changed_keeps_trafilaturas(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = [*xpaths.BODY_XPATH]
    changed[0] = etree.XPath('.//*[(self::article or self::div)][contains(@class, "post")]')
    monkeypatch.setattr(xpaths, "BODY_XPATH", changed)
    monkeypatch.setattr(main_extractor, "BODY_XPATH", changed)
    assert prune.expressions_hash("BODY_XPATH", 1) != prune._REPLACED["BODY_XPATH"][1]
    assert "BODY_XPATH" not in prune._usable() and "OVERALL_DISCARD_XPATH" in prune._usable()


def test_the_backup_copy_is_skipped_with_this_trafilatura() -> None:
    assert prune.BACKUP_SKIPPABLE, "trafilatura's _prepare_tree or its readers changed: review extractors/prune.py"


def test_a_changed_reader_of_the_backup_keeps_trafilaturas_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    from trafilatura import core

    def _extract_and_compare(*args: object) -> None:  # a stand-in whose source differs
        pass

    monkeypatch.setattr(core, "_extract_and_compare", _extract_and_compare)
    assert prune.source_hash("_extract_and_compare") != prune._BACKUP_READERS["_extract_and_compare"]
    assert not prune._backup_skippable()


def test_an_unreadable_source_keeps_trafilaturas_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    def unreadable(_: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(inspect, "getsource", unreadable)
    assert prune.source_hash("_prepare_tree") == ""
    assert not prune._backup_skippable()


def _plain_text(tree: HtmlElement, url: str, options: dict[str, object]) -> str:
    import trafilatura

    document = trafilatura.bare_extraction(tree, url=url, **options)  # type: ignore[arg-type]
    return (document.text or "").strip() if document is not None else ""  # type: ignore[union-attr]


@pytest.mark.parametrize("options", [FAST_OPTIONS, FULL_OPTIONS], ids=["fast", "full"])
def test_both_passes_give_trafilaturas_own_text(options: dict[str, object]) -> None:
    """The whole of faster_pruning (finders, no backup copy) against trafilatura untouched, on every page."""
    for key, page, url in PAGES:
        tree = parse_html(page)
        assert tree is not None
        assert _document_text(tree, url, options) == _plain_text(parse_html(page), url, options), key


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><p>plain</p></body></html>",
        "<html><body><p>a\x00b\x08c\x1fd\x7fe</p></body></html>",  # control characters (\x7f is allowed)
        "<html><body><p>non\ufffecharacters\uffff</p><p>\t\r\nkept</p></body></html>",
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd">\n<html><body>x</body></html>',
        '<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml" />\n<body>x</body>',
        "<html><body>Ünïcödé \U0001f600 and a lone surrogate \ud800</body></html>",
    ],
)
def test_the_repair_is_trafilaturas(page: str) -> None:
    beginning = page[:50].lower()
    assert _repaired(page, beginning) == repair_faulty_html(page, beginning)


def test_the_repair_is_trafilaturas_on_real_pages() -> None:
    from trafilatura.utils import decode_file

    for _, page, _ in PAGES:
        text = decode_file(page)
        assert _repaired(text, text[:50].lower()) == repair_faulty_html(text, text[:50].lower())
