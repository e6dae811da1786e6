"""The byline search: trafilatura's byline reader (its XPaths as Python tests), then a visible "By …" / "Von …"
line. extractors/authors.py cleans the names and chooses among the page's sources."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.xml import delete_element

# trafilatura's AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS (trafilatura/xpaths.py, 2.3.1), written as Python tests
# of each element's attributes: libxml2 evaluated their dozens of contains() on every element of the page, 10 ms
# a page when the search ran (measured on the scrapinghub pages: the discard expression 3.0 ms in XPath, 1.0 ms
# here). The same elements in the same (document) order: tests/test_bylines.py compares the search with
# trafilatura's extract_author on real pages.
_BYLINE_TAGS = (
    ("a", "address", "div", "link", "p", "span", "strong"),
    ("a", "div", "h3", "h4", "p", "span"),
)
_AUTHOR_NAME_CLASSES = ("author-name", "authorname", "AuthorName", "authorName")
_BYLINE_IDS = ("author", "zuozhe", "bianji", "xiaobian")
_BYLINE_CLASSES = (
    "author",
    "channel-name",
    "zuozhe",
    "bianji",
    "xiaobian",
    "submitted-by",
    "posted-by",
    "journalist-name",
)
_LAST_CLASSES = ("author", "Author", "screenname", "writer", "byline", "Byline")
_DISCARD_IDS = ("commentlist", "comment-list", "ProductReviews")
_DISCARD_CLASSES = (
    "commentlist",
    "comments-list",
    "sidebar",
    "is-hidden",
    "quote",
    "embedly-instagram",
    "article-share",
    "article-support",
    "print",
    "category",
    "meta-date",
    "meta-reviewer",
)


def _contains_any(parts: tuple[str, ...]) -> Callable[[str], bool]:
    """A test of whether a value contains any of `parts` (XPath's contains(), or-ed): one regular expression,
    searched in C, instead of a substring test per part (a third of the search's time on the scrapinghub pages)."""
    search = re.compile("|".join(map(re.escape, parts))).search
    return lambda value: search(value) is not None


_TIME_OR_FIGURE = XPath("//time|//figure")
_author_name_class = _contains_any(_AUTHOR_NAME_CLASSES)
_byline_id = _contains_any(_BYLINE_IDS)
_byline_class = _contains_any(_BYLINE_CLASSES)
_author_id = _contains_any(("author", "Author"))
_last_class = _contains_any(_LAST_CLASSES)
_discard_id = _contains_any(_DISCARD_IDS)
_discard_class = _contains_any(_DISCARD_CLASSES)


def _named_author(tree: HtmlElement) -> Iterator[HtmlElement]:
    """AUTHOR_XPATHS[0]: rel/id/class "author", itemprop "author name", an author-name class, …, and <author>.
    (`rel='me'` there, without @, compares a child element <rel>: kept as written.)"""
    rel_me = {rel.getparent() for rel in tree.iter("rel") if rel.text_content() == "me"}
    for element in tree.iter(*_BYLINE_TAGS[0], "author"):
        if element.tag == "author":
            yield element
            continue
        get = element.get
        cls = get("class") or ""
        if (
            get("rel") == "author"
            or get("id") == "author"
            or cls == "author"
            or get("itemprop") == "author name"
            or element in rel_me
            or get("data-testid") in ("AuthorCard", "AuthorURL")
            or _author_name_class(cls)
        ):
            yield element


def _byline_classes(tree: HtmlElement) -> Iterator[HtmlElement]:
    """AUTHOR_XPATHS[1]: class byline/username/…, itemprop or id or class naming the author."""
    for element in tree.iter(*_BYLINE_TAGS[1]):
        get = element.get
        cls = get("class") or ""
        if (
            cls in ("byline", "username", "byl", "BBL")
            or "author" in (get("itemprop") or "")
            or _byline_id(get("id") or "")
            or _byline_class(cls)
        ):
            yield element


def _any_author_mark(tree: HtmlElement) -> Iterator[HtmlElement]:
    """AUTHOR_XPATHS[2]: any element whose data-component, itemprop, id or class names an author or byline."""
    for element in tree.iter():
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        get = element.get
        if (
            "Byline" in (get("data-component") or "")
            or "author" in (get("itemprop") or "")
            or _author_id(get("id") or "")
            or _last_class(get("class") or "")
        ):
            yield element


BYLINE_FINDERS = (_named_author, _byline_classes, _any_author_mark)


def _discarded(tree: HtmlElement) -> list[HtmlElement]:
    """AUTHOR_DISCARD_XPATHS: comments, titles, dates, sidebars, shares, … and every <time> and <figure>."""
    found = []
    for element in tree.iter("a", "div", "section", "span"):
        if element is tree:
            continue
        get = element.get
        ident, cls = get("id") or "", get("class") or ""
        if (
            ident == "comments"
            or cls in ("comments", "title", "date")
            or ident.startswith("comments")
            or _discard_id(ident)
            or cls.startswith(("Comments", "comments"))
            or _discard_class(cls)
            or "Figure" in (get("data-component") or "")
        ):
            found.append(element)
    return found


def byline_search(tree: HtmlElement) -> str | None:
    """trafilatura's extract_author, without its copy of the whole tree: it prunes `tree` in place."""
    author = byline_text(tree)
    return normalize_authors(None, author) if author else None


def byline_text(tree: HtmlElement) -> str | None:
    """The byline element's text that trafilatura's extract_author would normalise; prunes `tree` in place."""
    for finder in (_discarded, _TIME_OR_FIGURE):  # one after the other, as prune_unwanted_nodes does
        for element in finder(tree):
            delete_element(element)  # the tail text is preserved
    return _first_short_text(tree)


def _first_short_text(tree: HtmlElement, len_limit: int = 120) -> str | None:
    """trafilatura's extract_metainfo over the finders: the first element whose text has 3 to len_limit - 1
    characters (spaces collapsed)."""
    for finder in BYLINE_FINDERS:
        for element in finder(tree):
            content = " ".join(" ".join(element.itertext()).split())
            if content and 2 < len(content) < len_limit:
                return content
    return None


# A visible byline is a short line of its own that starts with the cue, then two to four capitalised words: the
# name ends at a comma, "|", "and/und" or the line's end. Elements in navigation, sidebars and footers are not
# read; the first byline in document order counts. The XPath tests text nodes (short), not elements, whose
# whole text it would otherwise gather for every div of the page.
_BYLINE_CHARS = 100
_BYLINE_XPATH = XPath(
    "//body//text()[starts-with(normalize-space(.), 'By') or starts-with(normalize-space(.), 'by ')"
    " or starts-with(normalize-space(.), 'Von') or starts-with(normalize-space(.), 'von ')]"
    "[not(ancestor::nav or ancestor::footer or ancestor::aside or ancestor::script)]/parent::*"
)
_NAME = re.compile(r"^(?i:by|von)\s+((?:[A-ZÄÖÜ][\w'’.-]+\s+){1,3}[A-ZÄÖÜ][\w'’.-]+)\s*(?:$|[,|·]|\s(?:and|und)\s)")


def visible_byline(tree: HtmlElement) -> str | None:
    """The name in the page's first visible "By …" / "Von …" line."""
    for element in _BYLINE_XPATH(tree)[:5]:
        line = " ".join(element.text_content().split())
        match = _NAME.match(line) if len(line) < _BYLINE_CHARS else None
        if match:
            return match.group(1)
    return None
