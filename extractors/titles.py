"""The article's headline: the one the reader sees (its h1) where the page's declared title disagrees with it.

og:title, JSON-LD's headline and <title> are written for search engines and social cards: they add the site's
name, shorten or rephrase the headline, or name the section. The h1 is what the page shows. trafilatura takes
the declared title first and the h1 only when there is none.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from lxml import etree
from lxml.html import HtmlElement

_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
# The declared title is kept when its words match the visible headline's at least this well (token F1): then
# it is the same headline, perhaps with the site's name added, which the analyst may keep. Below it the two
# are different headlines and the visible one is taken. Chosen on half A of the scrapinghub and htmldate
# pages (bench/extraction.py), where 0.3 to 0.6 gave the same title accuracy.
SAME_HEADLINE_F1 = 0.5
# A visible headline has at least this many words (or characters, for scripts written without spaces): a
# shorter h1 is a logo, a section name ("Politik", "World") or a date.
MIN_HEADLINE_WORDS = 3
MIN_HEADLINE_CHARS = 12
MAX_HEADLINE_CHARS = 300
_OUTSIDE = "ancestor::nav or ancestor::footer or ancestor::aside or ancestor::*[@role='navigation']"
_H1 = etree.XPath(f".//h1[not({_OUTSIDE})]")  # compiled once, not on every call


def unescape(value: str | None) -> str | None:
    """Entities decoded (twice at most: CMSs escape a headline again when they put it in a meta tag)."""
    if value is None:
        return None
    for _ in range(2):
        decoded = html.unescape(value)
        if decoded == value:
            break
        value = decoded
    value = _SPACES.sub(" ", value).strip()
    return value or None


def _tokens(value: str) -> list[str]:
    return _WORD.findall(value.lower())


def similarity(a: str, b: str) -> float:
    """Token F1 of two titles."""
    ta, tb = _tokens(a), _tokens(b)
    common = sum((Counter(ta) & Counter(tb)).values())
    if not common:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


def _looks_like_headline(text: str) -> bool:
    if len(text) > MAX_HEADLINE_CHARS:
        return False
    return len(_tokens(text)) >= MIN_HEADLINE_WORDS or (" " not in text and len(text) >= MIN_HEADLINE_CHARS)


def visible_headlines(tree: HtmlElement) -> list[str]:
    """The page's h1 texts outside navigation, footers and sidebars, in document order."""
    found = []
    for element in _H1(tree):
        text = unescape(element.text_content())
        if text and _looks_like_headline(text):
            found.append(text)
    return found


def choose_title(declared: str | None, headlines: list[str], site_name: str | None = None) -> str | None:
    """The declared title when a visible headline agrees with it (or there is none), else the visible one."""
    declared = unescape(declared)
    candidates = [h for h in headlines if not site_name or similarity(h, site_name) < SAME_HEADLINE_F1]
    if not candidates:
        return declared
    if declared is None:
        return candidates[0]
    best = max(candidates, key=lambda h: similarity(h, declared))
    if similarity(best, declared) >= SAME_HEADLINE_F1:
        return declared
    return candidates[0] if len(candidates) == 1 else declared
