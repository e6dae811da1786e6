"""Feed documents (RSS, Atom, RDF) from bytes to entries; feedparser does the parsing."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from extractors.urls import InvalidURL, canonicalize


class FeedParseError(ValueError):
    """The bytes are not a feed that can be read (not XML, not a feed, or no entries and a parse error)."""


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the GUID, else the link, else a hash of title and summary: stable across polls
    link: str | None  # the entry's link as the feed gives it, made absolute
    canonical_link: str | None  # the canonical spelling of `link` (None when it is no http(s) URL)
    title: str | None
    summary: str | None
    published_at: datetime | None  # UTC; the entry's published date, else its updated date


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]
    ttl_minutes: int | None  # RSS <ttl>: how long the publisher asks us to wait between polls
    warning: str | None  # a recoverable problem feedparser met (a "bozo" feed that still had entries)


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def plain_text(value: str | None) -> str | None:
    """Text without markup or runs of white space (feed summaries are often HTML)."""
    if not value:
        return None
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()
    return text or None


def _timestamp(entry: Any) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, field)  # plain dict access: feedparser's own maps one field onto another
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError):
                continue
    return None


def entry_key(guid: str | None, link: str | None, title: str | None, summary: str | None) -> str:
    """The key that makes an entry "seen": GUID, else link, else a hash of title and summary."""
    if guid and guid.strip():
        return guid.strip()
    if link:
        return link
    digest = hashlib.sha256(f"{title or ''}\x1f{summary or ''}".encode()).hexdigest()
    return f"sha256:{digest}"


def _entry(raw: Any) -> FeedEntry:
    link = raw.get("link") or None
    canonical = None
    if link:
        try:
            canonical = canonicalize(link)
        except InvalidURL:
            canonical = None
    title = plain_text(raw.get("title"))
    summary = plain_text(raw.get("summary"))
    return FeedEntry(
        key=entry_key(raw.get("id"), link, title, summary),
        link=link,
        canonical_link=canonical,
        title=title,
        summary=summary,
        published_at=_timestamp(raw),
    )


def _ttl(feed: Any) -> int | None:
    raw = feed.get("ttl")
    try:
        ttl = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return ttl if ttl > 0 else None


def parse_feed(content: bytes, url: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed document. `headers` are the HTTP response headers, which tell feedparser the charset."""
    if not content.strip():
        raise FeedParseError("the feed is empty")
    # feedparser takes the base URL and Content-Type from the headers: it never fetches anything itself
    # when it is given bytes.
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers.setdefault("content-location", url)
    parsed = feedparser.parse(content, response_headers=response_headers, sanitize_html=False)
    problem = parsed.get("bozo_exception")
    version = parsed.get("version") or ""
    if not parsed.entries and (problem is not None or not version):
        reason = f"{type(problem).__name__}: {problem}" if problem else "no feed found in the document"
        raise FeedParseError(f"not a readable feed: {reason}")
    entries: dict[str, FeedEntry] = {}
    for raw in parsed.entries:
        entry = _entry(raw)
        entries.setdefault(entry.key, entry)  # a feed listing one GUID twice keeps the first
    warning = f"{type(problem).__name__}: {problem}" if problem is not None else None
    return ParsedFeed(
        title=plain_text(parsed.feed.get("title")),
        entries=tuple(entries.values()),
        ttl_minutes=_ttl(parsed.feed),
        warning=warning,
    )
