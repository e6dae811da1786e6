"""The copy test is strict enough for an agency's rewrites of one story, and still finds syndicated copies."""

from __future__ import annotations

from bench.duplicates import measure, topic_articles
from extractors.duplicates import fingerprint, is_copy


def test_successive_rewrites_of_one_story_are_not_copies() -> None:
    """Yonhap's "2nd LD" and "3rd LD" of one launch: a new lead and new paragraphs, not the same text."""
    rewrites = [text for _, _, text in topic_articles() if "oversees test launch" in text or "oversees firing" in text]
    assert len(rewrites) == 2
    a, b = (fingerprint(text) for text in rewrites)
    assert a is not None and b is not None
    assert not is_copy(a.signature, a.shingles, b.signature, b.shingles)


def test_syndicated_copies_are_still_found() -> None:
    figures = measure()
    assert figures["precision"] >= 0.95 and figures["recall"] >= 0.95
