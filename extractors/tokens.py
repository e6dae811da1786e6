"""Tokens for the search index, the same for articles and for queries, in every language the topic follows.

- Text is Unicode NFC and lowercased: Vietnamese keeps its tone marks and `đ` (`triều`, `đại` stay words),
  German its umlauts until the stemmer folds them.
- English and German words are Snowball-stemmed (PyStemmer), after a short list of function words is dropped.
  Other scripts and languages keep their words as written.
- Hangul, Han and kana have no spaces between words (Korean glues particles to its nouns): each run of them
  becomes overlapping character bigrams (`파병을` → `파병`, `병을`), a lone character stays a unigram. A query
  `파병` then finds `파병`, `파병을` and `파병한` alike.

A query's language is usually unknown: each query word then stands for all its spellings (as written, English
stem, German stem) and an article matches the word when it has any of them (see `query_words`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache

import Stemmer

STEMMED = {"en": "english", "de": "german"}  # ISO 639-1 → Snowball algorithm
TITLE_WEIGHT = 2  # a title word counts as often as this many words of the text (a usual choice, not tuned)
# Function words dropped before stemming: they carry no topic and make up a third of an English text's tokens.
STOP_WORDS = {
    "en": frozenset(
        [
            "a",
            "an",
            "and",
            "are",
            "as",
            "at",
            "be",
            "been",
            "but",
            "by",
            "for",
            "from",
            "had",
            "has",
            "have",
            "he",
            "her",
            "his",
            "i",
            "in",
            "is",
            "it",
            "its",
            "of",
            "on",
            "or",
            "our",
            "she",
            "that",
            "the",
            "their",
            "they",
            "this",
            "to",
            "was",
            "were",
            "which",
            "who",
            "will",
            "with",
        ]
    ),
    "de": frozenset(
        [
            "aber",
            "als",
            "am",
            "an",
            "auch",
            "auf",
            "aus",
            "bei",
            "das",
            "dass",
            "dem",
            "den",
            "der",
            "des",
            "die",
            "ein",
            "eine",
            "einem",
            "einen",
            "einer",
            "eines",
            "es",
            "für",
            "hat",
            "im",
            "in",
            "ist",
            "mit",
            "nach",
            "nicht",
            "noch",
            "oder",
            "sich",
            "sie",
            "sind",
            "und",
            "vom",
            "von",
            "vor",
            "war",
            "wie",
            "wird",
            "zu",
            "zum",
            "zur",
        ]
    ),
}

_CJK = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")  # (CJK run, "") or ("", word)


@lru_cache(maxsize=8)
def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(algorithm)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _pieces(text: str) -> list[tuple[str, str]]:
    """(CJK run, "") or ("", word) in text order."""
    return _TOKEN.findall(normalise(text))


def _keep(word: str) -> bool:
    return len(word) > 1 or word.isdigit()


def places(text: str, language: str | None) -> tuple[dict[str, list[int]], int]:
    """Each index term of `text` with the places it stands at, and the number of places. Terms: CJK bigrams (a
    lone CJK character stays a unigram), and the words that are no function word of `language` (ISO 639-1; None:
    unknown) nor a single letter, stemmed when the language has a stemmer.

    Places count the text's words and CJK bigrams in order; a function word or a single letter takes its place
    without being a term, so that "Article 4 of the treaty" has `treati` three places after `4`."""
    text = normalise(text)
    return _token_places(text, language) if _ANY_CJK.search(text) else _word_places(text, language)


def _token_places(text: str, language: str | None) -> tuple[dict[str, list[int]], int]:
    """`places` of a normalised text, token by token (CJK runs and words)."""
    stop = STOP_WORDS.get(language or "", frozenset())
    found: defaultdict[str, list[int]] = defaultdict(list)
    words: list[str] = []
    at: list[int] = []
    place = 0
    for cjk, word in _TOKEN.findall(text):
        if not cjk:
            if (len(word) > 1 or word.isdigit()) and word not in stop:
                words.append(word)
                at.append(place)
            place += 1
        elif len(cjk) == 1:
            found[cjk].append(place)
            place += 1
        else:
            for i in range(len(cjk) - 1):
                found[cjk[i : i + 2]].append(place + i)
            place += len(cjk) - 1
    algorithm = STEMMED.get(language or "")
    if algorithm is not None:
        words = _stemmer(algorithm).stemWords(words)
    for term, where in zip(words, at, strict=True):
        found[term].append(where)
    return found, place


# A text without CJK characters has words only: `places` then takes this path, half the time on the scrapinghub
# texts (0.8 -> 0.4 ms an article, with the stems cached), with the same terms, places and order of terms.
_ANY_CJK = re.compile(f"[{_CJK}]")
_WORD = re.compile(r"[^\W_]+")  # _TOKEN's word group, on a text with no CJK character
_STEM_CACHE_SIZE = 100_000  # words per language; a run's vocabulary seldom reaches it, and it is then emptied
_stems: dict[str, dict[str, str]] = {}


def _stemmed(words: list[str], algorithm: str) -> list[str]:
    """`words` stemmed, each distinct word once (the stemmer costs 0.5 us a word even with its own cache)."""
    cache = _stems.setdefault(algorithm, {})
    missing = [word for word in set(words) if word not in cache]
    if missing:
        if len(cache) + len(missing) > _STEM_CACHE_SIZE:
            cache.clear()
            missing = list(set(words))
        cache.update(zip(missing, _stemmer(algorithm).stemWords(missing), strict=True))
    return [cache[word] for word in words]


def _word_places(text: str, language: str | None) -> tuple[dict[str, list[int]], int]:
    """`places` of a normalised text that has no CJK character."""
    words = _WORD.findall(text)
    stop = STOP_WORDS.get(language or "", frozenset())
    at = [place for place, word in enumerate(words) if word not in stop and (len(word) > 1 or word.isdigit())]
    terms = [words[place] for place in at]
    algorithm = STEMMED.get(language or "")
    if algorithm is not None:
        terms = _stemmed(terms, algorithm)
    found: dict[str, list[int]] = {}
    for term, place in zip(terms, at, strict=True):
        where = found.get(term)
        if where is None:
            found[term] = [place]
        else:
            where.append(place)
    return found, len(words)


def document_postings(
    title: str | None, text: str, language: str | None
) -> tuple[dict[str, tuple[int, list[int]]], int]:
    """Per term of an article: its frequency (a title's occurrence counts TITLE_WEIGHT times) and its places
    (the text's, then the title's after a gap, so that no phrase runs from the text into the title); and its
    length in tokens, BM25's document length."""
    in_text, width = places(text, language)
    postings = {term: (len(where), where) for term, where in in_text.items()}
    if title:
        for term, where in places(title, language)[0].items():
            tf, body = postings.get(term, (0, []))
            postings[term] = (tf + TITLE_WEIGHT * len(where), body + [width + 1 + p for p in where])
    return postings, sum(tf for tf, _ in postings.values())


def _placed_words(query: str, language: str | None, *, phrase: bool) -> list[tuple[int, list[str]]]:
    """(place, spellings) of the query's words, places counted as `places` counts them in a text. phrase: drop
    the words that are a function word in any language (a text in that language has no term for them)."""
    languages = [language] if language else [None, *STEMMED]
    words: list[tuple[int, list[str]]] = []
    place = 0
    for cjk, piece in _pieces(query):
        if cjk:
            words.extend((place + i, [gram]) for i, gram in enumerate(_bigrams(cjk)))
            place += max(len(cjk) - 1, 1)
            continue
        place += 1
        if not _keep(piece) or (phrase and any(piece in stop for stop in STOP_WORDS.values())):
            continue
        spellings = []
        for lang in languages:
            if piece in STOP_WORDS.get(lang or "", frozenset()):
                continue
            algorithm = STEMMED.get(lang or "")
            spelled = _stemmer(algorithm).stemWord(piece) if algorithm else piece
            if spelled not in spellings:
                spellings.append(spelled)
        if spellings:
            words.append((place - 1, spellings))
    if not words and query.strip():
        return [(i, [cjk or word]) for i, (cjk, word) in enumerate(_pieces(query))]
    return words


def query_words(query: str, language: str | None = None) -> list[list[str]]:
    """The query's words, each as the list of index terms that count as it (a CJK bigram is one word).

    With a language, a word is spelled as the index spells that language; without one, as any language does.
    Function words are dropped unless the query has nothing else."""
    return [spellings for _, spellings in _placed_words(query, language, phrase=False)]


def phrase_words(phrase: str) -> list[dict[str, object]]:
    """The words of a phrase (a term of term_trends), each with its place relative to the phrase's start and
    its spellings in any language: an article uses the phrase when every word stands at its place."""
    words = _placed_words(phrase, None, phrase=True)
    start = words[0][0] if words else 0
    return [{"place": place - start, "spellings": spellings} for place, spellings in words]


def probes(query: str) -> list[str]:
    """Lowercase strings to look for in an article's text when cutting a snippet: the query's words as
    written, then their stems, then its CJK runs."""
    found: list[str] = []
    for cjk, word in _pieces(query):
        found.append(cjk or word)
    for spellings in query_words(query):
        found.extend(s for s in spellings if len(s) >= 3)
    return list(dict.fromkeys(found))


def term_id(term: str) -> int:
    """The term's number in the index: DuckDB's md5_number_upper(term), the first 8 bytes of its MD5 read as
    an unsigned little-endian integer."""
    return int.from_bytes(hashlib.md5(term.encode("utf-8")).digest()[:8], "little")
