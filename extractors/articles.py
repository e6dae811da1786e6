"""Article pages from bytes to clean text and metadata; trafilatura does the extraction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import py3langid
import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title, extract_url
from trafilatura.settings import Document

from extractors.urls import InvalidURL, canonicalize, host_of

# Chosen by measurement on ../shared/data/extraction/scrapinghub (181 pages, token F1 against the ground
# truth, one core; bench/ingest.py repeats the comparison with plain extract() on every run):
#   plain extract():                                          ~55 pages/s, F1 0.944
#   bare_extraction(with_metadata=True):                      ~34 pages/s, F1 0.952
#   ... include_comments=False, fast=True:                    ~45 pages/s, F1 0.958
#   ... without with_metadata, metadata as below:             ~60 pages/s, F1 0.958
# Reader comments are not the article; the fallback extractors that fast=True skips cost 30% of the time for
# a lower score on this set. trafilatura's full metadata pass adds an XPath hunt for bylines and for
# categories and tags that newsmon does not store: we call its meta-tag, JSON-LD, title, URL and site-name
# readers and htmldate directly instead (same results for those fields, a quarter of the time saved).
EXTRACT_OPTIONS: dict[str, object] = {"fast": True, "include_comments": False, "include_tables": True}

# Fewer characters than this is a teaser, a paywall stub or a consent page, not an article.
# Calibrated on the scrapinghub set, where the shortest real article body has 370 characters.
MIN_TEXT_CHARS = 200

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
    published: date | None  # the date the page states, if any
    language: str | None  # ISO 639-1 where known: the page's lang attribute, else detected from the text
    site_name: str | None
    description: str | None
    text: str


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


def _metadata(tree: HtmlElement, url: str) -> Document:
    """Title, author, canonical URL, site name, description and date, with trafilatura's and htmldate's readers."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # trafilatura's own rule: a one-word "author" is a handle
        meta.author = None
    meta = extract_meta_json(tree, meta)
    meta.title = meta.title or extract_title(tree)
    meta.url = meta.url or extract_url(tree)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    meta.date = find_date(tree, url=meta.url or url, extensive_search=False, original_date=True)
    return meta


def extract_article(content: bytes, url: str, content_type: str = "text/html") -> ExtractedArticle:
    """Extract the main text and metadata of one page. Raises ExtractionError when there is no article."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _HTML_TYPES:
        raise ExtractionError(f"not an HTML page ({media_type})")
    tree = trafilatura.load_html(decode_html(content, content_type))
    if tree is None:
        raise ExtractionError("the page could not be parsed as HTML")
    declared_language = tree.get("lang") or tree.get("xml:lang") or ""  # read before extraction prunes the tree
    meta = _metadata(tree, url)  # before the extraction, which prunes the tree
    document = trafilatura.bare_extraction(tree, url=url, **EXTRACT_OPTIONS)  # type: ignore[arg-type]
    if not isinstance(document, Document):
        raise ExtractionError("no article text found (nothing extracted)")
    text = (document.text or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"no article text found ({len(text)} characters extracted)")
    return ExtractedArticle(
        url=canonical_url(url, meta.url),
        title=meta.title or None,
        author=meta.author or None,
        published=_date(meta.date),
        language=_language(declared_language, text),
        site_name=meta.sitename or None,
        description=meta.description or None,
        text=text,
    )
