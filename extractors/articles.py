"""Article pages from bytes to clean text and metadata; trafilatura does the extraction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import py3langid
import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.baseline import html2txt
from trafilatura.metadata import (
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document

from extractors.bylines import clean_author, visible_byline
from extractors.dates import stated_dates, visible_text
from extractors.refusals import refusal
from extractors.titles import choose_title, visible_headlines
from extractors.urls import InvalidURL, canonicalize, host_of

# The text is extracted in two passes (measured on ../shared/data/extraction/scrapinghub, token F1 against the
# ground truth, one core; bench/extraction.py repeats the comparison on every run):
#   plain extract():                                   F1 0.944
#   bare_extraction, fast=True, comments off:          F1 0.958, the fastest
#   bare_extraction, full (readability/justext comparison): slower by a third, and needed on pages where the fast
#     pass keeps a fragment (of the 61 pages where newsmon fell behind extract, 39 kept a fraction).
# So the fast pass runs first and the full one only when the fast text is short beside the page's own text
# (FULL_PASS_SHARE, DUMP_SHARE). Reader comments are not the article: they stay out.
FAST_OPTIONS: dict[str, object] = {"fast": True, "include_comments": False, "include_tables": True}
FULL_OPTIONS: dict[str, object] = {"fast": False, "include_comments": False, "include_tables": True}
# The full pass runs when the fast text looks short or wrong:
# - short: less than FULL_PASS_SHARE of the page's text (trafilatura's html2txt). The full text is then kept when
#   it is longer. Chosen on half A of the scrapinghub pages (bench/extraction.py splits every set by a hash of
#   the page's key): 0.2 sent 2 of 92 pages to the full pass and lost nothing; 0.25 and above lost a page whose
#   full text was four times longer and mostly boilerplate. Pages that "miss most of their text" keep far less
#   (the example: 268 of 12,205 characters, 2%).
# - wrong: the whole page's text (DUMP_SHARE of it or more), i.e. trafilatura's fallback dump of the page
#   after its extractor found nothing; the full pass's text is then kept when it is shorter. Chosen on half A of
#   the scrapinghub pages, where one page's fast text was the page (F1 0.13) and its full text right (F1 0.89),
#   and no other fast text reached 0.95 of its page.
FULL_PASS_SHARE = 0.2
DUMP_SHARE = 0.98

# Fewer characters than this is no text at all (an empty template, a lone "Subscribe" link). Short real articles
# (a two-sentence news brief has 150) must pass: the page types refused are named in extractors/refusals.py.
MIN_TEXT_CHARS = 25

_LANG = re.compile(r"^[a-zA-Z]{2,3}\b")
# Language detection reads the text's start: 600 characters gave the same language as 2,000 on all 181
# scrapinghub pages and all 56 topic articles (English, Korean, German, Vietnamese), in a quarter of the time
# (0.5 ms instead of 2.4 ms a page).
_LANGID_CHARS = 600
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


class ExtractionError(ValueError):
    """The page holds no article that can be extracted; the message says why."""


@dataclass(frozen=True)
class ExtractedArticle:
    url: str  # canonical: the page's own rel=canonical when it names the same site, else the fetched URL
    title: str | None
    author: str | None
    published: date | None  # the publication date the page itself states (never its update date), if any
    language: str | None  # ISO 639-1 where known: the page's lang attribute, else detected from the text
    site_name: str | None
    description: str | None
    text: str
    extraction: str = "fast"  # "full" when the fast pass's text looked short and the full pass ran


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1).strip("\"'") if match else None


def decode_html(content: bytes, content_type: str) -> str | bytes:
    """The page as text when the HTTP charset decodes it; else the bytes, for trafilatura's own detection."""
    charset = _charset(content_type)
    if charset:
        try:
            return content.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return content


def _same_site(a: str, b: str) -> bool:
    def strip(host: str) -> str:
        for prefix in ("www.", "m.", "amp.", "mobile."):
            if host.startswith(prefix):
                return host[len(prefix) :]
        return host

    return strip(host_of(a)) == strip(host_of(b))


def canonical_url(fetched_url: str, declared: str | None) -> str:
    """The article's key: the page's rel=canonical if it is a page of the same site, else the fetched URL.

    A canonical on another site (syndication) or on the site's front page (a common CMS mistake) is ignored.
    """
    fetched = canonicalize(fetched_url)
    if not declared:
        return fetched
    try:
        candidate = canonicalize(declared)
    except InvalidURL:
        return fetched
    if not _same_site(candidate, fetched) or candidate.split("/", 3)[3:] in ([], [""]):
        return fetched
    return candidate


def _language(declared: str, text: str) -> str | None:
    """The page's declared language (its lang attribute), else the language detected from the text."""
    match = _LANG.match(declared.strip())
    if match:
        return match.group(0).lower()
    language, _score = py3langid.classify(text[:_LANGID_CHARS])
    return str(language)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _modified_dates(tree: HtmlElement) -> set[date | None]:
    """The dates the page's meta tags and JSON-LD give as its last modification."""
    values = tree.xpath(_MODIFIED_META) + _JSON_MODIFIED.findall(" ".join(tree.xpath(_JSON_LD)))
    return {_date(value) for value in values}


