"""The article's author: trafilatura's meta-tag, JSON-LD and byline readers, then a visible "By …" / "Von …"
line, and the name cleaned of the role and address that bylines add."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.xml import delete_element

from extractors.urls import host_of

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
    return "; ".join(author_names(author)) or None


def author_names(author: str | None) -> list[str]:
    """The names of a normalised byline ("A; B"), each without its cue, role and address; placeholders out."""
    names = []
    for name in (author or "").split(";"):
        name = _CUE.sub("", name)
        for _ in range(3):  # "김연숙 기자 (nomad@yna.co.kr)": the address, then the role
            name = _AUTHOR_ROLE.sub("", name).strip()
        if name and name.casefold() not in _PLACEHOLDERS:
            names.append(name)
    return names


# What a CMS writes where nobody signed: no author ("Unbenannt" is German for "untitled").
_PLACEHOLDERS = frozenset(
    {"admin", "administrator", "anonymous", "anonym", "guest", "n/a", "none", "unbenannt", "unknown", "webmaster"}
)


# What bylines put before the name beside trafilatura's "by" and "von" (normalize_authors strips those):
# French, Spanish and Portuguese, Dutch, German, and English forms with a verb. "Autor/in:" is cut from the raw
# text, before normalize_authors splits it at the slash ("Autor; In Korinna Hennig"). Chosen on half A of the
# hand-labelled pages (bench/extraction.py, set "labelled"): "Artikel von hausinfo", "Par sudinfo.be", NDR's
# "Autor/in:".
_CUE = re.compile(
    r"^\s*(?:par|por|door|artikel von|autor(?:/in|in)?|author|written by|posted by|geschrieben von)\b\s*:?\s*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\(?[\w.+-]+@[\w-]+(?:\.[\w-]+)+\)?")


def raw_byline(text: str | None) -> str | None:
    """A byline as the page writes it, without its cue and e-mail addresses, for normalize_authors."""
    if not text:
        return None
    text = _CUE.sub("", _EMAIL.sub(" ", text)).strip()
    return normalize_authors(None, text) if text else None


_AUTHOR_META = XPath("//meta[contains(@content, '@')]")


def without_addresses(tree: HtmlElement) -> None:
    """E-mail addresses out of the meta tags that name authors (before trafilatura reads them)."""
    for element in _AUTHOR_META(tree):
        kind = (element.get("name") or element.get("property") or element.get("itemprop") or "").lower()
        if "author" in kind or "creator" in kind:
            element.set("content", _EMAIL.sub(" ", element.get("content") or "").strip())


def _fold(value: str) -> str:
    """Letters and digits only, case-folded: "Die Tagespost" and "die-tagespost" fold alike."""
    return "".join(ch for ch in value.casefold() if ch.isalnum())


class Publisher:
    """The site's own names (its site name, its host): a byline that names the publisher names no author.

    Chosen on half A of the hand-labelled pages (bench/extraction.py, set "labelled"): meta authors "Die
    Tagespost" beside the JSON-LD's writer, "Oberösterreichische Nachrichten", "Hanns-Seidel-Stiftung e.V." on
    the foundation's site, "NDR", "sudinfo.be", a news agency's og:site_name repeated as the author."""

    MIN_CHARS = 3  # a folded name shorter than this (initials) is never taken for the publisher

    def __init__(self, site_name: str | None, url: str) -> None:
        host = host_of(url).removeprefix("www.")
        self.domain = _fold(host)
        self.names = [n for n in (_fold(site_name or ""), _fold(host)) if n]

    def spells_domain(self, name: str) -> bool:
        """Whether `name` is the site's domain written out ("sudinfo be"): never a person."""
        return bool(self.domain) and _fold(name) == self.domain

    def named_by(self, name: str) -> bool:
        """Whether `name` is one of the publisher's names, or part of one."""
        folded = _fold(name)
        return len(folded) >= self.MIN_CHARS and any(folded in n for n in self.names)


def choose_author(meta_author: str | None, byline: Callable[[], str | None], publisher: Publisher) -> str | None:
    """The article's author: the meta tags' and JSON-LD's names that are not the publisher's; else the byline
    search's (`byline`, called only then: it prunes the tree); else the publisher's name where a visible byline
    gives it ("Artikel von: hausinfo"), unless it is the domain written out. A meta tag that repeats the site's
    name is the CMS's default, not a byline: None."""
    names = author_names(meta_author)
    kept = [name for name in names if not publisher.named_by(name)]
    if kept:
        return "; ".join(kept)
    found = author_names(byline())
    kept = [name for name in found if not publisher.named_by(name)]
    if kept:
        return "; ".join(kept)
    return "; ".join(name for name in found if not publisher.spells_domain(name)) or None
