"""The article's author: the names the page's meta tags, JSON-LD and byline give, cleaned of what bylines add
(cues, roles, addresses, dates, affiliations), and chosen so that the publisher is not taken for the author.

Every rule here was chosen on half A of the hand-labelled pages (bench/labels/labelled_pages.jsonl, the
"labelled" set of bench/extraction.py: 240 pages of the shared scrapinghub and htmldate sets whose byline a
reader wrote down); half B is held out. docs/extraction.md gives the figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors

from extractors.urls import host_of

# A byline's role and address are not the author's name: "김연숙 기자", "이정훈 특파원 (nomad@yna.co.kr)",
# "Von Anna Schmidt", "By Sarah Miller".
_AUTHOR_ROLE = re.compile(
    r"\s*(?:\(?[\w.+-]+@[\w-]+\.[\w.]+\)?|(?:선임|수석|객원|인턴)?기자|특파원|논설위원|앵커|칼럼니스트)\s*$"
    r"|^\s*(?:by|von|tác giả:?|글)\s+",
    re.IGNORECASE,
)
# What bylines put before the name beside trafilatura's "by" and "von" (normalize_authors strips those):
# French, Spanish and Portuguese, Dutch, German, and English forms with a verb or a genre ("Analysis by Chris
# Cillizza", "Un documentaire de …"). "Autor/in:" is cut from the raw text, before normalize_authors splits it
# at the slash ("Autor; In Korinna Hennig").
_CUE = re.compile(
    r"^\s*(?:par|por|door|vom|artikel von|autor(?:/in|in)?|author|geschrieben von|veröffentlicht von"
    r"|(?:written|posted|analysis|opinion|commentary|review|reporting|interview|photos|text|words) by"
    r"|une? (?:documentaire|reportage|article|enquête|film) de)\b\s*:?\s*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\(?[\w.+-]+@[\w-]+(?:\.[\w-]+)+\)?")
# A byline's tail that is not the name: a biography ("Phil Helsel is a reporter for …") or an affiliation
# ("Amy Kuperinsky | NJ Advance Media for NJ.com", "Charles Walton for SurgeZirc UK").
_BIOGRAPHY = re.compile(r"\s+(?:is|was)\s+an?\s.*$", re.IGNORECASE)
_FOR = re.compile(r"\s+for\s+(?=\S)", re.IGNORECASE)
# The name of a commenter ("Art Edwards says:"), not of the article's author.
_COMMENTER = re.compile(r"\s(?:says|said|sagt|schreibt|dit)\s*:?\s*$", re.IGNORECASE)
# A date run into the byline ("by Jeff Foust<br>Monday, November 18, 2019"): the name ends at a weekday; a part
# that is only a month is dropped (months are also first names: "June Smith" keeps hers).
_WEEKDAY = re.compile(
    r"\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|donnerstag"
    r"|freitag|samstag|sonntag)\b.*$",
    re.IGNORECASE,
)
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "januar",
        "februar",
        "märz",
        "juni",
        "juli",
        "oktober",
        "dezember",
    ]
)
# A part that names a role, not a person, beside a person's name ("Analysis by Chris Cillizza, CNN
# Editor-at-large"). Alone it stays: a desk's byline ("Telegraph Sport", "HNN Staff") is the page's author.
_ROLE_PART = re.compile(
    r"\b(?:editor|editor-at-large|reporter|correspondent|writer|contributor|columnist|producer|redakteur(?:in)?"
    r"|korrespondent(?:in)?)\b",
    re.IGNORECASE,
)
# What a CMS or a page's furniture writes where nobody signed ("Unbenannt" is German for "untitled").
_PLACEHOLDERS = frozenset(
    {
        "admin",
        "administrator",
        "anonym",
        "anonymous",
        "follow",
        "guest",
        "n/a",
        "none",
        "share",
        "subscribe",
        "support team",
        "unbenannt",
        "unknown",
        "webmaster",
    }
)


def author_names(author: str | None) -> list[str]:
    """The names of a normalised byline ("A; B"), each without its cue, role, address, date and affiliation;
    placeholders, commenters and role parts beside a name out, and a name repeated with its initial once."""
    names = []
    for name in (author or "").split(";"):
        name = _WEEKDAY.sub("", _without_tail(_CUE.sub("", name)))
        for _ in range(3):  # "김연숙 기자 (nomad@yna.co.kr)": the address, then the role
            name = _AUTHOR_ROLE.sub("", name).strip()
        if _COMMENTER.search(" " + name):
            continue
        if name and len(_fold(name)) > 1 and name.casefold() not in _PLACEHOLDERS | _MONTHS:
            names.append(name)
    if len(names) > 1:
        names = [name for name in names if not _ROLE_PART.search(name)] or names
    return _distinct(names)


def _without_tail(name: str) -> str:
    """The name without a biography or an affiliation after it; "for" ends a name of two words or more only
    ("Centre for European Reform" is one name)."""
    name = _BIOGRAPHY.sub("", name)
    head = _FOR.split(name, maxsplit=1)[0]
    return head if head != name and len(head.split()) >= 2 else name


def _distinct(names: list[str]) -> list[str]:
    """Each name once: "Troy Smith; Troy L Smith" is one person, named the longer way."""
    words = [set(re.findall(r"\w+", name.casefold())) for name in names]
    return [
        name
        for i, name in enumerate(names)
        if not any(j != i and words[i] <= words[j] and (words[i] < words[j] or j < i) for j in range(len(names)))
    ]


def raw_byline(text: str | None) -> str | None:
    """A byline as the page writes it, without its cue and e-mail addresses, for normalize_authors."""
    if not text:
        return None
    text = _CUE.sub("", _EMAIL.sub(" ", text)).strip()
    return normalize_authors(None, text) if text else None


_AUTHOR_META = XPath("//meta[contains(@content, '@')]")


def without_addresses(tree: HtmlElement) -> None:
    """E-mail addresses out of the meta tags that name authors (before trafilatura reads them): "Lüder Hoppe
    info@buero-hoppe.de" would otherwise become "Lüder Hoppe info-hoppe de"."""
    for element in _AUTHOR_META(tree):
        kind = (element.get("name") or element.get("property") or element.get("itemprop") or "").lower()
        if "author" in kind or "creator" in kind:
            element.set("content", _EMAIL.sub(" ", element.get("content") or "").strip())


