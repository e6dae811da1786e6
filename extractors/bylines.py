"""The article's author: trafilatura's meta-tag, JSON-LD and byline readers, then a visible "By …" / "Von …"
line, and the name cleaned of the role and address that bylines add."""

from __future__ import annotations

import re

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_metainfo


def _any(attribute: str, *parts: str) -> str:
    return " or ".join(f"contains({attribute}, '{part}')" for part in parts)


# trafilatura's AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS (trafilatura/xpaths.py, 2.3.1), the same expressions with
# their regular expressions (re:test, one Python call per element of the page) written as the substring tests
# they are: four times faster, the same elements in the same order (tests/test_bylines.py compares the two on
# real pages).
BYLINE_XPATHS = [
    XPath(
        "//*[self::a or self::address or self::div or self::link or self::p or self::span or self::strong]["
        "@rel='author' or @id='author' or @class='author' or @itemprop='author name' or rel='me' or "
        "@data-testid='AuthorCard' or @data-testid='AuthorURL' or "
        + _any("@class", "author-name", "authorname", "AuthorName", "authorName")
        + "]|//author"
    ),
    XPath(
        "//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span]["
        "@class='byline' or @class='username' or @class='byl' or @class='BBL' or contains(@itemprop, 'author') or "
        + _any("@id", "author", "zuozhe", "bianji", "xiaobian")
        + " or "
        + _any(
            "@class",
            "author",
            "channel-name",
            "zuozhe",
            "bianji",
            "xiaobian",
            "submitted-by",
            "posted-by",
            "journalist-name",
        )
        + "]"
    ),
    XPath(
        "//*[contains(@data-component, 'Byline') or contains(@itemprop, 'author') or "
        + _any("@id", "author", "Author")
        + " or "
        + _any("@class", "author", "Author", "screenname", "writer", "byline", "Byline")
        + "]"
    ),
]
BYLINE_DISCARD_XPATHS = [
    XPath(
        ".//*[self::a or self::div or self::section or self::span]["
        "@id='comments' or @class='comments' or @class='title' or @class='date' or "
        "starts-with(@id, 'comments') or "
        + _any("@id", "commentlist", "comment-list", "ProductReviews")
        + " or starts-with(@class, 'Comments') or starts-with(@class, 'comments') or "
        + _any(
            "@class",
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
        + " or contains(@data-component, 'Figure')]"
    ),
    XPath("//time|//figure"),
]


def byline_search(tree: HtmlElement) -> str | None:
    """trafilatura's extract_author, without its copy of the whole tree: it prunes `tree` in place."""
    author = extract_metainfo(prune_unwanted_nodes(tree, BYLINE_DISCARD_XPATHS), BYLINE_XPATHS, len_limit=120)
    return normalize_authors(None, author) if author else None


# A byline's role and address are not the author's name: "김연숙 기자", "이정훈 특파원 (nomad@yna.co.kr)",
# "Von Anna Schmidt", "By Sarah Miller".
_AUTHOR_ROLE = re.compile(
    r"\s*(?:\(?[\w.+-]+@[\w-]+\.[\w.]+\)?|(?:선임|수석|객원|인턴)?기자|특파원|논설위원|앵커)\s*$"
    r"|^\s*(?:by|von|tác giả:?|글)\s+",
    re.IGNORECASE,
)
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


def clean_author(author: str | None) -> str | None:
    """The names in a byline, without roles ("기자") and addresses; None when nothing is left."""
    if not author:
        return None
    names = []
    for name in author.split(";"):
        for _ in range(3):  # "김연숙 기자 (nomad@yna.co.kr)": the address, then the role
            name = _AUTHOR_ROLE.sub("", name).strip()
        if name:
            names.append(name)
    return "; ".join(names) or None
