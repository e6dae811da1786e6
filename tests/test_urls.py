from __future__ import annotations

import pytest

from extractors.urls import InvalidURL, canonicalize, is_forbidden_address


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a?b=1#frag", "http://example.com/a?b=1"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/a?utm_source=rss&id=7&utm_medium=x&fbclid=abc", "https://example.com/a?id=7"),
        ("https://example.com/a?gclid=1&ito=feed", "https://example.com/a"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://example.com/a?q=north+korea&page=2", "https://example.com/a?q=north%20korea&page=2"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        # AMP and aggregator variants of one article
        ("https://www.example.com/news/story/amp", "https://www.example.com/news/story"),
        ("https://www.example.com/news/story/amp/", "https://www.example.com/news/story"),
        ("https://amp.example.com/news/story", "https://example.com/news/story"),
        ("https://www.example.com/news/story?outputType=amp&id=3", "https://www.example.com/news/story?id=3"),
        ("https://www.example.com/news/story?amp", "https://www.example.com/news/story"),
        (
            "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=X&url=https%3a%2f%2fwww.example.com%2fa%3futm_source%3dbing&c=1",
            "https://www.example.com/a",
        ),
        ("https://www.google.com/url?rct=j&sa=t&url=https://example.org/x?id=2&ct=ga", "https://example.org/x?id=2"),
    ],
)
def test_canonical_url_drops_what_does_not_change_the_page(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical


def test_canonicalising_twice_changes_nothing() -> None:
    once = canonicalize("https://Example.com/a b?x=1&utm_id=2#top")
    assert canonicalize(once) == once


@pytest.mark.parametrize("url", ["ftp://example.com/a", "/relative/path", "mailto:a@b.c", "http://"])
def test_non_http_urls_are_rejected(url: str) -> None:
    with pytest.raises(InvalidURL):
        canonicalize(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.5",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
def test_private_loopback_and_metadata_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:85e5"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(address)