def _fold(value: str) -> str:
    """Letters and digits only, case-folded: "Die Tagespost" and "die-tagespost" fold alike."""
    return "".join(ch for ch in value.casefold() if ch.isalnum())


_PUBLISHER_META = XPath(
    "//meta[@name='copyright' or @name='publisher' or @name='application-name' or @property='article:publisher'"
    " or @property='og:site_name']/@content"
)
_JSON_PUBLISHER = re.compile(r'"publisher"\s*:\s*\[?\s*\{[^{}]*?"name"\s*:\s*"([^"]{2,200})"')


def publisher_names(tree: HtmlElement, json_ld: str) -> list[str]:
    """The names the page gives its publisher: copyright and publisher meta tags, and the publisher in
    `json_ld`, the text of the page's JSON-LD ("Copyright (c) Condé Nast" on WIRED, whose meta author is
    "Condé Nast")."""
    return [str(value) for value in _PUBLISHER_META(tree)] + _JSON_PUBLISHER.findall(json_ld)


class Publisher:
    """The site's own names (site name, host, copyright holder, JSON-LD publisher): a byline that names the
    publisher names no author. Half A had meta authors "Die Tagespost" beside the JSON-LD's writer, "Condé
    Nast", "Oberösterreichische Nachrichten", "Hanns-Seidel-Stiftung e.V." on the foundation's site, "NDR",
    "sudinfo.be", and a news agency's og:site_name repeated as the author."""

    MIN_CHARS = 3  # a folded name shorter than this (initials) is never taken for the publisher

    def __init__(self, site_name: str | None, url: str, others: Iterable[str] = ()) -> None:
        host = host_of(url).removeprefix("www.")
        self.domain = _fold(host)
        self.names = [n for n in (_fold(v) for v in (site_name or "", host, *others)) if n]

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
