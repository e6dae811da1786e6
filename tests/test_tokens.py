"""extractors/tokens.py: the word-only path of `places` (texts without CJK characters) gives the terms, places
and order of terms that the token-by-token path gives, on real texts in every language of the shared sets."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import pytest

from extractors import tokens
from tests.conftest import EXTRACTION, SHARED

TOPIC = SHARED / "topic"
# What real texts seldom hold: digits, single letters, underscores, apostrophes, function words, other scripts.
EDGES = [
    "Article 4 of the treaty: a 1,000-strong unit_2 (K-2) isn't o'clock 3x 5 ½ 2ᵉ",
    "Die Truppen und der Vertrag, 19. Juni 2024 — Ärger über Straße",
    "Đại sứ Nga tại Việt Nam ngày 19/6/2024",
    "Северная Корея и Россия: договор ΕΛΛΑΣ עברית عربى",
    "",
    "   ",
    "a I 7 _ __init__",
]


def _texts() -> Iterator[tuple[str, str | None]]:
    with (TOPIC / "articles.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            yield (TOPIC / "articles" / row["file"]).read_text(encoding="utf-8"), row["lang"]
    with (TOPIC / "feed_items.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield f"{item['title']} {item.get('description') or ''}", item.get("lang")
    truth = json.loads((EXTRACTION / "ground-truth.json").read_text(encoding="utf-8"))
    for value in list(truth.values())[::6]:
        yield value["articleBody"], "en"
    for text in EDGES:
        yield text, None


def _both(text: str, language: str | None) -> tuple[tuple[list[tuple[str, list[int]]], int], ...]:
    word, token = tokens._word_places(text, language), tokens._token_places(text, language)
    return (list(word[0].items()), word[1]), (list(token[0].items()), token[1])


def test_the_word_path_gives_what_the_token_path_gives() -> None:
    checked = 0
    for text, language in _texts():
        text = tokens.normalise(text)
        if tokens._ANY_CJK.search(text):
            assert tokens.places(text, language) == tokens._token_places(text, language)
            continue
        for lang in {language, "en", "de", "vi", None}:
            word, token = _both(text, lang)
            assert word == token, (lang, text[:80])
        checked += 1
    assert checked > 500


def test_a_full_stem_cache_is_emptied_and_the_stems_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_STEM_CACHE_SIZE", 30)
    monkeypatch.setattr(tokens, "_stems", {})
    truth = json.loads((EXTRACTION / "ground-truth.json").read_text(encoding="utf-8"))
    for value in list(truth.values())[:5]:
        text = tokens.normalise(value["articleBody"])
        word, token = _both(text, "en")
        assert word == token
        assert len(tokens._stems["english"]) <= max(30, len(set(text.split())))
