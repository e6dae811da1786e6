"""Relevance benchmark on ../shared/data/topic: newsmon's scorer against the boolean keyword query.

Prints precision, recall and F1 per set (feed items: title + description; articles: full text) and per
language, how the `near` items (the hard negatives) were judged by subcategory, and the time per 1,000
texts. Each figure of the scorer stands beside the keyword baseline's, measured in the same run. `on` is the
positive class; `near` and `off` are negatives. The seeds are not evaluation data.

Usage: .venv/bin/python -m bench.relevance [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extractors.topic import Topic, parse_topic
from flows.settings import seed_texts

ROOT = Path(__file__).resolve().parents[1]
TOPIC = ROOT.parent / "shared" / "data" / "topic"
SEEDS = ROOT / "seeds"

# The anchor to beat: what Google Alerts or a Media Cloud search gives an analyst.
_RUSSIA = re.compile(r"\brussia\w*|\bputin\b|\bmoscow\b|\bkremlin\b|\blavrov\b|\bshoigu\b|\bbelousov\b", re.I)
_NK = re.compile(r"\bnorth korea\w*|\bdprk\b|\bpyongyang\b|\bkim jong", re.I)


# What the README asks of a user who defines a new topic: the seeds and a few English terms. Measured beside the
# full definition, to show what the method does without hand-written terms in other languages.
MINIMAL_RELEVANCE = """
[relevance]
context = ["military", "troops", "soldiers", "weapons", "arms", "munitions", "missile*", "war", "treaty",
           "defence", "defense"]
relation = ["supply*", "send*", "sent", "deal*", "agreement*", "summit*", "meet*", "talks", "cooperat*",
            "treaty", "alliance", "ties", "support*", "help*", "visit*"]
exclude = ["kardashian*"]
[[relevance.groups]]
name = "Russia"
terms = ["russia*", "putin", "moscow", "kremlin"]
[[relevance.groups]]
name = "North Korea"
terms = ["north korea*", "pyongyang", "dprk", "kim jong*"]
aliases = ["kim"]
"""


def minimal_topic() -> Topic:
    """Today's seeds with MINIMAL_RELEVANCE for a topic definition."""
    toml_text = (SEEDS / "topic.toml").read_text(encoding="utf-8")
    toml_text = toml_text[: toml_text.index("\n[relevance]")] + MINIMAL_RELEVANCE
    return parse_topic(toml_text, seed_texts(SEEDS))


def keyword_baseline(title: str, text: str) -> bool:
    whole = f"{title} {text}"
    return bool(_RUSSIA.search(whole) and _NK.search(whole))


@dataclass(frozen=True)
class Item:
    set: str  # feed_items or articles
    language: str
    label: str
    subcategory: str
    title: str
    text: str
    group: str = ""  # the feed's site or the article's outlet: cross-validation folds keep a group together
    key: str = ""  # the item's url or file


def _plain(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value or "")).strip()


