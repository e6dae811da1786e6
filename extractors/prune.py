"""trafilatura's pruning of the tree, as attribute tests in Python instead of XPath.

trafilatura (2.3.1) finds what to prune with XPath expressions whose EXSLT `re:test` calls Python's `re` from
libxml2 for each candidate element and each attribute. Timed inside `extract_article` on the 181 scrapinghub
pages (docs/speed.md), six of them cost 4 ms of the ~20 ms a page took: the comment sections
(`REMOVE_COMMENTS_AND_LISTS_XPATH[0]`), the infinite-scroll containers and share buttons
(`RAW_TREE_PRUNE_XPATH`), the boilerplate and the hidden parts (`OVERALL_DISCARD_XPATH[0, 1]`) and the first
guess at the article's body (`BODY_XPATH[0]`). The same tests made by Python on lxml's element iterator take a
fifth of that.

`faster_pruning()` also spares the fast pass a copy of the cleaned tree that it never reads: trafilatura's
`_prepare_tree` copies it as a backup for the comparison with readability and jusText and for the comments of a
forum thread, neither of which a fast pass without comments does (0.15 ms a page, plus freeing the copy). That
too only while the three functions involved are the ones read (their source's hash).

`faster_pruning()` puts finders in trafilatura's lists, for the time of newsmon's call, that return exactly the
elements its XPaths return, in the same order (tests/test_prune.py compares them on shared pages, both on the
parsed page and on the trees trafilatura passes them). It does so only for lists whose expressions are still the
ones these finders were written from (their text's hash): a trafilatura whose expressions changed keeps its own,
and the test says so.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import copy
from types import ModuleType

from lxml import etree
from lxml.html import HtmlElement
from trafilatura import core, main_extractor, xpaths
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor

Finder = Callable[[HtmlElement], list[HtmlElement]]

# The regular expressions of the XPaths below, as trafilatura's xpaths.py builds them.
_SCROLL = re.compile("mvp-post-add-(?:box|wrap)|infinite-?scroll")
_ZOX = re.compile("mvp-post-add-(?:box|wrap)")
_COMMENTS_OR_DISQUS_ID = re.compile(f"^(?:{xpaths._COMMENTS_ID}|disqus_thread|dsq-comments)")
_COMMENTS_ID = re.compile(f"^(?:{xpaths._COMMENTS_ID})")
_COMMENTS_CLASS = re.compile(xpaths._COMMENTS_CLASS)


def _scroll_containers(tree: HtmlElement) -> list[HtmlElement]:
    """RAW_TREE_PRUNE_XPATH[0]: a div, section or aside whose id or class names an infinite scroll or Zox
    News's appended posts, unless it holds an h1 (then it is the article) and is not Zox's."""
    found = []
    for element in tree.iterdescendants("div", "section", "aside"):
        ident, kind = element.get("id", ""), element.get("class", "")
        if (_SCROLL.search(ident) or _SCROLL.search(kind)) and (
            element.find(".//h1") is None or _ZOX.search(ident) or _ZOX.search(kind)
        ):
            found.append(element)
    return found


def _share_buttons(tree: HtmlElement) -> list[HtmlElement]:
    """RAW_TREE_PRUNE_XPATH[1]: Elementor's share buttons."""
    return [
        element
        for element in tree.iterdescendants("div", "section", "aside")
        if "elementor-share-buttons" in element.get("class", "")
    ]


def _comment_sections(tree: HtmlElement) -> list[HtmlElement]:
    """REMOVE_COMMENTS_AND_LISTS_XPATH[0]: a comment section (div, list, section, details) by its id or class,
    and a comment list (ol, ul) by the same class or a comment id other than Disqus's."""
    found = []
    for element in tree.iterdescendants("div", "list", "section", "details", "ol", "ul"):
        ident, kind = element.get("id", ""), element.get("class", "")
        if _COMMENTS_CLASS.search(kind) or (
            _COMMENTS_OR_DISQUS_ID.search(ident) and (element.tag not in ("ol", "ul") or _COMMENTS_ID.search(ident))
        ):
            found.append(element)
    return found


