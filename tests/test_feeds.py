"""Every real feed in ../shared/data/feeds is parsed or refused with a clear error, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.feeds import FeedParseError, entry_key, parse_feed
from tests.conftest import FEEDS

FEED_FILES = sorted(
    p
    for p in FEEDS.rglob("*")
    if p.is_file() and p.suffix in {".xml", ".rss", ".atom", ".rdf", ".json", ""} and "LICENSE" not in p.name
)
EXPECTED_PARSES = sorted(FEEDS.glob("rss-parser-npm/test/output/*.json"))


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda p: str(p.relative_to(FEEDS)))
def test_real_feed_parses_or_fails_with_a_clear_error(path: Path) -> None:
    try:
        parsed = parse_feed(path.read_bytes(), "https://example.org/feed.xml")
    except FeedParseError as exc:
        assert str(exc)
        return
    keys = [e.key for e in parsed.entries]
    assert len(keys) == len(set(keys))
    for entry in parsed.entries:
        assert entry.key
        assert entry.canonical_link is None or entry.canonical_link.startswith("http")


@pytest.mark.parametrize("expected", EXPECTED_PARSES, ids=lambda p: p.stem)
def test_titles_and_links_match_the_reference_parse(expected: Path) -> None:
    source = next(expected.parent.parent.joinpath("input").glob(expected.stem + ".*"), None)
    if source is None:
        pytest.skip("no input for this expected parse")
    reference = json.loads(expected.read_bytes().decode("utf-8", errors="replace"))
    items = reference.get("feed", reference).get("items", [])
    try:
        parsed = parse_feed(source.read_bytes(), "https://example.org/feed.xml")
    except FeedParseError:
        assert not items
        return
    links = {e.link for e in parsed.entries}
    for item in items:
        if item.get("link", "").startswith("http"):
            assert item["link"] in links


def test_entry_key_is_guid_else_link_else_a_hash() -> None:
    assert entry_key("guid-1", "https://a/1", "t", "s") == "guid-1"
    assert entry_key(None, "https://a/1", "t", "s") == "https://a/1"
    hashed = entry_key(None, None, "t", "s")
    assert hashed.startswith("sha256:") and hashed == entry_key("", None, "t", "s")


def test_rss_fields_ttl_and_dates_are_read() -> None:
    feed = parse_feed(
        b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>90</ttl>
        <item><title>A &lt;b&gt;bold&lt;/b&gt; title</title><link>https://ex.org/a?utm_source=x</link>
        <description>&lt;p&gt;Summary &lt;em&gt;text&lt;/em&gt;&lt;/p&gt;</description>
        <pubDate>Wed, 19 Jun 2024 10:00:00 +0900</pubDate></item></channel></rss>""",
        "https://ex.org/feed",
    )
    entry = feed.entries[0]
    assert feed.ttl_minutes == 90
    assert entry.canonical_link == "https://ex.org/a"
    assert entry.summary == "Summary text"
    assert entry.published_at == datetime(2024, 6, 19, 1, 0, tzinfo=UTC)


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    feed = parse_feed(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>x</id><title>a</title>'
        b'<link href="/news/1"/></entry></feed>',
        "https://ex.org/feeds/atom.xml",
    )
    assert feed.entries[0].link == "https://ex.org/news/1"


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not a readable feed"):
        parse_feed(b"<html><body><p>hello</p></body></html>", "https://ex.org/")