def load_items() -> list[Item]:
    items = []
    for line in (TOPIC / "feed_items.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        language = (row.get("language") or "").split("-")[0].lower() or "?"
        items.append(
            Item(
                "feed_items",
                language,
                row["label"],
                row.get("subcategory") or "",
                row["title"],
                _plain(row["description"]),
                "feed:" + _site(row.get("feed") or row.get("url") or ""),
                row.get("url") or str(row.get("id")),
            )
        )
    with (TOPIC / "articles.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            path = TOPIC / "articles" / row["file"]
            title, text = _article(path)
            group = "outlet:" + _outlet(path)
            items.append(Item("articles", row["lang"], row["label"], "", title, text, group, row["file"]))
    return items


def _site(url: str) -> str:
    host = re.sub(r"^[a-z]+://", "", url).split("/")[0].lower()
    return host.removeprefix("www.").removeprefix("feeds.").removeprefix("rss.")


def _outlet(path: Path) -> str:
    """The publisher a crawl names; else the collection (trends, purenews) or the site in the file name."""
    match = re.search(r"^publisher:\s*(\S.*?)\s*$", path.read_text(encoding="utf-8"), re.M)
    if match:
        return match.group(1)
    collection, _, rest = path.stem.partition("_")
    return rest.split("_")[0] if collection == "uagent" else collection


def _article(path: Path) -> tuple[str, str]:
    raw = path.read_text(encoding="utf-8")
    title = ""
    if raw.startswith("---"):
        _, front, raw = raw.split("---", 2)
        match = re.search(r"^\s*title:\s*\"?(.*?)\"?\s*$", front, re.M)
        title = match.group(1) if match else ""
    return html.unescape(title), html.unescape(raw)


def prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int]:
    tp = sum(1 for predicted, actual in pairs if predicted and actual)
    fp = sum(1 for predicted, actual in pairs if predicted and not actual)
    fn = sum(1 for predicted, actual in pairs if not predicted and actual)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, len(pairs)


def evaluate(items: list[Item], decide: Callable[[Item], bool]) -> dict[str, tuple[float, float, float, int]]:
    groups: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for item in items:
        pair = (decide(item), item.label == "on")
        groups[item.set].append(pair)
        groups[f"{item.set}/{item.language}"].append(pair)
    return {name: prf(pairs) for name, pairs in sorted(groups.items())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    from extractors.relevance import profile_for, score
    from flows.settings import load_topic

    profile = profile_for(load_topic())
    items = load_items()
    started = time.perf_counter()
    decisions = {id(item): score(profile, item.title, item.text).is_relevant for item in items}
    per_1000 = (time.perf_counter() - started) / len(items) * 1000
    minimal_profile = profile_for(minimal_topic())
    minimal = {id(item): score(minimal_profile, item.title, item.text).is_relevant for item in items}
    started = time.perf_counter()
    baseline = {id(item): keyword_baseline(item.title, item.text) for item in items}
    base_per_1000 = (time.perf_counter() - started) / len(items) * 1000

    ours = evaluate(items, lambda item: decisions[id(item)])
    theirs = evaluate(items, lambda item: baseline[id(item)])
    few = evaluate(items, lambda item: minimal[id(item)])
    print(
        f"{'set/language':22s} {'n':>4s}   {'newsmon P / R / F1':>22s}   {'keyword P / R / F1':>22s}"
        f"   {'few English terms P / R / F1':>28s}"
    )
    for name, (p, r, f, n) in ours.items():
        bp, br, bf, _ = theirs[name]
        mp, mr, mf, _ = few[name]
        print(
            f"{name:22s} {n:4d}   {p:6.3f} {r:6.3f} {f:6.3f}   {bp:6.3f} {br:6.3f} {bf:6.3f}"
            f"         {mp:6.3f} {mr:6.3f} {mf:6.3f}"
        )
    print("\nnear items judged on-topic, by subcategory (newsmon / keyword):")
    near: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.label == "near":
            near[item.subcategory or f"{item.set} ({item.language})"].append(item)
    for sub, members in sorted(near.items()):
        ours_on = sum(decisions[id(m)] for m in members)
        base_on = sum(baseline[id(m)] for m in members)
        print(f"  {sub:45s} {ours_on:3d} / {base_on:3d} of {len(members)}")
    print(f"\ntime per 1,000 texts: newsmon {per_1000:.2f} s, keyword {base_per_1000:.3f} s")
    from extractors.relevance import PREFILTER_THRESHOLD

    feed_items = [item for item in items if item.set == "feed_items"]
    skipped = [item for item in feed_items if score(profile, item.title, item.text).score < PREFILTER_THRESHOLD]
    lost = sum(item.label == "on" for item in skipped)
    on_total = sum(item.label == "on" for item in feed_items)
    print(
        f"prefilter ([topic] prefilter = true) on feed items: {len(skipped)} of {len(feed_items)} pages not "
        f"fetched ({len(skipped) / len(feed_items):.0%}), {lost} of {on_total} on-topic items lost"
    )
    if args.json:
        args.json.write_text(json.dumps({k: v[:3] for k, v in ours.items()}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