def _first_of(element: HtmlElement, names: tuple[str, str]) -> str:
    """XPath's string of `@a|@b`: the value of whichever of the two attributes comes first on the element
    (a union is in document order, and an element's attributes are in the order the page gives them)."""
    return next((value for name, value in element.items() if name in names), "")


_DISCARD_IDS = re.compile(
    "^shar|social|viral|newsletter|syndication|tags|sidebar|banner|bread-?crumb|button|author|^(?:jp-|dpsp-content)"
    "|bmdh|footer|Footer|share|Share|nav|Nav|menu|related|message-container|premium|^ad-"
)
_DISCARD_CLASSES = re.compile(
    "^shar|social|viral|newsletter|syndication|tags|sidebar|banner|bread-?crumb|button|author"
    "|^(?:nav|post-nav|ZendeskForm)|subnav|avigation|navbar|navbox|menu|bar| ad |-ad-|(?:^| )ad-|dfp[Aa]d|outbrain"
    "|taboola|criteo|paid-?content|widget|footer|Footer|byline|Byline|share-|sociable|embedded|embed|tag-list"
    "|consent|modal-content|permission|elated|next-|-stories|most-popular|more-on|meta|rating|attachment"
    "|timestamp|user-info|user-profile|-icon|article-infos|message-container|slide|viewport|overlay|options"
    "|expand|obfuscated|blurred|mol-factbox|yin|zlylin|nfoline"
)


def _boilerplate(tree: HtmlElement) -> list[HtmlElement]:
    """OVERALL_DISCARD_XPATH[0]: navigation, sharing, newsletters, ads, footers, bylines and the like, by the
    id, class, role or data attributes of a div, item, list, p, section or span."""
    found = []
    for element in tree.iterdescendants("div", "item", "list", "p", "section", "span"):
        if (
            element.get("data-lp-replacement-content") is not None
            or "nav" in element.get("role", "").replace("N", "n")
            or "MostPopularStories" in element.get("data-component", "")
            or "cookie" in _first_of(element, ("id", "class"))
            or _DISCARD_IDS.search(element.get("id", ""))
            or _DISCARD_CLASSES.search(element.get("class", ""))
        ):
            found.append(element)
    return found


_HIDDEN_IDS = re.compile("reader-comments|akismet")
_HIDDEN_CLASSES = re.compile(
    "^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links|-hide-|hide-print| hidden| hide|noprint"
    "|notloaded"
)


def _hidden(tree: HtmlElement) -> list[HtmlElement]:
    """OVERALL_DISCARD_XPATH[1]: any element that is hidden, a reply or a comment form's part."""
    found = []
    for element in tree.iterdescendants(etree.Element):
        style = element.get("style", "")
        if (
            element.get("class") == "comments-title"
            or _first_of(element, ("id", "class")).startswith("reply-")
            or "hidden" in _first_of(element, ("id", "style"))
            or "display:none" in style
            or "display: none" in style
            or _HIDDEN_IDS.search(element.get("id", ""))
            or _HIDDEN_CLASSES.search(element.get("class", ""))
            or element.get("aria-hidden") == "true"
        ):
            found.append(element)
    return found


_BODY_IDS = re.compile("(?:entry|article|art)-content|article__content|article(?:-|__)?body|articleBody|body-text")
_BODY_CLASSES = re.compile(
    "post[-_]text|post-body|post-?entry|post[-_]?content|postContent|post_inner_wrapper|article-?text|articleText"
    "|(?:entry|page|text|article|art)-content|article__content|article(?:-|__)?body|articleBody|ArticleContent"
    "|body-text|article__container"
)


def _article_bodies(tree: HtmlElement) -> list[HtmlElement]:
    """BODY_XPATH[0]: an article, div, main or section marked as the article's body by its class, id or
    itemprop; of siblings, the first only (the XPath's `[1]` applies to each parent's children)."""
    found, parents = [], set()
    for element in tree.iterdescendants("article", "div", "main", "section"):
        kind, ident = element.get("class", ""), element.get("id", "")
        if (
            kind in ("post", "entry")
            or element.get("itemprop") == "articleBody"
            or ident == "articleContent"
            or _BODY_IDS.search(ident)
            or _BODY_CLASSES.search(kind)
        ):
            parent = element.getparent()
            if parent not in parents:
                parents.add(parent)
                found.append(element)
    return found


