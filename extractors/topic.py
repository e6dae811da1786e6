"""The topic definition (seeds/topic.toml) and its seed documents: one small parser."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime

from extractors.urls import InvalidURL, canonicalize


class TopicError(ValueError):
    """The topic definition is malformed."""


@dataclass(frozen=True)
class FeedSpec:
    url: str
    name: str | None = None


@dataclass(frozen=True)
class Seed:
    seed_id: str  # the file name without .txt: a stable id
    url: str  # the original address, canonical; urn:newsmon:seed:<id> where the text names none
    title: str | None
    outlet: str | None
    author: str | None
    published_at: datetime | None
    language: str
    text: str  # the file's text, unchanged


@dataclass(frozen=True)
class Group:
    """One side of the topic's relation (here: Russia, North Korea): every group must be named."""

    name: str
    terms: tuple[str, ...]
    # Short names ("Kim" for Kim Jong Un) that count for the group only in a text that also names it by one of
    # its terms: news style names a person in full once and by the short name after that (and in headlines).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelevanceSpec:
    groups: tuple[Group, ...]
    context: tuple[str, ...] = ()
    relation: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    civil: tuple[str, ...] = ()
    forums: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    default_feeds: tuple[FeedSpec, ...]
    seeds: tuple[Seed, ...]
    relevance: RelevanceSpec = RelevanceSpec(groups=())


_SEED_KEYS = {"id", "title", "outlet", "author", "url", "published", "language"}
_TOPIC_KEYS = {"name", "description", "default_feeds", "seeds", "relevance"}
_RELEVANCE_KEYS = {"groups", "context", "relation", "exclude", "civil", "forums"}
_GROUP_KEYS = {"name", "terms", "aliases"}


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TopicError(f"{where} must be a list of strings")
    return tuple(value)


def _relevance(raw: object) -> RelevanceSpec:
    if not isinstance(raw, dict):
        raise TopicError("[relevance] must be a table")
    unknown = set(raw) - _RELEVANCE_KEYS
    if unknown:
        raise TopicError(f"[relevance]: unknown keys {sorted(unknown)}")
    groups = []
    for number, group in enumerate(raw.get("groups", []), start=1):
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            raise TopicError(f"[[relevance.groups]] {number} needs a name and terms")
        where = f"[[relevance.groups]] {group['name']}"
        unknown = set(group) - _GROUP_KEYS
        if unknown:
            raise TopicError(f"{where}: unknown keys {sorted(unknown)}")
        groups.append(
            Group(
                group["name"],
                _strings(group.get("terms"), f"{where} terms"),
                _strings(group.get("aliases", []), f"{where} aliases"),
            )
        )
    return RelevanceSpec(
        groups=tuple(groups),
        context=_strings(raw.get("context", []), "[relevance] context"),
        relation=_strings(raw.get("relation", []), "[relevance] relation"),
        exclude=_strings(raw.get("exclude", []), "[relevance] exclude"),
        civil=_strings(raw.get("civil", []), "[relevance] civil"),
        forums=_strings(raw.get("forums", []), "[relevance] forums"),
    )


def _published(value: object, seed_id: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise TopicError(f"seed {seed_id}: published must be a date (YYYY-MM-DD), not {value!r}") from exc
    return day.replace(tzinfo=day.tzinfo or UTC)


def _seed(raw: dict[str, object], texts: dict[str, str]) -> Seed:
    unknown = set(raw) - _SEED_KEYS
    seed_id = str(raw.get("id", ""))
    if unknown:
        raise TopicError(f"seed {seed_id or '?'}: unknown keys {sorted(unknown)}")
    if seed_id not in texts:
        raise TopicError(f"seed {seed_id!r} has no text file {seed_id}.txt")
    url = f"urn:newsmon:seed:{seed_id}"
    if raw.get("url"):
        try:
            url = canonicalize(str(raw["url"]))
        except InvalidURL as exc:
            raise TopicError(f"seed {seed_id}: {exc}") from exc
    return Seed(
        seed_id=seed_id,
        url=url,
        title=str(raw["title"]) if raw.get("title") else None,
        outlet=str(raw["outlet"]) if raw.get("outlet") else None,
        author=str(raw["author"]) if raw.get("author") else None,
        published_at=_published(raw.get("published"), seed_id),
        language=str(raw.get("language") or "en"),
        text=texts[seed_id],
    )


def parse_topic(toml_text: str, seed_texts: dict[str, str]) -> Topic:
    """Read topic.toml; `seed_texts` maps each seed id to its document's text."""
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"topic.toml is not valid TOML: {exc}") from exc
    unknown = set(data) - _TOPIC_KEYS
    if unknown:
        raise TopicError(f"topic.toml: unknown keys {sorted(unknown)}")
    if not data.get("name"):
        raise TopicError("topic.toml: name is required")
    feeds = tuple(FeedSpec(url=str(f["url"]), name=f.get("name")) for f in data.get("default_feeds", []))
    seeds = tuple(_seed(raw, seed_texts) for raw in data.get("seeds", []))
    missing = set(seed_texts) - {s.seed_id for s in seeds}
    if missing:
        raise TopicError(f"topic.toml names no metadata for seed files {sorted(missing)}")
    return Topic(
        name=str(data["name"]),
        description=str(data.get("description", "")).strip(),
        default_feeds=feeds,
        seeds=seeds,
        relevance=_relevance(data.get("relevance", {})),
    )
