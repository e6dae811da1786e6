"""Duplicate-detection benchmark: precision and recall of `is_copy` on pairs built from ../shared/data.

- Syndicated pairs (positives): a real article's text, and the same text as another outlet would run it: a
  changed headline, the last paragraph cut, and another article's opening and closing paragraphs around it
  as that outlet's boilerplate. Built from the scrapinghub ground-truth bodies and the topic articles.
- Same-event pairs (negatives): articles of the topic set with the same label and language, most of them
  reports of the same few events by different outlets (Korean agencies quoting the same KCNA text, Yonhap's
  successive rewrites of one story).

Usage: .venv/bin/python -m bench.duplicates
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


def syndicate(text: str, other: str) -> str:
    """The text as another outlet runs it: new headline, last paragraph cut, the outlet's own boilerplate."""
    paragraphs = _paragraphs(text)
    boilerplate = _paragraphs(other)
    body = paragraphs[:-1] if len(paragraphs) > 3 else paragraphs
    return "\n".join(
        [*boilerplate[:2], "Wire report: " + (paragraphs[0][:60] if paragraphs else ""), *body, *boilerplate[-2:]]
    )


def topic_articles() -> list[tuple[str, str, str]]:
    """(label, language, text) of the topic articles."""
    import csv

    from bench.relevance import _article

    rows = []
    with (SHARED / "topic" / "articles.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            title, text = _article(SHARED / "topic" / "articles" / row["file"])
            rows.append((row["label"], row["lang"], f"{title}\n{text}"))
    return rows


def pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(syndicated pairs, same-event pairs)."""
    truth = json.loads((SHARED / "extraction" / "scrapinghub" / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [v["articleBody"] for _, v in sorted(truth.items()) if len(v["articleBody"]) > 600]
    topic = topic_articles()
    texts = [text for _, _, text in topic] + bodies[:60]
    syndicated = [(text, syndicate(text, texts[(i + 7) % len(texts)])) for i, text in enumerate(texts)]
    groups: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for label, language, text in topic:
        groups[(label, language)].append(text)
    same_event = [pair for members in groups.values() for pair in itertools.combinations(members, 2)]
    return syndicated, same_event


def measure() -> dict[str, float]:
    from extractors.duplicates import fingerprint, is_copy

    syndicated, same_event = pairs()

    def copy(a: str, b: str) -> bool:
        fa, fb = fingerprint(a), fingerprint(b)
        return fa is not None and fb is not None and is_copy(fa.signature, fa.shingles, fb.signature, fb.shingles)

    started = time.perf_counter()
    tp = sum(copy(a, b) for a, b in syndicated)
    fp = sum(copy(a, b) for a, b in same_event)
    seconds = time.perf_counter() - started
    fn = len(syndicated) - tp
    return {
        "syndicated_pairs": len(syndicated),
        "same_event_pairs": len(same_event),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_copies": fp,
        "ms_per_pair": seconds / (len(syndicated) + len(same_event)) * 1000,
    }


def main() -> int:
    figures = measure()
    print(
        f"{figures['syndicated_pairs']} syndicated pairs, {figures['same_event_pairs']} same-event pairs\n"
        f"precision {figures['precision']:.3f}  recall {figures['recall']:.3f}  "
        f"(same-event pairs called copies: {figures['false_copies']})\n"
        f"time: {figures['ms_per_pair']:.2f} ms per pair (two fingerprints and a comparison)"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