# The lists replaced: each list's module, the hash of the expressions replaced (expressions_hash) and their
# finders, for the first expressions of the list in order (the rest stay trafilatura's).
_REPLACED: dict[str, tuple[ModuleType, str, list[Finder]]] = {
    "RAW_TREE_PRUNE_XPATH": (core, "06426494c87a26ac", [_scroll_containers, _share_buttons]),
    "REMOVE_COMMENTS_AND_LISTS_XPATH": (core, "9cc18d34e6e2d258", [_comment_sections]),
    "OVERALL_DISCARD_XPATH": (main_extractor, "e0f0992fedd02ac1", [_boilerplate, _hidden]),
    "BODY_XPATH": (main_extractor, "caaa561ceca17064", [_article_bodies]),
}


def _digest(text: str) -> str:
    """The first 16 hex digits of the sha256 of `text`: what the finders and the copy's skip were written from."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expressions_hash(name: str, count: int | None = None) -> str:
    """_digest of trafilatura's expressions in the list `name` (the first `count` of them)."""
    return _digest("\0".join(expression.path for expression in getattr(xpaths, name)[:count]))


def _usable() -> dict[str, tuple[ModuleType, list[Finder]]]:
    usable = {}
    for name, (module, digest, finders) in _REPLACED.items():
        if expressions_hash(name, len(finders)) == digest and getattr(module, name) is getattr(xpaths, name):
            usable[name] = (module, [*finders, *getattr(xpaths, name)[len(finders) :]])
    return usable


USABLE = _usable()


# trafilatura's functions that make and use the backup copy, and the hash of their source (source_hash) when
# _prepare_without_backup was written: _prepare_tree makes it; _extract_and_compare reads it only when not fast;
# trafilatura_sequence passes it on, and reads it only for a forum page with comments on.
_BACKUP_READERS = {
    "_prepare_tree": "9595f0642825c2c7",
    "_extract_and_compare": "f7d056c2118222e8",
    "trafilatura_sequence": "f03dc4d2946dacbd",
}
_TRAFILATURA_PREPARE = core._prepare_tree


def source_hash(name: str, owner: object = core) -> str:
    """_digest of the source of `owner`'s function `name` (trafilatura.core's by default); "" when its source
    cannot be read (an installation without .py files): the guarded shortcut is then not taken."""
    try:
        return _digest(inspect.getsource(getattr(owner, name)))
    except (AttributeError, OSError, TypeError):
        return ""


def _prepare_without_backup(
    tree: HtmlElement, options: Extractor, url: str | None
) -> tuple[HtmlElement, HtmlElement | None]:
    """trafilatura's _prepare_tree, without the backup copy when the pass cannot read it. The backup is None
    then, so that a trafilatura that reads it after all fails loudly instead of extracting from the wrong tree."""
    if options.fast and not options.comments:
        return convert_tags(tree_cleaning(copy(tree), options), options, url), None
    return _TRAFILATURA_PREPARE(tree, options, url)


def sources_unchanged(digests: dict[str, str]) -> bool:
    """Whether each of trafilatura.core's functions named in `digests` still has the source_hash given."""
    return all(source_hash(name) == digest for name, digest in digests.items())


def _backup_skippable() -> bool:
    return sources_unchanged(_BACKUP_READERS)


BACKUP_SKIPPABLE = _backup_skippable()


@contextmanager
def faster_pruning() -> Iterator[None]:
    """trafilatura with the finders in place of its expressions (those still the same, USABLE), for the time
    of the block; trafilatura called elsewhere, as bench/ingest.py's baseline, keeps its own. Results are the
    same either way: only the time differs, so a thread that calls trafilatura meanwhile loses nothing."""
    for name, (module, finders) in USABLE.items():
        setattr(module, name, finders)
    if BACKUP_SKIPPABLE:
        core._prepare_tree = _prepare_without_backup
    try:
        yield
    finally:
        for name, (module, _) in USABLE.items():
            setattr(module, name, getattr(xpaths, name))
        core._prepare_tree = _TRAFILATURA_PREPARE