def publication_date(tree: HtmlElement, url: str, language: str | None) -> date | None:
    """The page's publication date, never its update date.

    A date the visible text labels as the publication ("입력", "Veröffentlicht am", "Thứ tư, ...") comes
    first; else htmldate's, with its extensive search of the text, unless that date is one the page labels as
    an update (its "modified" meta tags and JSON-LD, "수정", "Aktualisiert", "Cập nhật"), which htmldate takes
    when it finds nothing better.
    """
    stated = stated_dates(visible_text(tree), language)
    if stated.published is not None:
        return stated.published
    found = _date(find_date(tree, url=url, extensive_search=True, original_date=True))
    if found is None:
        return None
    updated = found in stated.updated or found in _modified_dates(tree)
    if updated and not _published_meta(tree, found):
        return None
    return found


def _published_meta(tree: HtmlElement, day: date) -> bool:
    """Whether a meta tag or JSON-LD states `day` as the publication date too (sites that publish and
    update on one day)."""
    values = tree.xpath(_PUBLISHED_META) + _JSON_PUBLISHED.findall(" ".join(tree.xpath(_JSON_LD)))
    return any(_date(value) == day for value in values)


_MODIFIED_META = (
    "//meta[@property='article:modified_time' or @property='og:updated_time' or @name='last-modified' "
    "or @itemprop='dateModified' or @name='dcterms.modified']/@content | //*[@itemprop='dateModified']/@datetime"
)
_PUBLISHED_META = (
    "//meta[@property='article:published_time' or @name='pubdate' or @name='publishdate' "
    "or @itemprop='datePublished' or @name='date' or @name='dc.date' or @name='dcterms.created' "
    "or @property='og:published_time']/@content | //*[@itemprop='datePublished']/@datetime"
)
_JSON_LD = "//script[@type='application/ld+json']/text()"
_JSON_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]{10,})"')
_JSON_PUBLISHED = re.compile(r'"date(?:Published|Created)"\s*:\s*"([^"]{10,})"')


def _metadata(tree: HtmlElement, url: str, language: str | None) -> Document:
    """trafilatura's metadata readers (meta tags, JSON-LD, title, byline, URL, site name) without the
    categories, tags and licence that newsmon does not store; the title and date chosen as in titles.py and
    publication_date."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # trafilatura's own rule: a one-word "author" is a handle
        meta.author = None
    meta = extract_meta_json(tree, meta)
    if not meta.author:
        meta.author = extract_author(tree) or visible_byline(tree)  # class="byline", rel="author", "By …"
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    meta.title = choose_title(meta.title or extract_title(tree), visible_headlines(tree), meta.sitename)
    meta.url = meta.url or extract_url(tree)
    meta.author = clean_author(meta.author)
    meta.clean_and_trim()  # entities decoded, spaces collapsed, as trafilatura's own metadata pass does
    meta.date = None
    return meta


def _document_text(tree: HtmlElement, url: str, options: dict[str, object]) -> str:
    document = trafilatura.bare_extraction(tree, url=url, **options)  # type: ignore[arg-type]
    return (document.text or "").strip() if isinstance(document, Document) else ""


def _text(tree: HtmlElement, url: str) -> tuple[str, str]:
    """The article's text and the path that gave it: "fast", or "full" when the fast text looked short or was
    the whole page and the full pass did better."""
    text = _document_text(tree, url, FAST_OPTIONS)
    page = len(html2txt(tree))
    short, dump = len(text) < FULL_PASS_SHARE * page, page > 0 and len(text) >= DUMP_SHARE * page
    if not (short or dump):
        return text, "fast"
    full = _document_text(tree, url, FULL_OPTIONS)
    if (short and len(full) > len(text)) or (dump and MIN_TEXT_CHARS <= len(full) < len(text)):
        return full, "full"
    return text, "fast"


def extract_article(content: bytes, url: str, content_type: str = "text/html") -> ExtractedArticle:
    """Extract the main text and metadata of one page. Raises ExtractionError when there is no article."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _HTML_TYPES:
        raise ExtractionError(f"not an HTML page ({media_type})")
    tree = trafilatura.load_html(decode_html(content, content_type))
    if tree is None:
        raise ExtractionError("the page could not be parsed as HTML")
    declared_language = tree.get("lang") or tree.get("xml:lang") or ""
    declared_code = _LANG.match(declared_language.strip())
    meta = _metadata(tree, url, declared_code.group(0).lower() if declared_code else None)
    text, path = _text(tree, url)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"no article text found ({len(text)} characters extracted)")
    reason = refusal(url, meta.title, text)
    if reason:
        raise ExtractionError(reason)
    language = _language(declared_language, text)
    return ExtractedArticle(
        url=canonical_url(url, meta.url),
        title=meta.title or None,
        author=meta.author or None,
        published=publication_date(tree, meta.url or url, language),
        language=language,
        site_name=meta.sitename or None,
        description=meta.description or None,
        text=text,
        extraction=path,
    )
